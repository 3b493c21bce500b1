"""The price/funding cache: CSV formats, merge rules, the manifest, and which days a refresh asks for."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from analysis.core.errors import DataError
from analysis.core.resources import reference_path
from analysis.market import store

D = dt.date


def _prices(days: list[str], closes: list[float], source: str = "binance TONUSDT spot") -> pd.DataFrame:
    index = pd.DatetimeIndex(pd.to_datetime(days), name="date")
    return pd.DataFrame({"open": closes, "high": closes, "low": closes, "close": closes,
                         "volume": [1.5] * len(days), "source": source}, index=index)


def test_layout_is_what_other_areas_read(tmp_path):
    assert store.price_cache_path("ton", "binance", tmp_path) == tmp_path / "prices" / "ton_binance.csv"
    assert store.funding_cache_path("okx", tmp_path) == tmp_path / "funding" / "okx.csv"
    assert store.manifest_key(tmp_path / "prices" / "ton_okx.csv", tmp_path) == "prices/ton_okx.csv"


def test_price_csv_round_trip_and_exact_columns(tmp_path):
    frame = _prices(["2025-01-01", "2025-01-02"], [2.5, 2.25])
    frame.loc[pd.Timestamp("2025-01-02"), "volume"] = np.nan
    path = store.write_prices_csv(frame, tmp_path / "p.csv")
    lines = path.read_text().splitlines()
    assert lines[0] == "date,open,high,low,close,volume,source"
    assert lines[2] == "2025-01-02,2.25,2.25,2.25,2.25,,binance TONUSDT spot"     # NaN stays empty
    back = store.read_prices_csv(path)
    pd.testing.assert_frame_equal(back, frame, check_freq=False)


@pytest.mark.parametrize("text, problem", [
    ("date,open,close\n2025-01-01,1,1\n", "missing column"),
    ("date,open,high,low,close,volume,source\n2025-13-01,1,1,1,1,1,x\n", "bad value"),
    ("date,open,high,low,close,volume,source\n2025-01-01,1,1,1,1,1,x\n2025-01-01,1,1,1,1,1,x\n", "duplicate"),
])
def test_a_damaged_price_file_is_a_data_error_naming_it_and_the_fix(tmp_path, text, problem):
    path = tmp_path / "ton_binance.csv"
    path.write_text(text)
    with pytest.raises(DataError) as info:
        store.read_prices_csv(path)
    assert problem in str(info.value) and str(path) in str(info.value) and "delete it" in str(info.value)


def test_merge_prices_new_rows_win_on_the_same_day():
    old = _prices(["2025-01-01", "2025-01-02"], [1.0, 2.0], "old")
    new = _prices(["2025-01-02", "2025-01-03"], [2.5, 3.0], "new")
    merged = store.merge_prices(old, new)
    assert merged["close"].tolist() == [1.0, 2.5, 3.0]
    assert merged["source"].tolist() == ["old", "new", "new"]


def test_funding_csv_round_trip(tmp_path):
    frame = pd.DataFrame({"time": pd.to_datetime(["2025-01-01T00:00:00Z", "2025-01-01T04:00:00Z"], utc=True),
                          "rate": [0.0001, -0.00002], "interval_hours": [4.0, 4.0],
                          "source": "binance TONUSDT"})
    path = store.write_funding_csv(frame, tmp_path / "f.csv")
    lines = path.read_text().splitlines()
    assert lines[0] == "time,rate,interval_hours,source"
    assert lines[1].startswith("2025-01-01T00:00:00Z,0.0001,4,")
    back = store.read_funding_csv(path)
    assert back["time"].tolist() == frame["time"].tolist()
    np.testing.assert_array_equal(back["rate"], frame["rate"])


def test_reference_funding_file_reads_with_venue_as_source():
    frame = store.read_funding_csv(reference_path("ton_funding_binance.csv"))
    assert list(frame.columns) == ["time", "rate", "interval_hours", "source"]
    assert frame["time"].is_monotonic_increasing and str(frame["time"].dt.tz) == "UTC"
    assert (frame["source"] == "binance TONUSDT").all()


def test_merge_funding_fills_a_missing_interval_from_the_previous_event():
    t = pd.to_datetime(["2025-01-01T00:00Z", "2025-01-01T04:00Z", "2025-01-01T08:00Z"], utc=True)
    old = pd.DataFrame({"time": t[:2], "rate": [1e-4, 2e-4], "interval_hours": [4.0, 4.0], "source": "x"})
    new = pd.DataFrame({"time": t[2:], "rate": [3e-4], "interval_hours": [np.nan], "source": "x"})
    merged = store.merge_funding(old, new)
    assert merged["interval_hours"].tolist() == [4.0, 4.0, 4.0]


def test_missing_day_runs_skip_stored_and_already_requested_days():
    have = [D(2025, 1, 3), D(2025, 1, 4)]
    spans = [["2025-01-07", "2025-01-08"]]
    runs = store.missing_day_runs(D(2025, 1, 1), D(2025, 1, 10), have, spans)
    # 1-2 missing, 3-4 stored, 5-6 missing, 7-8 already asked for, 9-10 missing.
    assert runs == [(D(2025, 1, 1), D(2025, 1, 2)), (D(2025, 1, 5), D(2025, 1, 6)), (D(2025, 1, 9), D(2025, 1, 10))]
    assert store.missing_day_runs(D(2025, 1, 3), D(2025, 1, 4), have) == []


def test_merge_spans_joins_overlapping_and_touching_spans():
    spans = [["2025-01-05", "2025-01-09"], ["2025-01-01", "2025-01-03"], ["2025-01-04", "2025-01-04"],
             ["2025-02-01", "2025-02-02"]]
    assert store.merge_spans(spans) == [["2025-01-01", "2025-01-09"], ["2025-02-01", "2025-02-02"]]


def test_manifest_entries_are_kept_and_written_atomically(tmp_path):
    store.write_manifest_entry("prices/ton_binance.csv", {"updated_at": "2025-01-01T00:00:00Z"}, tmp_path)
    store.write_manifest_entry("funding/okx.csv", {"updated_at": "2025-01-02T00:00:00Z"}, tmp_path)
    manifest = store.read_manifest(tmp_path)
    assert set(manifest) == {"prices/ton_binance.csv", "funding/okx.csv"}
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")) == ["manifest.json"]  # no temp files


def test_a_corrupt_manifest_is_a_data_error_with_the_fix(tmp_path):
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(DataError, match="delete it"):
        store.read_manifest(tmp_path)
