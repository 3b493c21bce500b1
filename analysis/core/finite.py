"""A non-finite result is an error, never printed (issue 13)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from analysis.core.errors import InputError


def first_non_finite(value: Any, where: str = "") -> tuple[str, float] | None:
    """The first NaN or infinity inside ``value`` (nested dicts, lists, numbers) as ``(path, value)``."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)) or hasattr(value, "dtype"):
        try:
            number = float(value)
        except (TypeError, ValueError):
            return None
        return None if math.isfinite(number) else (where or "value", number)
    if isinstance(value, Mapping):
        for key, item in value.items():
            found = first_non_finite(item, f"{where}.{key}" if where else str(key))
            if found:
                return found
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            found = first_non_finite(item, f"{where}[{i}]")
            if found:
                return found
    return None


def check_finite(value: Any, what: str) -> Any:
    """``value`` unchanged, or :class:`InputError` naming the first non-finite number in it."""
    found = first_non_finite(value)
    if found is not None:
        path, number = found
        raise InputError(f"{what}: {path} came out {number} (the inputs overflow the model); check the scenario's "
                         "numbers and the command's options for extreme values")
    return value
