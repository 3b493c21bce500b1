"""Plain Python values for JSON output: numpy scalars unwrapped, non-finite floats as ``None``."""

from __future__ import annotations

import math
import sys
from typing import Any

import numpy as np


def plain(value: Any) -> Any:
    """``value`` with dicts/lists walked, numpy scalars made Python, NaN/inf as ``None``, days as ISO text.

    A non-finite number never reaches JSON (``json.dumps`` would write ``NaN``, which is not JSON).
    """
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    # A Timestamp exists only once pandas is imported: asking sys.modules keeps pandas out of
    # the commands that never build a DataFrame (breakeven starts in well under a second, issue 20).
    pd = sys.modules.get("pandas")
    if pd is not None and isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    return value
