"""The pandas-free readers of breakeven's start-up path (issue 20) give exactly what the pandas
route gives: the latest close (snapshot, cache, cache winning its days), its staleness, the
currency list and the saved chain parameters. Where a file is not plain, the pandas route reads
it, so the result or the error is the same too."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from analysis.core import plaincsv
from analysis.core.errors import DataError, InputError
from analysis.core.resources import SNAPSHOT_DIR
from analysis.market import chain_params, currencies, fx, latest, prices, store


def _pandas_latest(asset="ton", cache=None) -> prices.LatestClose:
    return prices.latest_of(prices.daily_closes(asset, cache))


def _write_cache(cache, asset, source, days, closes, label):
    index = pd.DatetimeIndex(pd.to_datetime(days), name="date")
    frame = pd.DataFrame({"open": closes, "high": np.nan, "low": closes, "close": closes, "volume": 12.5,
                          "source": label}, index=index)
    store.write_prices_csv(frame, store.price_cache_path(asset, source, cache))


def test_the_tables_the_light_readers_copy_equal_the_pandas_ones():
    from pandas._libs.parsers import STR_NA_VALUES

    assert latest.PRICE_SOURCE_ORDER == tuple(prices.PRICE_SOURCES)
    assert plaincsv.PANDAS_NA_TEXT == frozenset(STR_NA_VALUES)
    assert currencies.ecb_currencies() == ("EUR", *fx.read_fx_snapshot().columns)
    assert len(currencies.ecb_currencies()) == 33   # EUR + the 32 columns of the vendored ECB file


@pytest.mark.parametrize("asset", ["ton", "render"])
def test_every_snapshot_close_reads_bit_for_bit_as_pandas_reads_it(asset):
    rows = latest._snapshot_rows(SNAPSHOT_DIR / latest.SNAPSHOT_FILES[asset])
    snap = prices.read_snapshot(asset)
    assert list(rows) == [d.date() for d in snap.index]
    assert np.array_equal([c for c, _ in rows.values()], snap["close_usd"].to_numpy())   # exact, not approx
    assert [v for _, v in rows.values()] == list(snap["source"])


@pytest.mark.parametrize("asset", ["ton", "render"])
def test_without_a_cache_the_latest_close_is_the_snapshots_last_row(isolated_cache, asset):
    got = latest.latest_close(asset)
    assert got == _pandas_latest(asset)
    snap = prices.read_snapshot(asset)
    assert got == (float(snap["close_usd"].iloc[-1]), snap.index[-1].date(),
                   f"snapshot, {snap['source'].iloc[-1]}")
    assert prices.latest_close(asset) == got   # the library name gives the same


def test_a_cache_with_newer_rows_wins_its_days_in_source_order(isolated_cache):
    last = prices.read_snapshot("ton").index[-1].date()
    day = [(last + dt.timedelta(days=k)).isoformat() for k in range(-2, 4)]
    # okx: newer days than the snapshot; its last day has no close (left to the next source)
    _write_cache(isolated_cache, "ton", "okx", day[1:], [2.5, 2.25, 2.125, 1.75, np.nan], "okx TON-USDT")
    # binance (preferred) has the snapshot's last day and one newer day
    _write_cache(isolated_cache, "ton", "binance", [day[2], day[3]], [3.1, 3.3], "binance TONUSDT spot")
    # bybit fills the day okx left blank
    _write_cache(isolated_cache, "ton", "bybit", [day[5]], [1.0625], "bybit TONUSDT")
    got = latest.latest_close("ton")
    assert got == _pandas_latest("ton")
    assert got == (1.0625, last + dt.timedelta(days=3), "cache+snapshot, bybit TONUSDT")
    assert latest.last_close_day("ton") == last + dt.timedelta(days=3)


def test_the_cache_wins_the_snapshots_last_day_and_a_full_cache_is_cache_only(isolated_cache):
    snap = prices.read_snapshot("ton")
    last = snap.index[-1]
    _write_cache(isolated_cache, "ton", "kraken", [last.strftime("%Y-%m-%d")], [0.123456789012345678], "kraken TONUSD")
    got = latest.latest_close("ton")
    assert got == _pandas_latest("ton") == (0.123456789012345678, last.date(), "cache+snapshot, kraken TONUSD")
    every = list(snap.index.strftime("%Y-%m-%d"))
    _write_cache(isolated_cache, "ton", "coingecko", every, snap["close_usd"].to_numpy() * 1.5, "coingecko")
    got = latest.latest_close("ton")
    assert got == _pandas_latest("ton")
    assert got.origin == "cache, kraken TONUSD"   # kraken still wins its day; every other day is coingecko's


def test_random_closes_written_by_the_cache_read_back_as_pandas_reads_them(isolated_cache):
    rng = np.random.default_rng(20)
    days = pd.date_range("2022-01-01", periods=3000, freq="D")
    closes = np.exp(rng.normal(0.0, 4.0, len(days)))        # 17-digit reprs over many magnitudes
    closes[rng.random(len(days)) < 0.05] = np.nan             # blanks in the file
    _write_cache(isolated_cache, "ton", "binance", list(days.strftime("%Y-%m-%d")), closes, "binance TONUSDT spot")
    path = store.price_cache_path("ton", "binance", isolated_cache)
    rows = latest._cache_rows(path)
    frame = store.read_prices_csv(path)
    assert [d for d, _, _ in rows] == [d.date() for d in frame.index]
    assert np.array_equal([c for _, c, _ in rows], frame["close"].to_numpy(), equal_nan=True)
    assert latest.latest_close("ton") == _pandas_latest("ton")


@pytest.mark.parametrize("body", [
    "date,open,high,low,close,volume,source\n2030-01-01,1,1,1,NA,1,x\n2030-01-02,1,1,1,2.5,1,NA\n",  # pandas' NA
    "date,open,high,low,close,volume,source\n2030-01-01,1,1,1, 2.5 ,1,x\n",        # spaces around a number
    "date,open,high,low,close,volume,source,extra\n2030-01-01,1,1,1,2.5,1,x\n",    # a short row
    "\ufeffdate,open,high,low,close,volume,source\n2030-01-01,1,1,1,2.5,1,x\n",     # a byte-order mark
    "date,open,high,low,close,volume,source\n2030-01-01,1,1,1,1e999,1,x\n",        # an overflowing close
])
def test_a_file_that_is_not_plain_gives_what_pandas_gives(isolated_cache, body):
    path = store.price_cache_path("ton", "binance", isolated_cache)
    path.parent.mkdir(parents=True)
    path.write_text(body, encoding="utf-8")
    with pytest.raises(plaincsv.NotPlain):
        latest._light_series("ton", None)
    try:
        expected = _pandas_latest("ton")
    except DataError as exc:
        with pytest.raises(DataError) as got:
            latest.latest_close("ton")
        assert str(got.value) == str(exc)
    else:
        assert latest.latest_close("ton") == expected


@pytest.mark.parametrize("bad", ["0", "-1.5", "2030-01-01"])
def test_a_damaged_cache_file_is_the_same_one_line_error(isolated_cache, bad):
    path = store.price_cache_path("ton", "okx", isolated_cache)
    path.parent.mkdir(parents=True)
    second = "2030-01-01,1,1,1,2,1,okx" if bad == "2030-01-01" else f"2030-01-02,1,1,1,{bad},1,okx"
    path.write_text(f"date,open,high,low,close,volume,source\n2030-01-01,1,1,1,2,1,okx\n{second}\n", encoding="utf-8")
    with pytest.raises(DataError) as pandas_error:
        _pandas_latest("ton")
    with pytest.raises(DataError) as light_error:
        latest.latest_close("ton")
    assert str(light_error.value) == str(pandas_error.value)
    assert str(path) in str(light_error.value)


def test_the_staleness_warning_is_the_pandas_one(isolated_cache):
    closes = prices.daily_closes("ton")
    last = latest.last_close_day("ton")
    assert last == closes.index[-1].date()
    for age in (0, 7, 8, 300):
        today = last + dt.timedelta(days=age)
        assert latest.stale_note(last, "ton", today) == prices.stale_close_note(closes, "ton", today)
    assert latest.stale_note(last, "ton", last + dt.timedelta(days=8)).startswith(
        f"the latest TON/USD close is of {last}, 8 days old")


# --------------------------------------------------------------------------- other currencies


def _pandas_latest_in(currency, asset="ton"):
    return prices.latest_of(prices.daily_closes(asset, currency=currency))


def test_every_currencys_usd_rates_equal_fx_bit_for_bit(isolated_cache):
    for code in currencies.ecb_currencies():
        if code == "USD":
            continue
        light, pandas = currencies.usd_rates(code), fx.usd_rates(code)
        assert light.days == [d.date() for d in pandas.index], code
        assert np.array_equal(light.rates, pandas.to_numpy()), code


def test_the_days_rate_and_a_converted_amount_equal_fx(isolated_cache):
    rng = np.random.default_rng(7)
    days = [dt.date(2020, 1, 2) + dt.timedelta(days=int(k)) for k in rng.integers(0, 2490, 60)]
    days += [dt.date(2025, 12, 25), dt.date(2026, 1, 3), dt.date(2026, 11, 3)]   # holidays, the last wait
    for code in ("EUR", "JPY", "GBP", "CHF", "USD"):
        light = currencies.usd_rates(code) if code != "USD" else None   # the csv route itself, no fallback
        for day in days:
            assert currencies.fx_rate(day, code) == fx.fx_rate(day, code), (code, day)
            assert light is None or light.on(day) == fx.fx_rate(day, code)
            assert currencies.convert_amount(1234.5, day, "EUR", code) == fx.convert_amount(1234.5, day, "EUR", code)


@pytest.mark.parametrize(("day", "code"), [(dt.date(2026, 11, 4), "EUR"), (dt.date(2019, 12, 31), "JPY"),
                                           (dt.date(2025, 6, 1), "RUB")])
def test_a_day_without_a_fixing_is_fxs_error(isolated_cache, day, code):
    with pytest.raises((DataError, InputError)) as pandas_error:
        fx.fx_rate(day, code, field="here")
    with pytest.raises(type(pandas_error.value)) as light_error:
        currencies.fx_rate(day, code, field="here")
    assert str(light_error.value) == str(pandas_error.value)


def test_cached_fixings_win_their_days_and_extend_the_rates(isolated_cache):
    path = currencies.fx_cache_path("USD", isolated_cache)
    path.parent.mkdir(parents=True)
    last = fx.read_fx_snapshot().index[-1].date()
    path.write_text(f"date,rate\n{last},1.25\n{last + dt.timedelta(days=3)},1.2625\n")
    for day in (last, last + dt.timedelta(days=3), last + dt.timedelta(days=7)):
        assert currencies.fx_rate(day, "EUR") == fx.fx_rate(day, "EUR") == 1 / (1.25 if day == last else 1.2625)
    path.write_text(f"date,rate\n{last},0\n")   # a bad rate: fx's one-line error
    with pytest.raises(DataError, match="rates must be positive"):
        currencies.fx_rate(last, "EUR")


@pytest.mark.parametrize("code", ["EUR", "JPY", "GBP"])
@pytest.mark.parametrize("asset", ["ton", "render"])
def test_the_latest_close_in_another_currency_equals_convert_closes(isolated_cache, code, asset):
    assert latest.latest_close(asset, currency=code) == _pandas_latest_in(code, asset)
    # closes after the last fixing + 4 days are cut; the last kept one is converted at its day's rate
    last_fix = fx.read_fx_snapshot().index[-1].date()
    days = [(last_fix + dt.timedelta(days=k)).isoformat() for k in (-1, 2, 4, 5, 9)]
    _write_cache(isolated_cache, asset, "okx", days, [1.5, 1.25, 1.125, 1.0625, 1.03125], "okx")
    got = latest.latest_close(asset, currency=code)
    assert got == _pandas_latest_in(code, asset)
    assert got.day == last_fix + dt.timedelta(days=4)
    closes, _ = latest._light_series(asset, None)   # the csv route gives it, not the pandas fallback
    assert latest._light_converted_last(closes, code, None) == (got.day, got.close_usd, "okx")
    assert got.close_usd == 1.125 * fx.fx_rate(got.day, code)


def test_a_close_before_the_first_fixing_is_convert_closes_error(isolated_cache):
    _write_cache(isolated_cache, "ton", "kraken", ["2019-12-30"], [0.5], "kraken")
    with pytest.raises(InputError) as pandas_error:
        _pandas_latest_in("EUR")
    with pytest.raises(InputError) as light_error:
        latest.latest_close("ton", currency="EUR")
    assert str(light_error.value) == str(pandas_error.value)
    assert latest.latest_close("ton") == _pandas_latest("ton")   # in USD the day is just the oldest


# --------------------------------------------------------------------------- chain parameters


def _params_frame(rows):
    return pd.DataFrame(rows, columns=list(chain_params.PARAMS_COLUMNS))


def _reading(observed, source, fee, notes=""):
    values = {"price_per_token": 20, "worker_fee_per_token": fee, "prompt_tokens_price_multiplier": 10000,
              "cached_tokens_price_multiplier": 1000, "completion_tokens_price_multiplier": 80000,
              "reasoning_tokens_price_multiplier": 80000, "is_test": "false"}
    return [{"network": "cocoon", "parameter": k, "value": str(v), "unit": "nanoTON", "observed": observed,
             "source": source, "notes": notes} for k, v in values.items()]


def test_the_newest_chain_reading_is_read_alike_with_csv_and_with_pandas(isolated_cache, monkeypatch):
    path = isolated_cache / chain_params.PARAMS_FILE
    path.parent.mkdir(parents=True)
    frame = _params_frame(_reading("2026-01-02T00:00:00Z", "toncenter", 19, "a, quoted; note")
                          + _reading("2026-03-04T05:06:07Z", "tonapi", 17) + _reading("2025-12-01T00:00:00Z", "x", 1))
    store.atomic_write_csv(frame, path)
    light = chain_params.latest_chain_params()
    monkeypatch.setattr(chain_params, "_plain_rows", lambda p: None)   # force the pandas reader
    assert chain_params.latest_chain_params() == light
    assert light is not None
    assert (light["worker_fee_per_token"], light["observed"], light["source"], light["is_test"]) == (
        17, "2026-03-04T05:06:07Z", "tonapi", False)


def test_a_chain_file_that_is_not_plain_fails_as_it_always_did(isolated_cache):
    path = isolated_cache / chain_params.PARAMS_FILE
    path.parent.mkdir(parents=True)
    header = ",".join(chain_params.PARAMS_COLUMNS)
    # one field too many on every row: pandas takes the first column as the index and shifts the rest
    path.write_text(f"{header}\ncocoon,price_per_token,20,nanoTON,2026-01-01T00:00:00Z,x,,surplus\n")
    assert chain_params._plain_rows(path) is None
    with pytest.raises(DataError) as got:
        chain_params.latest_chain_params()
    assert str(got.value).startswith(f"{path}: parameter 20 has non-integer value 'nanoTON'")
    path.write_text(f"{header}\n")
    assert chain_params.latest_chain_params() is None
