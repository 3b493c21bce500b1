"""Report section: break-even of the scenarios (the shipped examples by default).

A table of the break-even metrics at today's TON close, the break-even TON price of each
scenario against today's, a monthly-profit heatmap over TON price x utilisation with the
break-even line for each scenario, a tornado of the profit's sensitivities, and the
cumulative cash of each scenario on the historical TON path.
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd

from analysis.core.errors import CocoonEconError
from analysis.core.resources import SCENARIO_DIR
from analysis.econ.ledger import daily_ledger
from analysis.econ.metrics import break_even_ton_usd_at, breakeven_summary, monthly_profit_usd, profit_sensitivity
from analysis.econ.scenario import load_scenario
from analysis.report import ReportContext, Section
from analysis.report.charts import breakeven as charts


def scenario_files(ctx: ReportContext) -> list:
    """The scenarios to show: the context's, else the shipped examples."""
    if ctx.scenario_files:
        return list(ctx.scenario_files)
    return sorted(SCENARIO_DIR.glob("*.toml"))


def build(ctx: ReportContext) -> Section | None:
    files = scenario_files(ctx)
    if not files:
        return None
    # COCOON scenarios (TON); Render scenarios are shown in the comparison section (issue 7).
    scenarios = [s for s in (load_scenario(f) for f in files) if s.network.name == "cocoon"]
    if not scenarios:
        return None
    closes = ctx.ton_closes
    today, today_stamp = ctx.latest_ton_usd
    today_date = today_stamp.date()

    summaries = [breakeven_summary(s, today) for s in scenarios]
    table = pd.DataFrame({
        "scenario": [s["scenario"] for s in summaries],
        "break_even_ton_usd": [_nan(s["break_even_ton_usd"]) for s in summaries],
        "break_even_ton_usd_cash": [_nan(s["break_even_ton_usd_cash"]) for s in summaries],
    })
    figures = [charts.break_even_prices(table, today, f"({today_date})")]

    prices = np.linspace(0.25, max(6.0, 1.5 * today), 60)
    utils = np.linspace(0.05, 1.0, 39)
    for s in scenarios:
        grid = monthly_profit_usd(s, prices, utils)
        line = break_even_ton_usd_at(s, utils)
        figures.append(charts.profit_heatmap(
            prices, utils, grid, line, title=f"Monthly profit incl. depreciation: {s.name}",
            ton_usd_today=today, current_utilisation=s.workload.utilisation))

    for s in scenarios:
        sens = profit_sensitivity(s, today)
        figures.append(charts.tornado(sens.attrs["base_usd"], sens,
                                      title=f"What moves the monthly profit at {today:.2f} USD/TON: {s.name}"))

    ledgers = {}
    notes = []
    for s in scenarios:
        try:
            ledgers[s.name] = daily_ledger(s, closes)
        except CocoonEconError as exc:  # a scenario outside the history is reported, not fatal
            notes.append(f"{html.escape(s.name)}: no historical ledger ({html.escape(str(exc))})")
    if ledgers:
        figures.append(charts.cumulative_cash(ledgers))

    intro = (
        "<p>Each scenario is a TOML file (see <code>data/scenarios/</code>). Income is what COCOON pays the "
        "worker: adjusted tokens (prompt 1x, cached 0.1x, completion and reasoning 8x) times the worker fee "
        "(19 nanoTON), paid on-chain in 10-TON payouts per GPU that arrive whole (the proxy pays their gas), "
        "sold at the close less about 0.01 TON each kept for the node wallet's own gas; the node wallet's "
        "2.1 TON locked balance is capital. "
        f"Today's TON close: <b>{today:.4f} USD</b> ({today_date}).</p>"
        + _table_html(summaries)
        + "<p class=\"note\">Break-even TON price: the price at which income covers all costs including "
        "straight-line depreciation of the hardware (or only the cash costs: power, colocation, fixed) -- the "
        "accounting view. Break-even utilisation: at today's price (power depends on utilisation too). NPV, "
        "IRR and payback: over the scenario's horizon at today's price held constant, from the day-0 outlay "
        "(capex paid; for an already-owned GPU the resale value it could be sold for instead; the node "
        "wallet's TON) to the hardware at its market resale value at the end (gpu_resale_curve.csv, "
        "log-linear in age), with the unpaid and node-wallet TON; not the straight-line book value. "
        "docs/glossary.md defines each net figure.</p>"
    )
    after = "".join(f"<p class=\"note\">{n}</p>" for n in notes)
    return Section(title="Break-even", intro_html=intro, figures=figures, after_html=after, anchor="breakeven")


def _nan(value):
    return np.nan if value is None else value


def _fmt(value, spec: str, suffix: str = "") -> str:
    return "&ndash;" if value is None else format(value, spec) + suffix


def _table_html(summaries: list[dict]) -> str:
    head = ("<tr><th>scenario</th><th>GPUs</th><th>utilisation</th><th>TON / day</th><th>income USD / day</th>"
            "<th>costs USD / day<br>(cash + depr.)</th><th>break-even TON<br>all costs</th>"
            "<th>break-even TON<br>cash only</th><th>break-even<br>utilisation</th><th>USD / GPU-hour</th>"
            "<th>NPV USD<br>(hardware at resale)</th><th>payback</th></tr>")
    rows = []
    for s in summaries:
        costs = s["usd_costs_per_day"]
        cash = costs["power"] + costs["colocation"] + costs["fixed"]
        be = s["break_even_ton_usd"]
        cls = "" if be is None else (' class="good"' if s["ton_usd"] >= be else ' class="bad"')
        rows.append(
            f"<tr><td>{html.escape(s['scenario'])}</td><td>{s['gpus']}</td><td>{s['utilisation']:.0%}</td>"
            f"<td>{s['ton_per_day']:,.2f}</td><td>{s['usd_income_per_day']:,.2f}</td>"
            f"<td>{cash:,.2f} + {costs['depreciation']:,.2f}</td><td{cls}>{_fmt(be, '.3f')}</td>"
            f"<td>{_fmt(s['break_even_ton_usd_cash'], '.3f')}</td>"
            f"<td>{_fmt(None if s['break_even_utilisation'] is None else 100 * s['break_even_utilisation'], '.1f', '%')}</td>"
            f"<td>{s['usd_per_gpu_hour']:.3f}</td><td>{s['npv_usd']:,.0f}</td>"
            f"<td>{'never' if s['payback_days'] is None else format(s['payback_days'], '.0f') + ' days'}</td></tr>")
    return f"<table>{head}{''.join(rows)}</table>"

