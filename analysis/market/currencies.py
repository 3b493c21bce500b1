"""The fiat currencies the toolkit knows (EUR and the columns of the embedded ECB rates) and the
check of a currency code, without pandas.

Every scenario parse checks ``[finance] currency``; reading only the header line of the ECB
snapshot keeps that check (and so ``cocoon-econ breakeven``) free of pandas and requests
(issue 20). :mod:`analysis.market.fx` re-exports both functions and converts amounts.
"""

from __future__ import annotations

import csv
import functools
from typing import Any

from analysis.core.errors import DataError, InputError
from analysis.core.resources import SNAPSHOT_DIR

SNAPSHOT_FILE = "ecb_eurofxref_daily.csv"


@functools.lru_cache(maxsize=1)
def _snapshot_columns() -> tuple[str, ...]:
    """The currency columns of the ECB snapshot, in file order (its header without ``date``)."""
    path = SNAPSHOT_DIR / SNAPSHOT_FILE
    with path.open(newline="", encoding="utf-8") as handle:
        header = next(csv.reader(handle), [])
    if not header or header[0] != "date" or len(set(header)) != len(header):
        raise DataError(f"{path}: the header is not 'date,<currency>,...'; reinstall cocoon-econ")
    return tuple(header[1:])


def ecb_currencies() -> tuple[str, ...]:
    """The currencies this toolkit can convert to: EUR and those in the embedded ECB rates."""
    return ("EUR", *_snapshot_columns())


def check_currency(code: Any, field: str = "--currency") -> str:
    """``code`` as an upper-case ISO 4217 code the ECB publishes (or EUR, USD).

    Raises
    ------
    InputError
        One line naming ``field`` and the known codes.
    """
    if not isinstance(code, str) or not code.strip():
        raise InputError(f"{field} = {code!r} is not a currency code; use a three-letter code such as EUR")
    value = code.strip().upper()
    if value not in ecb_currencies():
        raise InputError(f"{field} = {code!r} is not an ECB reference currency; use one of "
                         f"{', '.join(sorted(ecb_currencies()))}")
    return value
