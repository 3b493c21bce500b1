"""Reading small "plain" CSV files with :mod:`csv` exactly as ``pandas.read_csv`` reads them.

The commands that need one number from a table (``breakeven``: the latest close, one exchange
rate) read it with these instead of importing pandas (issue 20). A plain file has a header of
distinct names without a byte-order mark, rows as long as the header (blank lines skipped, as
pandas skips them), days ``YYYY-MM-DD`` and decimal numbers (both parsers round a decimal to the
same double; tests check it). Anything else raises :class:`NotPlain`, and the caller hands the
file to its pandas reader, so an unusual or damaged file gives the result or the error it
always gave.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import re
from pathlib import Path

#: What ``pandas.read_csv`` reads as missing by default (``pandas._libs.parsers.STR_NA_VALUES``;
#: a test keeps them equal): a field with one of these is not plain, except a blank where allowed.
PANDAS_NA_TEXT = frozenset({"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
                            "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"})
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


class NotPlain(Exception):
    """A file these readers do not parse exactly as pandas would: the pandas route reads it."""


def table(path: Path, columns: tuple[str, ...]) -> tuple[dict[str, int], list[list[str]]]:
    """The header's column positions and the data rows of a plain CSV that has ``columns``."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = [row for row in csv.reader(handle) if row]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise NotPlain(str(exc)) from None
    if not rows:
        raise NotPlain(f"{path}: empty")
    header = rows[0]
    if header[0].startswith("\ufeff") or len(set(header)) != len(header) or set(columns) - set(header):
        raise NotPlain(f"{path}: header")
    if any(len(row) != len(header) for row in rows[1:]):
        raise NotPlain(f"{path}: ragged")
    return {name: i for i, name in enumerate(header)}, rows[1:]


def day(text: str) -> dt.date:
    """A ``YYYY-MM-DD`` day."""
    if not _DAY.fullmatch(text):
        raise NotPlain(text)
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise NotPlain(text) from None


def number(text: str, *, blank_ok: bool) -> float:
    """A finite decimal number as pandas reads it; a blank is NaN where ``blank_ok``."""
    if text == "" and blank_ok:
        return math.nan
    if not _NUMBER.fullmatch(text):
        raise NotPlain(text)
    value = float(text)
    if not math.isfinite(value):
        raise NotPlain(text)   # an overflowing literal such as 1e999
    return value
