"""The cached readings of COCOON's root parameters (``<cache>/chain/params.csv``).

Written by :func:`analysis.chain.readings.save_chain_params` (``cocoon-econ chain params --save``);
read here, in the market layer, because the scenario defaults (econ) prefer the newest reading
to the vendored ``network_parameters.csv`` and must not import the chain layer above them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from analysis.core import plaincsv
from analysis.core.errors import DataError
from analysis.market.paths import cache_dir as resolve_cache_dir

if TYPE_CHECKING:   # every scenario parse reads this file when it exists: csv, not pandas (issue 20)
    import pandas as pd

PARAMS_FILE = Path("chain") / "params.csv"
PARAMS_COLUMNS = ("network", "parameter", "value", "unit", "observed", "source", "notes")
# The parameters a scenario can take from a chain reading (network_parameters.csv vocabulary).
SCENARIO_PARAMETERS = (
    "price_per_token", "worker_fee_per_token", "prompt_tokens_price_multiplier",
    "cached_tokens_price_multiplier", "completion_tokens_price_multiplier", "reasoning_tokens_price_multiplier",
)


def read_params_csv(path: Path) -> pd.DataFrame:
    """The saved readings as a frame of strings (``save_chain_params`` merges into it)."""
    import pandas as pd

    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise DataError(f"{path}: unreadable chain parameter file ({exc}); delete it and run "
                        "'cocoon-econ chain params --save' again") from None
    missing = set(PARAMS_COLUMNS) - set(frame.columns)
    if missing:
        raise DataError(f"{path}: missing columns {sorted(missing)}; delete it and run "
                        "'cocoon-econ chain params --save' again")
    return frame[list(PARAMS_COLUMNS)]


def latest_chain_params(cache_dir: str | os.PathLike[str] | None = None) -> dict[str, Any] | None:
    """The newest saved chain reading, or None when there is none.

    Returns ``{parameter: int | bool, ..., "observed": "YYYY-MM-DDTHH:MM:SSZ", "source": str}`` with
    the parameter names of ``network_parameters.csv`` (``price_per_token``,
    ``worker_fee_per_token``, the four ``*_price_multiplier`` in 1/10000, ...).
    """
    path = resolve_cache_dir(cache_dir) / PARAMS_FILE
    if not path.exists():
        return None
    rows = _plain_rows(path)
    if rows is None:   # not a plain file: pandas reads it (and names what is wrong exactly as before)
        rows = read_params_csv(path).to_dict("records")
    if not rows:
        return None
    observed = max(row["observed"] for row in rows)
    newest = [row for row in rows if row["observed"] == observed]
    out: dict[str, Any] = {}
    for row in newest:
        text = row["value"].strip().lower()
        try:
            out[row["parameter"]] = text == "true" if text in ("true", "false") else int(text)
        except ValueError:
            raise DataError(f"{path}: parameter {row['parameter']} has non-integer value {row['value']!r}; delete "
                            "the file and run 'cocoon-econ chain params --save' again") from None
    missing = [p for p in SCENARIO_PARAMETERS if p not in out]
    if missing:
        raise DataError(f"{path}: the reading of {observed} lacks {missing}")
    out["observed"] = observed
    out["source"] = newest[0]["source"]
    return out


def _plain_rows(path: Path) -> list[dict[str, str]] | None:
    """The rows of ``params.csv`` read with :mod:`csv`, as :func:`read_params_csv` reads them (every
    field a string, blanks kept), or None when the file is not plain (:mod:`analysis.core.plaincsv`:
    empty, a byte-order mark, a repeated header name, a row of another length): then
    :func:`read_params_csv` reads it, so such a file fails or parses exactly as it always did."""
    try:
        at, rows = plaincsv.table(path, PARAMS_COLUMNS)
    except plaincsv.NotPlain:
        return None
    return [dict(zip(at, row, strict=True)) for row in rows]
