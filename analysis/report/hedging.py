"""Report section: TON volatility and treasury/hedging strategies.

For each scenario (the shipped examples by default): 2,000 stationary-bootstrap TON paths over
the scenario's horizon from today's close, run through every strategy -- a table of outcome
metrics, fan charts of the cumulative net USD, the distribution of outcomes side by side, and
the real TON path of 2024-12-01 .. 2025-11-30 replayed under each strategy; the perp hedge at
the recorded funding distribution and at fixed rates; then what a GPU-day earns against the TON
price over the whole history. The random paths have zero drift (``E[S_t] = S_0``), as
``cocoon-econ simulate`` by default (docs/risk.md).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
from typing import Any

import numpy as np
import pandas as pd

from analysis.core.errors import CocoonEconError
from analysis.core.resources import SCENARIO_DIR
from analysis.econ.metrics import ton_per_day, usd_costs_per_day
from analysis.econ.scenario import Scenario
from analysis.market.funding import annualised, daily_funding, funding_readings, read_funding
from analysis.report import ReportContext, Section
from analysis.report.charts import hedging as charts
from analysis.sim.risk import fan
from analysis.sim.simulation import DrawCache, Simulation, simulate

REPORT_PATHS = 2000
REPORT_SEED = 20251130
REPLAY_START = dt.date(2024, 12, 1)
REPLAY_DAYS = 365
FUNDING_WINDOW_DAYS = 30


def build(ctx: ReportContext) -> Section | None:
    files = list(ctx.scenario_files) if ctx.scenario_files else sorted(SCENARIO_DIR.glob("*.toml"))
    if not files:
        return None
    # COCOON scenarios (TON); Render scenarios are shown in the comparison section (issue 7).
    scenarios = [s for s in (ctx.scenario(f) for f in files) if s.network.name == "cocoon"]
    if not scenarios:
        return None
    closes = ctx.ton_closes
    series = closes["close_usd"]
    daily = daily_funding(read_funding(ctx.cache_dir))
    # The scenarios' fan charts draw the same paths (one seed, history and horizon), as do their funding
    # tables' "recorded distribution" rows: the first run of each draws, the others take its chunks (the
    # same bits, tests/test_report_hedging.py). Two caches: each holds one draw.
    fan_draws, joint_draws = DrawCache(), DrawCache()
    figures, blocks, notes = [], [], []
    for scenario in scenarios:
        sim = simulate(scenario, "bootstrap", REPORT_PATHS, seed=REPORT_SEED, closes=closes, keep_paths=True,
                       cache_dir=ctx.cache_dir, funding_daily=daily, draws=fan_draws)
        summary = sim.summary()
        assert sim.positions is not None  # keep_paths=True
        name = html.escape(scenario.name)
        figures.append(charts.fan_charts({n: fan(sim.positions[n]) for n in sim.strategies},
                                         title=f"{scenario.name}: cumulative net USD on {sim.n_paths:,} bootstrapped "
                                               f"TON paths (P5-P95, P25-P75, median)"))
        figures.append(charts.outcome_distributions({n: sim.outcomes[n].net_usd for n in sim.strategies},
                                                    title=f"{scenario.name}: net USD over {sim.horizon_days} days "
                                                          "by strategy"))
        replay_html = ""
        try:
            replay = _replay(scenario, closes, ctx, daily)
        except CocoonEconError as exc:
            notes.append(f"{name}: no replay ({html.escape(str(exc))})")
        else:
            assert replay.positions is not None and replay.price_paths is not None  # keep_paths=True
            dates = pd.date_range(REPLAY_START - dt.timedelta(days=1), periods=REPLAY_DAYS + 1, freq="D")
            change = replay.price_paths[0, -1] / replay.price_paths[0, 0] - 1
            figures.append(charts.replay(dates, {n: replay.positions[n][0] for n in replay.strategies},
                                         replay.price_paths[0],
                                         title=f"{scenario.name}: the real TON path {REPLAY_START} .. "
                                               f"{REPLAY_START + dt.timedelta(days=REPLAY_DAYS - 1)} "
                                               f"(TON {change:+.0%}) under each strategy"))
            replay_html = _replay_table(replay, change)
        blocks.append(f"<h3>{name}</h3>" + _summary_table(sim, summary, scenario) + _margin_note(sim, summary, scenario)
                      + _findings(summary)
                      + replay_html + _funding_table(scenario, closes, daily, ctx, sim.price_paths, sim.usd_fx_index,
                                                     joint_draws))
    figures.append(_earnings_figure(scenarios, series))
    intro = _intro(sim, daily, series)
    after = "".join(blocks) + "".join(f'<p class="note">{n}</p>' for n in notes)
    return Section(title="Volatility and hedging", intro_html=intro, figures=figures, after_html=after,
                   anchor="hedging")


def _replay(scenario: Scenario, closes: pd.DataFrame, ctx: ReportContext, daily: pd.DataFrame) -> Simulation:
    moved = dataclasses.replace(scenario, finance=dataclasses.replace(scenario.finance, start=REPLAY_START,
                                                                      horizon_days=REPLAY_DAYS))
    return simulate(moved, "historical", closes=closes, keep_paths=True, cache_dir=ctx.cache_dir,
                    funding_daily=daily)


def _intro(sim: Simulation, daily: pd.DataFrame, series: pd.Series) -> str:
    model = sim.notes.get("model", {})
    block = model.get("block_length", float("nan"))
    funding_mean = annualised(daily["rate_per_day"].mean()) if len(daily) else float("nan")
    return (
        "<p>COCOON pays a fixed TON price per token, so a GPU owner's dollars move one for one with TON. "
        f"Each scenario is run over {REPORT_PATHS:,} TON price paths drawn by a stationary block bootstrap of the "
        f"daily log returns since {series.index[0]:%Y-%m-%d} (mean block {block:.1f} days, chosen by "
        "the Politis-White rule, the numbers of <code>arch.bootstrap.optimal_block_length</code>), starting at today's close "
        f"({series.iloc[-1]:.4f} USD on {series.index[-1]:%Y-%m-%d}); reproduce or vary it with "
        "<code>cocoon-econ simulate --method bootstrap|gbm|garch|rolling|historical</code>.</p>"
        "<p><b>Strategies.</b> <i>hold</i>: keep every payout, sell at the end. <i>sell on payout</i>: sell each "
        "payout at the day's close. <i>sell every N days</i> ([treasury] every_days). <i>cover costs</i>: sell just "
        "enough TON each day to pay power, colocation and fixed costs, hold the rest. <i>stake</i>: hold and stake "
        "at [treasury] staking_apy. <i>perp hedge</i>: short hedge_ratio x the expected TON income of the horizon on "
        "a TON/USDT perpetual on day 0, sell each payout and buy back that much of the short; the short receives "
        "(positive rates) or pays funding daily. <i>put protection</i> / <i>collar</i>: monthly European puts "
        "(and sold calls) on the expected monthly income, strikes put_strike / call_strike x spot, priced by "
        "Black-Scholes at each path's trailing 30-day realised volatility plus vol_premium; the TON is sold at "
        "each expiry. <i>USD-pegged network</i>: the engine's usd_pegged pricing mode on the same paths -- the "
        "network prices in USD, so the network carries the TON risk.</p>"
        "<p><b>How to read the numbers.</b> Net USD over the horizon: cash received minus costs, with everything "
        "still held (TON, an open short) sold at the last close net of trading fees, and the hardware at its "
        "market resale value at the end, less the resale value forgone on day 0 when already owned. The fan charts show the same position "
        "day by day (what liquidating that day would leave, capex paid on day 0). P(payback): the position gets "
        "back to zero within the horizon. CVaR 5%: the mean of the worst 5% of outcomes. Drawdown: the largest "
        "fall of the position from its running peak -- for the perp hedge it is the margin a rally would call.</p>"
        f"<p><b>Assumptions.</b> Drift: {html.escape(str(sim.notes.get('drift', '')))} -- the history's own drift "
        "(TON's 4.5 years estimate it at +64 %/year with a standard error of about 47 %/year) is opt-in "
        "(<code>--drift historical</code> or <code>--drift-annual X</code>). Perp funding: "
        f"{html.escape(str(sim.notes.get('funding', '')))}. Margin: the short posts initial_margin_fraction of its "
        "notional on day 0, is topped up from cash when a rally takes the account below "
        "maintenance_margin_fraction, the collateral costs cost_of_capital_annual (in the net USD), and when a "
        "top-up would pass max_collateral_usd the short is liquidated at that day's close. USD-pegged network: "
        f"{html.escape(str(sim.notes.get('usd_pegged', '')))}"
        + (f"; {html.escape(str(sim.notes['usd_fx']))}" if sim.notes.get("usd_fx") else "") + ".</p>"
        "<p class=\"note\">Caveats: there is no liquid listed TON options market, so option premiums are "
        f"theoretical. Perp funding on record is short ({len(daily)} days: Binance TONUSDT in spring 2024 and early "
        f"2026; mean {funding_mean:+.0%}/year, mostly the spring-2024 rally; "
        "<code>cocoon-econ fetch funding</code> adds more); days without a record take [treasury] funding_rate_annual (default 0), never that mean -- see the "
        "funding table. Staking ignores pool minimums and withdrawal delays.</p>"
    )


def _margin_note(sim: Simulation, summary: dict[str, dict], scenario: Scenario) -> str:
    s = summary.get("perp_hedge")
    if s is None:
        return ""
    t = scenario.treasury
    cap = "no cap" if t.max_collateral_usd is None else f"a cap of {t.max_collateral_usd:,.0f} USD"
    return (f"<p class=\"note\">Perp hedge collateral (initial {t.initial_margin_fraction:.0%}, maintenance "
            f"{t.maintenance_margin_fraction:.0%} of the notional, {t.cost_of_capital_annual:.0%}/year cost of capital, "
            f"{cap}): peak P50 {_fmt_usd(s['peak_collateral_p50_usd'])} / P95 {_fmt_usd(s['peak_collateral_p95_usd'])} "
            f"/ worst {_fmt_usd(s['peak_collateral_max_usd'])} USD; cost of capital {_fmt_usd(s['cost_of_capital_mean_usd'])}"
            f" USD on average (included above); P(liquidation) {s['prob_liquidation']:.1%}.</p>")


def _fmt_usd(value: float | None) -> str:
    return "&ndash;" if value is None else f"{value:,.0f}"


def _summary_table(sim: Simulation, summary: dict[str, dict], scenario: Scenario) -> str:
    head = ("<tr><th>strategy</th><th>mean</th><th>P5</th><th>median</th><th>P95</th><th>P(loss)</th>"
            "<th>P(payback)</th><th>CVaR 5%</th><th>drawdown P95</th><th>days to payback<br>P5 / P50 / P95</th></tr>")
    rows = []
    for name, s in summary.items():
        label = charts.LABELS.get(name, name) + (" (scenario's)" if name == scenario.treasury.strategy else "")
        days = " / ".join("&ndash;" if s[k] is None else f"{s[k]:.0f}"
                          for k in ("payback_days_p5", "payback_days_p50", "payback_days_p95"))
        cls = ' class="bad"' if s["p5_usd"] < 0 else ""
        rows.append(f"<tr><td>{html.escape(label)}</td><td>{_fmt_usd(s['mean_usd'])}</td>"
                    f"<td{cls}>{_fmt_usd(s['p5_usd'])}</td><td>{_fmt_usd(s['p50_usd'])}</td>"
                    f"<td>{_fmt_usd(s['p95_usd'])}</td><td>{s['prob_loss']:.0%}</td><td>{s['prob_payback']:.0%}</td>"
                    f"<td>{_fmt_usd(s['cvar5_usd'])}</td><td>{_fmt_usd(s['drawdown_p95_usd'])}</td><td>{days}</td></tr>")
    caption = (f"<p class=\"note\">Net USD over {sim.horizon_days} days, {sim.n_paths:,} bootstrapped paths from "
               f"{sim.start_price:.4f} USD/TON (seed {REPORT_SEED}).</p>")
    return f"<table>{head}{''.join(rows)}</table>{caption}"


def _findings(summary: dict[str, dict]) -> str:
    spread = {n: s["p95_usd"] - s["p5_usd"] for n, s in summary.items() if n != "usd_pegged"}
    narrow = min(spread, key=lambda n: spread[n])
    safest = max((n for n in summary if n != "usd_pegged"), key=lambda n: summary[n]["p5_usd"])
    base = "sell_on_payout"
    parts = []
    if base in summary:
        parts.append(f"Selling each payout leaves a P5-P95 range of {_fmt_usd(spread[base])} USD")
    parts.append(f"the narrowest range is {charts.LABELS.get(narrow, narrow)} ({_fmt_usd(spread[narrow])} USD)")
    parts.append(f"the best bad case (P5) is {charts.LABELS.get(safest, safest)} "
                 f"({_fmt_usd(summary[safest]['p5_usd'])} USD)")
    if "usd_pegged" in summary:
        s = summary["usd_pegged"]
        parts.append(f"were the network to price in USD, the range would be {_fmt_usd(s['p95_usd'] - s['p5_usd'])} USD")
    return "<p>" + "; ".join(parts) + ".</p>"


def _replay_table(replay: Simulation, change: float) -> str:
    cells = "".join(f"<tr><td>{html.escape(charts.LABELS.get(n, n))}</td>"
                    f"<td>{_fmt_usd(float(replay.outcomes[n].net_usd[0]))}</td>"
                    f"<td>{_fmt_usd(float(replay.outcomes[n].max_drawdown_usd[0]))}</td></tr>"
                    for n in replay.strategies)
    return (f"<p>Replay of {REPLAY_START} .. {REPLAY_START + dt.timedelta(days=REPLAY_DAYS - 1)} at the real "
            f"prices (TON {change:+.0%}):</p><table><tr><th>strategy</th><th>net USD</th><th>drawdown</th></tr>"
            f"{cells}</table>")


def _funding_table(scenario: Scenario, closes: pd.DataFrame, daily: pd.DataFrame, ctx: ReportContext,
                   paths: np.ndarray | None = None, fx_index: np.ndarray | None = None,
                   joint_draws: DrawCache | None = None) -> str:
    """The perp hedge at the recorded funding distribution and at fixed rates (the vendored readings).

    The fixed rates run on ``paths``, the fan charts' draw, reused rather than redrawn; the
    recorded distribution draws its own (each day's funding with its day's return). Every run
    uses ``daily``, the funding record read once for the whole section."""
    if daily.empty:
        return ""
    readings = funding_readings()["annualised"].dropna()
    spring = daily.loc[daily.index < "2025-01-01", "rate_per_day"]
    rates: dict[str, Any] = {
        "recorded distribution: each simulated day's funding drawn with its day's TON return "
        "(paths from the days with both)": "bootstrap",
        "zero": 0.0,
        f"median of {len(readings)} cross-venue readings, 2024-2026 (ton_funding_readings.csv)": float(readings.median()),
        f"spring 2024 on record ({len(spring)} days, the rally)": annualised(float(spring.mean())),
    }
    rows = []
    for label, rate in rates.items():
        if isinstance(rate, float) and rate != rate:   # a window without records
            continue
        treasury = (dataclasses.replace(scenario.treasury, funding="bootstrap") if rate == "bootstrap" else
                    dataclasses.replace(scenario.treasury, funding="fixed", funding_rate_annual=float(rate)))
        moved = dataclasses.replace(scenario, treasury=treasury)
        sim = simulate(moved, "bootstrap", REPORT_PATHS, seed=REPORT_SEED, strategies=["perp_hedge"], closes=closes,
                       cache_dir=ctx.cache_dir, price_paths=None if rate == "bootstrap" else paths, funding_daily=daily,
                       usd_fx_index=None if rate == "bootstrap" else fx_index,
                       draws=joint_draws if rate == "bootstrap" else None)
        s = sim.summary()["perp_hedge"]
        shown = "&ndash;" if isinstance(rate, str) else f"{rate:+.0%}"
        rows.append(f"<tr><td>{html.escape(label)}</td><td>{shown}</td><td>{_fmt_usd(s['mean_usd'])}</td>"
                    f"<td>{_fmt_usd(s['p5_usd'])}</td><td>{_fmt_usd(s['p95_usd'])}</td>"
                    f"<td>{_fmt_usd(s['peak_collateral_p95_usd'])}</td><td>{s['prob_liquidation']:.1%}</td></tr>")
    return ("<p>Perp hedge at the recorded funding distribution and at fixed rates (positive pays the short; "
            "fixed rates on the same bootstrapped paths):</p><table><tr><th>funding</th><th>per year</th><th>mean</th>"
            "<th>P5</th><th>P95</th><th>collateral P95</th><th>P(liquidation)</th></tr>" + "".join(rows) + "</table>")


def _earnings_figure(scenarios: list[Scenario], series: pd.Series):
    usd, costs = {}, {}
    for s in scenarios:
        if s.pricing.mode != "fixed_token":
            continue
        gpus = s.hardware.gpus
        fee = 1.0 - s.treasury.trading_fee_bps / 10_000.0
        usd[s.name] = ton_per_day(s) / gpus * series.to_numpy() * fee
        c = usd_costs_per_day(s)
        costs[s.name] = (c["power"] + c["colocation"] + c["fixed"]) / gpus
    return charts.earnings_against_price(series.index, series.to_numpy(), usd, costs,
                                         title="What one GPU-day earns at each day's TON close (fixed TON price per "
                                               "token) against its cash costs")
