"""Render Network as a second network (analysis/render.py) through the engine and the CLIs."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from econ_support import RENDER_EXAMPLES

from analysis.cli.main import main
from analysis.core.errors import InputError
from analysis.core.gpus import UnknownGpuWarning
from analysis.econ.compare import network_net_usd_per_gpu_hour, rental_net_usd_per_gpu_hour, solve_token_price
from analysis.econ.costs import hardware_resale_usd
from analysis.econ.ledger import daily_ledger, path_income
from analysis.econ.metrics import break_even_ton_usd, break_even_utilisation, usd_costs_per_day, usd_income_per_day
from analysis.econ.render import income_terms
from analysis.econ.scenario import load_scenario, parse_scenario, price_asset, scenario_with
from analysis.market import rates
from analysis.market.prices import daily_closes

EXAMPLE = RENDER_EXAMPLES[0]

BASE = {
    "name": "4090 on Render",
    "network": {"name": "render", "job_usd_per_gpu_hour": 0.35, "protocol_fee": 0.05, "job_reward_per_epoch": 10,
                "availability_reward_per_epoch": 2, "epoch_days": 7},
    "hardware": {"gpu": "RTX 4090", "gpus": 2, "capex_usd": 3200, "life_years": 4},
    "workload": {"utilisation": 0.5},
    "operations": {"power_kw": 0.6, "electricity_usd_per_kwh": 0.10, "idle_power_fraction": 0.15},
    "finance": {"start": "2025-04-01", "horizon_days": 28},
    "treasury": {"trading_fee_bps": 0, "funding_rate_annual": 0.0},
}


def render(**changes):
    import copy

    m = copy.deepcopy(BASE)
    for dotted, value in changes.items():
        table, key = dotted.split("__")
        m.setdefault(table, {})[key] = value
    return parse_scenario(m, origin="render.toml")


def test_income_hand_worked():
    # Per GPU at u = 0.5: jobs 0.35 USD/h * 24 h * 0.5 * (1 - 0.05) = 3.99 USD a day (paid in RENDER);
    # epoch rewards (10 * 1.0 * 0.5 + 2) / 7 = 1.0 RENDER a day. Two GPUs: 7.98 USD + 2.0 RENDER.
    terms = income_terms(render())
    assert terms.usd_per_day == pytest.approx(7.98, rel=1e-12)
    assert terms.render_per_day == pytest.approx(2.0, rel=1e-12)
    # At 2 USD/RENDER: 7.98 / 2 + 2 = 5.99 RENDER a day, worth 11.98 USD.
    assert usd_income_per_day(render(), 2.0) == pytest.approx(11.98, rel=1e-12)
    # The job pay's USD value does not move with the price; the rewards' does.
    assert usd_income_per_day(render(), 4.0) - usd_income_per_day(render(), 2.0) == pytest.approx(2 * 2.0)


def test_epoch_payouts_and_conservation():
    s = render()
    rng = np.random.default_rng(3)
    paths = 1.5 * np.exp(np.cumsum(rng.normal(0, 0.05, (20, 31)), axis=1))
    inc = path_income(s, paths)
    # paid on days 7, 14, 21, 28 (one payout per node), the last 2 days unpaid
    paid_days = np.flatnonzero(inc.payout_ton[0] > 0) + 1
    np.testing.assert_array_equal(paid_days, [7, 14, 21, 28])
    np.testing.assert_array_equal(inc.payouts[0][[6, 13]], [2, 2])
    np.testing.assert_allclose(inc.payout_ton.sum(1) + inc.unpaid_ton, inc.ton_earned.sum(1), rtol=1e-12)
    np.testing.assert_allclose(inc.unpaid_ton, inc.ton_earned[:, 28:].sum(1), rtol=1e-12)
    # each day's RENDER: job pay converted at that day's close plus the rewards
    np.testing.assert_allclose(inc.ton_earned, 7.98 / paths[:, 1:] + 2.0, rtol=1e-12)
    assert not inc.fee_ton.any()


def test_break_even_render_price_really_breaks_even():
    # Costs high enough that the USD job pay alone does not cover them.
    s = render(**{"operations__colocation_usd_per_kw_month": 400.0})
    p = break_even_ton_usd(s)
    assert p > 0
    costs = sum(usd_costs_per_day(s).values())
    assert usd_income_per_day(s, p) == pytest.approx(costs, rel=1e-10)
    # When the job pay covers everything, any price breaks even.
    assert break_even_ton_usd(render()) == 0.0
    u = break_even_utilisation(s, 3.0)
    moved = scenario_with(s, {"workload.utilisation": u})
    assert usd_income_per_day(moved, 3.0) == pytest.approx(sum(usd_costs_per_day(moved).values()), rel=1e-10)


def test_solved_render_price_equalises_with_rental():
    s = render()
    target = rental_net_usd_per_gpu_hour(s, 0.45)
    p = solve_token_price(s, target)
    assert p > 0
    assert network_net_usd_per_gpu_hour(s, p) == pytest.approx(target, rel=1e-10)


def test_scenario_validation():
    s = load_scenario(EXAMPLE)
    assert s.network.name == "render" and s.hardware.gpu == "RTX-4090" and price_asset(s) == "render"
    assert s.network.token == "RENDER"
    m = json.loads(json.dumps(BASE))
    m["network"] = {"name": "cocoon"}
    m["workload"].update(output_tokens_per_s=1000, prompt_tokens_per_output_token=1.0)
    with pytest.raises(InputError, match=r"gpu = 'RTX 4090' cannot serve COCOON"):
        parse_scenario(m, origin="x.toml")
    with pytest.raises(InputError, match=r"\[network\] worker_fee_per_token_nanoton does not apply to name = .render."):
        render(network__worker_fee_per_token_nanoton=19)
    with pytest.raises(InputError, match=r"\[pricing\] does not apply to a Render scenario"):
        render(pricing__mode="usd_pegged")
    with pytest.raises(InputError, match=r"\[network\] protocol_fee = 1.5 is out of range"):
        render(network__protocol_fee=1.5)
    m["network"] = {"name": "cocoon", "epoch_days": 7}
    with pytest.raises(InputError, match=r"epoch_days does not apply to name = .cocoon."):
        parse_scenario(m, origin="x.toml")


def test_ledger_on_the_render_history():
    s = load_scenario(EXAMPLE)
    closes = daily_closes("render")
    ledger = daily_ledger(s, closes)
    assert ledger["close_usd"].iloc[0] == closes["close_usd"].loc["2025-04-01"]
    assert (ledger["payouts"] > 0).sum() == len(ledger) // 7
    np.testing.assert_allclose(ledger["unpaid_ton"].iloc[-1], ledger.attrs["unpaid_ton"], rtol=1e-9)


def test_breakeven_cli_uses_the_render_close(capsys):
    assert main(["breakeven", "--scenario", str(EXAMPLE), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    closes = daily_closes("render")
    assert data["token"] == "RENDER" and data["pricing_mode"] == "render"
    assert data["ton_usd"] == closes["close_usd"].iloc[-1]
    s = load_scenario(EXAMPLE)
    assert data["usd_income_per_day"] == pytest.approx(usd_income_per_day(s, data["ton_usd"]))
    assert main(["breakeven", "--scenario", str(EXAMPLE), "--token-usd", "2"]) == 0
    assert "RENDER price used: 2.0000 USD" in capsys.readouterr().out


def test_simulate_cli_runs_on_render_prices(capsys):
    assert main(["simulate", "--scenario", str(EXAMPLE), "--method", "historical", "--strategies",
                 "sell_on_payout,hold", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    s = load_scenario(EXAMPLE)
    closes = daily_closes("render")["close_usd"]
    window = closes.loc["2025-03-31":].iloc[: s.finance.horizon_days + 1].to_numpy()
    # sell on payout over the real RENDER path: cash = sales - power (already owned: no capex),
    # plus the unpaid RENDER at the last close and the card's change in market resale value (already
    # owned: resale after the horizon less the resale forgone on day 0; analysis.econ.costs)
    ledger = daily_ledger(s, daily_closes("render"))
    fee = s.treasury.trading_fee_bps / 1e4
    hardware = hardware_resale_usd(s.hardware, s.finance.horizon_days) - s.hardware.capex_usd
    assert hardware < 0
    expected = ledger["net_usd"].sum() + ledger.attrs["unpaid_ton"] * window[-1] * (1 - fee) + hardware
    assert data["sell_on_payout"]["mean_usd"] == pytest.approx(expected, rel=1e-9)
    assert main(["simulate", "--scenario", str(EXAMPLE), "--paths", "50", "--seed", "1",
                 "--strategies", "sell_on_payout,perp_hedge"]) == 0
    assert "sell_on_payout" in capsys.readouterr().out


def test_compare_cli_on_render_with_fetched_4090_rates(isolated_cache, capsys):
    from pathlib import Path

    from analysis.sources.vastai import parse_vastai_offers

    payload = json.loads((Path(__file__).parent / "data" / "rates" / "vastai_bundles.json").read_text())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnknownGpuWarning)  # a Tesla V100 offer in the payload
        offers = parse_vastai_offers(payload, observed_at="2026-03-06T12:00:00Z")
    rates.append_history(offers)
    fetched = offers[offers["gpu"] == "RTX-4090"]
    assert len(fetched) >= 1
    assert main(["compare", "--scenario", str(EXAMPLE), "--token-usd", "1.75", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["token"] == "RENDER" and data["token_usd"] == 1.75
    alts = data["provider"]["alternatives"]
    assert alts and all(a["source"] and a["observed_at"] == "2026-03-06" for a in alts)
    market = data["provider"]["market_rental"]
    assert market["usd_per_gpu_hour"] == pytest.approx(fetched["usd_per_gpu_hour"].median())
    s = load_scenario(EXAMPLE)
    be = data["provider"]["break_even"]
    assert be["token_usd_to_beat"] > 0
    assert network_net_usd_per_gpu_hour(s, be["token_usd_to_beat"]) == pytest.approx(
        be["rental_net_usd_per_gpu_hour"], rel=1e-9)
    assert data["customer"]["render_usd_per_gpu_hour"] == 0.35
    # with a throughput, the customer's price per million output tokens: 0.35 / (50 * 3600) * 1e6 = 1.9444
    tuned = isolated_cache / "r.toml"
    tuned.write_text(EXAMPLE.read_text().replace("utilisation = 0.5 ", "utilisation = 0.5\noutput_tokens_per_s = 50 "))
    assert main(["compare", "--scenario", str(tuned), "--token-usd", "1.75", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["customer"]["render_usd_per_m_output"] == pytest.approx(0.35 / 0.18)


def test_fetch_render_prices_from_coingecko_asks_for_render_token(httpserver, tmp_path, monkeypatch):
    # RENDER's CoinGecko id is "render-token" (analysis.market.prices.ASSETS); a short recent range.
    import datetime as dt

    import pandas as pd
    import price_api_fakes as fakes

    monkeypatch.delenv("COINGECKO_API_KEY", raising=False)
    monkeypatch.delenv("COINGECKO_PRO_API_KEY", raising=False)
    today = dt.datetime.now(dt.UTC).date()
    start, end = today - dt.timedelta(days=10), today - dt.timedelta(days=2)
    closes = fakes.daily_frame(start - dt.timedelta(days=2), end)["close"]
    httpserver.expect_request("/coins/render-token/market_chart/range").respond_with_handler(
        fakes.coingecko_range_handler(fakes.coingecko_points(closes)))
    out = tmp_path / "render.csv"
    assert main(["fetch", "prices", "--asset", "render", "--source", "coingecko", "--start", start.isoformat(),
                 "--end", end.isoformat(), "--base-url", httpserver.url_for("/"), "--out", str(out)]) == 0
    frame = pd.read_csv(out)
    assert len(frame) == (end - start).days + 1 and frame["source"].str.contains("render-token").all()


def test_simulate_usd_pegged_on_render_equals_sell_on_payout(capsys):
    # Render job pay is already USD-priced, so the "usd_pegged" row is the Render income sold on
    # payout: the same figures as sell_on_payout (the scenario's own policy).
    assert main(["simulate", "--scenario", str(EXAMPLE), "--method", "gbm", "--paths", "50",
                 "--horizon-days", "30", "--seed", "3", "--strategies", "sell_on_payout,usd_pegged",
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["usd_pegged"]["mean_usd"] == pytest.approx(out["sell_on_payout"]["mean_usd"], rel=1e-12)
