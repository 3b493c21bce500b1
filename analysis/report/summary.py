"""Report section: summary -- for each scenario, the break-even TON price against the latest close,
payback, USD per GPU-hour and a one-line verdict.

Every number comes from the economics engine (:func:`analysis.econ.metrics.breakeven_summary`,
the same as ``cocoon-econ breakeven --json``); this module only words and lays them out.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from typing import Any

from analysis.core.units import DAYS_PER_YEAR
from analysis.report import ReportContext, Section, fmt_number, table_html


def build(ctx: ReportContext) -> Section | None:
    """One row and one verdict per scenario; ``None`` without scenarios."""
    paths = ctx.scenario_paths()
    if not paths:
        return None
    from analysis.econ.demand import observed_utilisation
    from analysis.econ.metrics import breakeven_summary
    from analysis.econ.scenario import load_scenario, price_asset, scenario_with
    from analysis.market.network_demand import observed_demand

    ton_usd, day = ctx.latest_ton_usd
    demand = observed_demand(ctx.cache_dir)
    rows: list[dict[str, Any]] = []
    for path in paths:
        scenario = load_scenario(path)
        asset = price_asset(scenario)
        token_usd = ton_usd if asset == "ton" else ctx.latest_close(asset)[0]
        # For a Render scenario the engine's "ton_usd" slots hold the RENDER price.
        metrics = breakeven_summary(scenario, token_usd)
        owned = bool(getattr(scenario.hardware, "already_owned", False))
        life_days = float(scenario.hardware.life_years) * DAYS_PER_YEAR
        observed = verdict_observed = None
        if scenario.network.name == "cocoon":  # observed demand is COCOON's (read from its chain)
            observed = observed_utilisation(scenario.workload, scenario.network, demand).utilisation
            at_observed = breakeven_summary(scenario_with(scenario, {"workload.utilisation": observed}), token_usd)
            verdict_observed = verdict(at_observed, already_owned=owned, life_days=life_days, token=asset.upper())
        rows.append({
            **metrics,
            "scenario": scenario.name,
            "payback": payback_text(metrics, owned, life_days),
            "token": asset.upper(),
            "verdict": verdict(metrics, already_owned=owned, life_days=life_days, token=asset.upper()),
            "assumed_utilisation": scenario.workload.utilisation,
            "assumed_origin": scenario.utilisation_origin,
            "observed_utilisation": observed,
            "verdict_observed": verdict_observed,
            "utilisation_needed": metrics.get("break_even_utilisation"),
        })
    from analysis.market.prices import stale_close_note

    stale = stale_close_note(ctx.ton_closes, "ton", today=ctx.generated_at.date())  # as of the report
    warning = f'<p class="warning"><b>Stale price:</b> {html.escape(stale)}.</p>' if stale else ""
    intro = warning + (
        f"<p>Each example scenario at the latest TON close, <b>{fmt_number(ton_usd, ',.4f', '$')} per TON</b> "
        f"on {day.date()}, held constant. <i>Break-even (full cost)</i> is the TON price at which income "
        "covers running costs and the hardware's depreciation; <i>break-even (cash)</i> covers running costs "
        "only (power, colocation, fixed). USD per GPU-hour is what one GPU earns per wall-clock hour after "
        "the node wallet's gas and trading fees. <i>Profit after depreciation</i> is the accounting view "
        "(straight-line depreciation). Payback counts days from the start until cumulative cash, the day-0 "
        "outlay included (the purchase, or the resale value forgone when the card is already owned), turns "
        "positive at this price: simulated day by day over the scenario's horizon, and beyond it estimated as "
        "the outlay over the steady cash profit per day (&asymp;). docs/glossary.md defines each figure.</p>"
        "<p>Every scenario is judged twice: at the utilisation it <i>assumes</i> and at the utilisation "
        f"<i>observed</i> on the COCOON network ({html.escape(demand.describe())}), as a fraction of what the "
        "scenario's GPU earns at full load. <i>Utilisation needed</i> is the break-even utilisation at this "
        "price, full cost (above 100&nbsp;%: not reachable).</p>"
    )
    table = table_html(
        rows,
        columns={
            "scenario": "scenario",
            "token": "paid in",
            "pricing_mode": "pricing",
            "break_even_ton_usd": "break-even token price, full cost (USD)",
            "break_even_ton_usd_cash": "break-even token price, cash (USD)",
            "ton_usd": "latest token price (USD)",
            "usd_per_gpu_hour": "income (USD per GPU-hour)",
            "usd_profit_per_day": "profit after depreciation (USD/day)",
            "payback": "payback (days)",
            "assumed_utilisation": "utilisation assumed",
            "observed_utilisation": "utilisation observed",
            "utilisation_needed": "utilisation needed",
        },
        formats={
            "break_even_ton_usd": lambda v: fmt_number(v, ",.3f", "$", missing="n/a"),
            "break_even_ton_usd_cash": lambda v: fmt_number(v, ",.3f", "$", missing="n/a"),
            "ton_usd": lambda v: fmt_number(v, ",.3f", "$"),
            "usd_per_gpu_hour": lambda v: fmt_number(v, ",.3f", "$"),
            "usd_profit_per_day": lambda v: _signed_usd(v),
            "payback": lambda v: v,  # already HTML
            "assumed_utilisation": _util,
            "observed_utilisation": lambda v: "n/a (not COCOON)" if _finite(v) is None else _util(v),
            "utilisation_needed": lambda v: "n/a" if v is None else _util(v),
        },
    )
    verdicts = "".join(
        f"<li><b>{html.escape(r['scenario'])}</b><ul>"
        f"<li>at {_util(r['assumed_utilisation'])} ({'observed on the network, as the scenario says' if r['assumed_origin'] == 'observed' else 'assumed'}): {r['verdict']}</li>"
        + (f"<li>at {_util(r['observed_utilisation'])} (observed on the network): {r['verdict_observed']}</li>"
           if r["verdict_observed"] is not None and r["assumed_origin"] != "observed" else "")
        + "</ul></li>" for r in rows)
    return Section(title="Summary", anchor="summary", intro_html=intro + table,
                   after_html=f"<h3>Verdicts</h3><ul>{verdicts}</ul>")


def steady_payback_days(metrics: Mapping[str, Any]) -> float | None:
    """Days for the steady cash profit at a constant price to repay the day-0 outlay:
    ``initial_outlay_usd / usd_cash_profit_per_day`` (capex paid, or the resale value forgone
    when the card is already owned; ``capex_paid_usd`` when the outlay is not given); None when
    nothing is at stake or there is no cash profit. (The ledger's ``payback_days`` is exact but
    only within the horizon.)"""
    capex = _finite(metrics.get("initial_outlay_usd", metrics.get("capex_paid_usd")))
    cash_profit = _finite(metrics.get("usd_cash_profit_per_day"))
    if not capex or cash_profit is None or cash_profit <= 0:
        return None
    return capex / cash_profit


def payback_text(metrics: Mapping[str, Any], already_owned: bool, life_days: float) -> str:
    """The payback cell: the ledger's day count within the horizon, else the steady-state estimate.
    For a card already owned it is the time for the cash to cover the resale value forgone."""
    text = _payback_days_text(metrics, life_days)
    return f"{text} (owned: of the resale value forgone)" if already_owned else text


def _payback_days_text(metrics: Mapping[str, Any], life_days: float) -> str:
    exact = _finite(metrics.get("payback_days"))
    if exact is not None:
        return f"{exact:,.0f}"
    estimate = steady_payback_days(metrics)
    if estimate is None:
        return "never (cash loss)"
    if estimate > life_days:
        return f"&asymp;&thinsp;{estimate:,.0f}, beyond the hardware's {life_days / DAYS_PER_YEAR:g}-year life"
    return f"&asymp;&thinsp;{estimate:,.0f}"


def verdict(metrics: Mapping[str, Any], already_owned: bool = False, life_days: float = math.inf,
            token: str = "TON") -> str:
    """One line (HTML) saying where the latest TON price stands against the scenario's break-evens.

    Parameters
    ----------
    metrics
        :func:`analysis.econ.metrics.breakeven_summary` output: ``ton_usd``, ``break_even_ton_usd``,
        ``break_even_ton_usd_cash``, ``payback_days``, ``horizon_days``, ``pricing_mode``,
        ``capex_paid_usd``, ``usd_profit_per_day`` and ``usd_cash_profit_per_day`` (None where
        undefined).
    already_owned
        The hardware is already paid for (its capex is sunk).
    life_days
        The hardware's life, to say when a payback would come too late.
    token
        The token the network pays in (``"TON"``, ``"RENDER"``); ``metrics["ton_usd"]`` is its price.
    """
    price = float(metrics["ton_usd"])
    full = _finite(metrics.get("break_even_ton_usd"))
    cash = _finite(metrics.get("break_even_ton_usd_cash"))
    if full is None or cash is None:
        # usd_pegged / repriced: USD income does not follow the token, so judge on today's profit.
        profit = _finite(metrics.get("usd_profit_per_day"))
        cash_profit = _finite(metrics.get("usd_cash_profit_per_day"))
        mode = html.escape(str(metrics.get("pricing_mode", "")))
        if profit is not None and profit >= 0:
            return (f'<span class="good">Profitable</span> ({mode} pricing: income does not follow {token}); '
                    f"{_signed_usd(profit)} per day after depreciation.")
        if cash_profit is not None and cash_profit >= 0:
            return (f'<span class="warn">Covers running costs only</span> ({mode} pricing); '
                    f"{_signed_usd(profit)} per day after depreciation.")
        return f'<span class="bad">Loses money</span> ({mode} pricing); {_signed_usd(cash_profit)} cash per day.'
    if full <= 0:
        return (f'<span class="good">Pays for itself at any {token} price</span>: the USD-priced part of the '
                "income alone covers the costs.")
    if price >= full:
        if already_owned:
            when = "the hardware is already owned"
        else:
            exact = _finite(metrics.get("payback_days"))
            estimate = steady_payback_days(metrics)
            when = (f"pays back in {exact:,.0f} days at this price" if exact is not None
                    else f"pays back in about {estimate:,.0f} days at this price" if estimate is not None
                    and estimate <= life_days
                    else "but no payback within the hardware's life at this price")
        return (f'<span class="good">Pays for itself</span>: {token} at {fmt_number(price, ",.3f", "$")} is '
                f"{price / full - 1:.0%} above the full-cost break-even of {fmt_number(full, ',.3f', '$')}; {when}.")
    if price >= cash:
        need = full / price - 1
        npv = _finite(metrics.get("npv_usd"))
        sell = already_owned and npv is not None and npv < 0   # NPV counts the card at market resale
        lead = ("Covers running costs, but selling the card beats running it" if sell
                else "Worth running, since the card is already owned" if already_owned
                else "Covers running costs but not the hardware")
        resale = (f" With the card at market resale (forgone today, sold at the end), running it over the "
                  f"horizon has NPV {_signed_usd(npv)}." if sell else "")
        return (f'<span class="warn">{lead}</span>: {token} at {fmt_number(price, ",.3f", "$")} is above the cash '
                f"break-even of {fmt_number(cash, ',.3f', '$')} but must rise {need:.0%} to "
                f"{fmt_number(full, ',.3f', '$')} to earn back the hardware's depreciation.{resale}")
    return (f'<span class="bad">Loses money on running costs</span>: {token} must rise {cash / price - 1:.0%} '
            f"from {fmt_number(price, ',.3f', '$')} to {fmt_number(cash, ',.3f', '$')} just to pay for power and "
            f"hosting, and {full / price - 1:.0%} to {fmt_number(full, ',.3f', '$')} to cover the hardware too.")


def _util(value: Any) -> str:
    value = _finite(value)
    if value is None:
        return "n/a"
    return f"{value:.0%}" if value >= 0.1 or value == 0 else f"{value:.2%}"


def _finite(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _signed_usd(value: Any) -> str:
    if value is None or not math.isfinite(float(value)):
        return "&ndash;"
    value = float(value)
    css = "good" if value >= 0 else "bad"
    return f'<span class="{css}">{fmt_number(value, ",.2f", "$")}</span>'
