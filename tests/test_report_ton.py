"""The TON section: key figures computed independently from the snapshot CSV, and its provenance."""

from __future__ import annotations

import csv
import math
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from analysis.core.resources import SNAPSHOT_DIR
from analysis.market.prices import read_snapshot
from analysis.report import ReportContext, ton


def _snapshot_rows():
    with open(SNAPSHOT_DIR / "ton_usd_daily_close.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_key_figures_match_an_independent_calculation(isolated_cache):
    rows = _snapshot_rows()
    close = np.array([float(r["close_usd"]) for r in rows])
    ctx = ReportContext(generated_at=datetime(2026, 3, 23, tzinfo=UTC))
    section = ton.build(ctx)
    text = section.intro_html + section.after_html

    assert f"${close[-1]:,.4f}" in text and rows[-1]["date"] in text          # latest close
    assert f"${close.max():,.4f}" in text and rows[int(close.argmax())]["date"] in text
    peak = np.maximum.accumulate(close)
    assert f"{close[-1] / peak[-1] - 1:.1%}" in text                           # drawdown now
    assert f"{(close / peak - 1).min():.1%}" in text                           # deepest drawdown
    r = np.diff(np.log(close))
    assert f"{np.std(r[-30:], ddof=1) * math.sqrt(365):.0%}" in text           # latest 30-day volatility
    assert f"{np.std(r, ddof=1) * math.sqrt(365):.0%}" in text                 # whole period
    assert "5 days before this report was generated" in text                   # 2026-03-18 -> 2026-03-23
    assert "fetch prices" not in text                                          # fresh enough: no nag
    assert "Series origin: <b>snapshot</b>" in text and "no missing days" in text


def test_sources_table_lists_each_venue_span(isolated_cache):
    rows = _snapshot_rows()
    section = ton.build(ReportContext())
    venues = pd.Series([r["venue"] for r in rows])
    for venue, days in venues.value_counts().items():
        first = next(r["date"] for r in rows if r["venue"] == venue)
        last = [r["date"] for r in rows if r["venue"] == venue][-1]
        row = f"<td>{venue}</td><td>embedded snapshot (data/snapshot)</td><td>{first}</td><td>{last}</td><td>{days:,}</td>"
        assert row in section.after_html
    assert "days before this report was generated" in section.after_html


def test_gaps_and_fetched_days_are_reported():
    closes = read_snapshot("ton").iloc[-100:].copy()
    closes = closes.drop(closes.index[40:43])                      # three missing days
    closes.loc[closes.index[-5:], "source"] = "okx"                 # the last five days fetched
    closes.attrs["origin"] = "cache+snapshot"
    ctx = ReportContext()
    ctx.ton_closes = closes
    section = ton.build(ctx)
    missing = pd.date_range(closes.index[39], closes.index[40], freq="D")[1:-1]
    assert "3 missing days in 1 gaps" in section.after_html
    assert f"{missing[0].date()}&ndash;{missing[-1].date()}" in section.after_html
    assert "<td>okx</td><td>fetched cache (data/cache)</td>" in section.after_html
    assert "Series origin: <b>cache+snapshot</b>" in section.after_html
    # The volatility chart leaves the windows over the gap blank instead of bridging them.
    vol = section.figures[2].data[0]
    y = np.asarray(vol.y, dtype=float)
    assert np.isnan(y).sum() > 30


def test_stale_data_says_how_to_refresh(isolated_cache):
    ctx = ReportContext(generated_at=datetime(2027, 1, 1, tzinfo=UTC))
    section = ton.build(ctx)
    assert "cocoon-econ fetch prices" in section.after_html


def test_price_chart_has_log_and_linear_buttons_and_venue_hover(isolated_cache):
    section = ton.build(ReportContext())
    price = section.figures[0]
    assert price.layout.yaxis.type == "log"
    labels = [b.label for b in price.layout.updatemenus[0].buttons]
    assert labels == ["Log scale", "Linear scale"]
    assert [b.args[0]["yaxis.type"] for b in price.layout.updatemenus[0].buttons] == ["log", "linear"]
    assert len(price.data) == read_snapshot("ton")["source"].nunique()
    assert all("venue %{customdata}" in t.hovertemplate for t in price.data)
    # Each venue's trace holds exactly its own days plus the joining day after each run.
    closes = read_snapshot("ton")
    for trace in price.data:
        own = int((closes["source"] == trace.name).sum())
        drawn = int(np.isfinite(np.asarray(trace.y, dtype=float)).sum())
        assert own <= drawn <= own + 1


def test_yearly_volatility_table(isolated_cache):
    close = read_snapshot("ton")["close_usd"]
    section = ton.build(ReportContext())
    # 2023: returns dated in 2023 use the closes from 2022-12-31 to 2023-12-31.
    r = np.diff(np.log(close["2022-12-31":"2023-12-31"].to_numpy()))
    row = (f"<td>2023</td><td>365</td><td>{np.std(r, ddof=1) * math.sqrt(365):.0%}</td>"
           f"<td>${close['2023'].iloc[0]:,.4f}</td><td>${close['2023'].iloc[-1]:,.4f}</td>")
    assert row in section.after_html


def test_log_price_axis_ticks_are_round_and_cover_the_data():
    from analysis.report.charts.prices import log_ticks

    # 0.55 .. 8.17 spans 1.17 decades: dense round numbers, one beyond each end.
    assert log_ticks(0.55, 8.17) == [0.5, 0.7, 1.0, 1.5, 2.0, 3.0, 5.0, 7.0, 10.0]
    # 0.05 .. 12 spans 2.4 decades: 1-2-5.
    assert log_ticks(0.05, 12) == [0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0]
    assert log_ticks(0, 1) == []
    price = ton.build(ReportContext()).figures[0]
    assert price.layout.yaxis.ticktext[:4] == ("$0.5", "$0.7", "$1", "$1.5")


def test_overlapping_sources_show_their_disagreement(isolated_cache):
    import pytest

    import analysis.market.prices

    if not hasattr(analysis.market.prices, "source_disagreement"):
        pytest.skip("the price cache layer (source_disagreement) is not merged yet")
    snapshot = read_snapshot("ton").iloc[-20:]
    # A fetched copy of the last 20 days, 1 % above the snapshot on one day and equal otherwise.
    close = snapshot["close_usd"].to_numpy().copy()
    close[5] *= 1.01
    prices = isolated_cache / "prices"
    prices.mkdir(parents=True)
    pd.DataFrame({"date": snapshot.index.strftime("%Y-%m-%d"), "open": close, "high": close, "low": close,
                  "close": close, "volume": 1.0, "source": "binance"}).to_csv(prices / "ton_binance.csv", index=False)
    section = ton.build(ReportContext(cache_dir=isolated_cache))
    assert "Where sources overlap" in section.after_html
    assert "<td>20</td><td>0.000%</td><td>1.00%</td>" in section.after_html
    assert f"<td>{snapshot.index[5].date()}</td>" in section.after_html
