"""``cocoon-econ breakeven`` and ``ledger`` end to end on the three example scenarios,
and bad inputs: one line on stderr, exit code 2."""

from __future__ import annotations

import json
import tomllib

import pandas as pd
import pytest
from econ_support import EXAMPLES, SCENARIO_DIR

import analysis.market.prices
from analysis.cli.main import main
from analysis.core.resources import REFERENCE_DIR
from analysis.market.prices import daily_closes


def _reference_row(path) -> tuple[float, float, float]:
    """Output tok/s, input/output ratio and CC overhead of the row an example's header cites
    ("inference_throughput_cocoon.csv row N"), from the CSVs with the csv module alone."""
    import csv
    import re

    number = int(re.search(r"inference_throughput_cocoon\.csv row (\d+)", path.read_text()).group(1))
    with open(REFERENCE_DIR / "inference_throughput_cocoon.csv", newline="") as handle:
        row = list(csv.DictReader(handle))[number - 1]
    with open(REFERENCE_DIR / "cc_mode_overhead.csv", newline="") as handle:
        cc = next(float(r["overhead_fraction"]) for r in csv.DictReader(handle)
                  if r["source"].startswith("https://arxiv.org/html/2409.03992v4"))
    return float(row["output_tokens_per_s"]), float(row["input_tokens"]) / float(row["output_tokens"]), cc


def _independent_break_even(path) -> tuple[float, float, float]:
    """Break-even TON prices (all costs, cash) and TON/day computed straight from the TOML
    with the formulas of issue 4, independently of the package."""
    raw = tomllib.loads(path.read_text())
    net, hw, wl, ops = raw["network"], raw["hardware"], raw["workload"], raw["operations"]
    mult = {"prompt": net.get("prompt_tokens_price_multiplier", 10000),
            "cached": net.get("cached_tokens_price_multiplier", 1000),
            "completion": net.get("completion_tokens_price_multiplier", 80000),
            "reasoning": net.get("reasoning_tokens_price_multiplier", 80000)}
    if "output_tokens_per_s" in wl:
        tps, ratio, cc = wl["output_tokens_per_s"], wl["prompt_tokens_per_output_token"], wl.get("cc_overhead_fraction", 0)
    else:  # the reference row the example's header names, read straight from the vendored CSVs
        tps, ratio, cc = _reference_row(path)
    out = tps * (1 - cc) * 86400 * wl["utilisation"]
    prompt = out * ratio
    cached = prompt * wl["cached_prompt_fraction"]
    reasoning = out * wl["reasoning_output_fraction"]
    adjusted = net["coefficient"] * ((prompt - cached) * mult["prompt"] + cached * mult["cached"]
                                     + (out - reasoning) * mult["completion"] + reasoning * mult["reasoning"]) / 10000
    ton_day = hw["gpus"] * adjusted * net["worker_fee_per_token_nanoton"] / 1e9
    ton_day *= 1 - net["onchain_fee_ton"] / net["payout_threshold_ton"]
    sell = 1 - raw["treasury"]["trading_fee_bps"] / 10000
    u = wl["utilisation"]
    power = ops["power_kw"] * ops["pue"] * 24 * (u + (1 - u) * ops["idle_power_fraction"]) * ops["electricity_usd_per_kwh"]
    month = 365 / 12
    opex = hw["gpus"] * (power + ops["colocation_usd_per_kw_month"] * ops["power_kw"] / month
                         + ops["fixed_usd_per_month"] / month)
    dep = (hw["capex_usd"] + hw.get("host_capex_usd", 0)) * (1 - hw["salvage_fraction"]) / (hw["life_years"] * 365)
    return (opex + dep) / (ton_day * sell), opex / (ton_day * sell), ton_day


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_breakeven_json_on_the_examples(path, capsys):
    assert main(["breakeven", "--scenario", str(path), "--json"]) == 0
    out = capsys.readouterr().out
    assert len(out.strip().splitlines()) == 1
    data = json.loads(out)
    be, be_cash, ton_day = _independent_break_even(path)
    assert data["break_even_ton_usd"] == pytest.approx(be, rel=1e-12)
    assert data["break_even_ton_usd_cash"] == pytest.approx(be_cash, rel=1e-12)
    assert data["ton_per_day"] == pytest.approx(ton_day, rel=1e-12)
    # --ton-usd defaults to the latest close, and says which one.
    closes = daily_closes("ton")
    assert data["ton_usd"] == closes["close_usd"].iloc[-1]
    assert data["ton_usd_date"] == closes.index[-1].date().isoformat()
    for key in ("usd_costs_per_day", "break_even_utilisation", "usd_per_gpu_hour", "npv_usd", "irr", "payback_days"):
        assert key in data


def test_breakeven_text_names_the_price_used(capsys):
    assert main(["breakeven", "--scenario", str(EXAMPLES[0]), "--ton-usd", "2.5"]) == 0
    out = capsys.readouterr().out
    assert "TON price used: 2.5000 USD (from --ton-usd)" in out
    assert "Break-even TON price:" in out and "Break-even utilisation" in out and "NPV" in out
    assert main(["breakeven", "--scenario", str(EXAMPLES[0])]) == 0
    closes = daily_closes("ton")
    assert f"close of {closes.index[-1].date()}" in capsys.readouterr().out


def test_breakeven_in_usd_pegged_mode_has_no_break_even_price(tmp_path, capsys):
    pegged = tmp_path / "pegged.toml"
    pegged.write_text(EXAMPLES[1].read_text().replace('mode = "fixed_token"', 'mode = "usd_pegged"'))
    assert main(["breakeven", "--scenario", str(pegged), "--ton-usd", "2"]) == 0
    assert "Break-even TON price: none" in capsys.readouterr().out
    assert main(["breakeven", "--scenario", str(pegged), "--ton-usd", "2", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["break_even_ton_usd"] is None and data["pricing_mode"] == "usd_pegged"
    # USD income: adjusted tokens * 0.0302e-6 USD * 19/20, less on-chain (0.1 %) and exchange (0.1 %) fees.
    # H200 NVL example: reference row 1, 496.88 tok/s less 7 % CC overhead = 462.0984 tok/s;
    # * 86400 * 0.6 = 23 955 181.056 output; prompt 233/221 of it with 30 % cached:
    # adjusted = output * (233/221 * (0.7 + 0.03) + 8)
    output = 496.88 * 0.93 * 86400 * 0.6
    adjusted = output * (233 / 221 * 0.73 + 8)
    assert output == pytest.approx(23_955_181.056, rel=1e-12)
    assert data["usd_income_per_day"] == pytest.approx(adjusted * 0.0302e-6 * 0.95 * 0.999 * 0.999, rel=1e-12)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_ledger_and_tax_on_the_examples(path, tmp_path, capsys):
    out, tax = tmp_path / "ledger.csv", tmp_path / "tax.csv"
    assert main(["ledger", "--scenario", str(path), "--out", str(out), "--tax", str(tax)]) == 0
    text = capsys.readouterr().out
    assert f"wrote {out}" in text and f"wrote {tax}" in text
    ledger = pd.read_csv(out)
    start = tomllib.loads(path.read_text())["finance"]["start"]
    assert ledger["date"].iloc[0] == start.isoformat()
    # Closes come from the historical series.
    closes = daily_closes("ton")["close_usd"]
    assert ledger["close_usd"].iloc[0] == closes.loc[pd.Timestamp(start)]
    # Cash adds up.
    expected = (ledger["sales_usd"] - ledger[["power_usd", "colocation_usd", "fixed_usd", "capex_usd",
                                              "node_wallet_usd"]].sum(axis=1)).cumsum()
    assert ledger["cumulative_net_usd"].iloc[-1] == pytest.approx(expected.iloc[-1], rel=1e-9)
    t = pd.read_csv(tax)
    income = t[t["event"] == "income"]
    assert income["ton_amount"].sum() == pytest.approx(ledger["payout_ton"].sum(), rel=1e-12)
    assert income["usd_value_at_receipt"].sum() == pytest.approx((ledger["payout_ton"] * ledger["close_usd"]).sum(),
                                                                 rel=1e-12)


def test_ledger_start_and_end(tmp_path, capsys):
    out = tmp_path / "l.csv"
    assert main(["ledger", "--scenario", str(EXAMPLES[0]), "--start", "2024-01-01", "--end", "2024-01-31",
                 "--out", str(out)]) == 0
    ledger = pd.read_csv(out)
    assert len(ledger) == 31 and ledger["date"].iloc[-1] == "2024-01-31"


def _bad(capsys, argv, needle):
    assert main(argv) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert len(err.splitlines()) == 1, err
    assert needle in err, err
    assert "Traceback" not in err


def test_bad_inputs_are_one_line_exit_2(tmp_path, capsys):
    good = EXAMPLES[0].read_text()
    _bad(capsys, ["breakeven", "--scenario", str(tmp_path / "none.toml")], "not found")
    bad = tmp_path / "bad.toml"
    bad.write_text("name = \n")
    _bad(capsys, ["breakeven", "--scenario", str(bad)], "bad.toml: not valid TOML")
    neg = tmp_path / "neg.toml"
    neg.write_text(good.replace("utilisation = 0.5", "utilisation = -0.2"))
    _bad(capsys, ["breakeven", "--scenario", str(neg)],
         "neg.toml: [workload] utilisation = -0.2 is out of range; use a fraction between 0 and 1")
    typo = tmp_path / "typo.toml"
    typo.write_text(good.replace("utilisation = 0.5", "utilization = 0.5"))
    _bad(capsys, ["breakeven", "--scenario", str(typo)], "[workload] utilization is not a known key")
    gpu = tmp_path / "gpu.toml"
    gpu.write_text(good.replace('gpu = "H100-NVL"', 'gpu = "H1OO"'))
    _bad(capsys, ["breakeven", "--scenario", str(gpu)], "[hardware] gpu = 'H1OO' is not a known GPU")
    _bad(capsys, ["breakeven", "--scenario", str(EXAMPLES[0]), "--ton-usd", "abc"], "--ton-usd")
    # parsed before the currency is known: the hint names none (it said "TON/USD" in EUR runs too)
    _bad(capsys, ["breakeven", "--scenario", str(EXAMPLES[0]), "--ton-usd", "-1", "--currency", "EUR"],
         "'-1' is not a positive price; give the token's price in the run's currency")
    _bad(capsys, ["breakeven"], "--scenario")
    out = str(tmp_path / "l.csv")
    _bad(capsys, ["ledger", "--scenario", str(EXAMPLES[0]), "--out", out, "--start", "2019-05-01"],
         "--start = 2019-05-01 is outside the price history; the TON price history covers 2021-08-27")
    _bad(capsys, ["ledger", "--scenario", str(EXAMPLES[0]), "--out", out, "--end", "2099-01-01"], "--end = 2099-01-01")
    _bad(capsys, ["ledger", "--scenario", str(EXAMPLES[0]), "--out", out, "--start", "01/05/2024"],
         "'01/05/2024' is not a date; use YYYY-MM-DD")
    _bad(capsys, ["ledger", "--scenario", str(EXAMPLES[0])], "--out")
    assert not (tmp_path / "l.csv").exists()


def test_a_price_series_with_gaps_is_a_clear_error(tmp_path, capsys, monkeypatch):
    real = analysis.market.prices.daily_closes

    def with_gap(asset="ton", cache_dir=None, **kwargs):
        frame = real(asset, cache_dir, **kwargs)
        return frame.drop(pd.Timestamp("2025-05-10"))

    monkeypatch.setattr(analysis.market.prices, "daily_closes", with_gap)
    _bad(capsys, ["ledger", "--scenario", str(SCENARIO_DIR / "h100_nvl_owned.toml"), "--out", str(tmp_path / "l.csv")],
         "TON price series has 1 missing day(s)")
