"""Report section: summary -- for each scenario, the break-even TON price against the latest close,
payback, USD per GPU-hour and a one-line verdict.

Every number comes from the economics engine (:func:`analysis.metrics.breakeven_summary`,
the same as ``cocoon-econ breakeven --json``); this module only words and lays them out.
"""

from __future__ import annotations

import html
import math
from typing import Any, Mapping

from analysis.report import ReportContext, Section, fmt_number, table_html


def build(ctx: ReportContext) -> Section | None:
    """One row and one verdict per scenario; ``None`` without scenarios or the engine."""
    paths = ctx.scenario_paths()
    if not paths:
        return None
    try:
        from analysis.metrics import breakeven_summary
        from analysis.scenario import load_scenario
    except ImportError:  # the economics engine is not part of this build yet
        return None
    ton_usd, day = ctx.latest_ton_usd
    rows = []
    for path in paths:
        scenario = load_scenario(path)
        metrics = breakeven_summary(scenario, ton_usd)
        rows.append({
            **metrics,
            "scenario": scenario.name,
            "already_owned": bool(getattr(scenario.hardware, "already_owned", False)),
            "verdict": verdict(metrics, already_owned=bool(getattr(scenario.hardware, "already_owned", False))),
        })
    intro = (
        f"<p>Each example scenario at the latest TON close, <b>{fmt_number(ton_usd, ',.4f', '$')} per TON</b> "
        f"on {day.date()}, held constant. <i>Break-even (full cost)</i> is the TON price at which income "
        "covers running costs and the hardware's depreciation; <i>break-even (cash)</i> covers running costs "
        "only (power, colocation, fixed). USD per GPU-hour is what one GPU earns per wall-clock hour after "
        "on-chain and trading fees. Payback counts days from the start until cumulative cash, the hardware "
        "purchase included, turns positive at this price (within the scenario's horizon).</p>"
    )
    table = table_html(
        rows,
        columns={
            "scenario": "scenario",
            "pricing_mode": "pricing",
            "break_even_ton_usd": "break-even TON, full cost (USD/TON)",
            "break_even_ton_usd_cash": "break-even TON, cash (USD/TON)",
            "ton_usd": "latest TON (USD/TON)",
            "usd_per_gpu_hour": "income (USD per GPU-hour)",
            "usd_profit_per_day": "profit after depreciation (USD/day)",
            "payback_days": "payback (days)",
        },
        formats={
            "break_even_ton_usd": lambda v: fmt_number(v, ",.3f", "$", missing="n/a"),
            "break_even_ton_usd_cash": lambda v: fmt_number(v, ",.3f", "$", missing="n/a"),
            "ton_usd": lambda v: fmt_number(v, ",.3f", "$"),
            "usd_per_gpu_hour": lambda v: fmt_number(v, ",.3f", "$"),
            "usd_profit_per_day": lambda v: _signed_usd(v),
            "payback_days": lambda v: fmt_number(v, ",.0f", missing="not within horizon"),
        },
    )
    verdicts = "".join(f"<li><b>{html.escape(r['scenario'])}</b>: {r['verdict']}</li>" for r in rows)
    return Section(title="Summary", anchor="summary", intro_html=intro + table,
                   after_html=f"<h3>Verdicts</h3><ul>{verdicts}</ul>")


def verdict(metrics: Mapping[str, Any], already_owned: bool = False) -> str:
    """One line (HTML) saying where the latest TON price stands against the scenario's break-evens.

    Parameters
    ----------
    metrics
        :func:`analysis.metrics.breakeven_summary` output: ``ton_usd``, ``break_even_ton_usd``,
        ``break_even_ton_usd_cash``, ``payback_days``, ``horizon_days``, ``pricing_mode``,
        ``usd_profit_per_day`` and ``usd_cash_profit_per_day`` (None where undefined).
    already_owned
        The hardware is already paid for (its capex is sunk).
    """
    price = float(metrics["ton_usd"])
    full = _finite(metrics.get("break_even_ton_usd"))
    cash = _finite(metrics.get("break_even_ton_usd_cash"))
    if full is None or cash is None:
        # usd_pegged / repriced: USD income does not follow TON, so judge on today's profit.
        profit = _finite(metrics.get("usd_profit_per_day"))
        cash_profit = _finite(metrics.get("usd_cash_profit_per_day"))
        mode = html.escape(str(metrics.get("pricing_mode", "")))
        if profit is not None and profit >= 0:
            return (f'<span class="good">Profitable</span> ({mode} pricing: income does not follow TON); '
                    f"{_signed_usd(profit)} per day after depreciation.")
        if cash_profit is not None and cash_profit >= 0:
            return (f'<span class="warn">Covers running costs only</span> ({mode} pricing); '
                    f"{_signed_usd(profit)} per day after depreciation.")
        return f'<span class="bad">Loses money</span> ({mode} pricing); {_signed_usd(cash_profit)} cash per day.'
    payback = _finite(metrics.get("payback_days"))
    horizon = metrics.get("horizon_days")
    if price >= full:
        when = (f"pays back in {payback:,.0f} days at this price" if payback is not None and not already_owned
                else f"no payback within the {horizon}-day horizon at this price" if not already_owned
                else "the hardware is already owned")
        return (f'<span class="good">Pays for itself</span>: TON at {fmt_number(price, ",.3f", "$")} is '
                f"{price / full - 1:.0%} above the full-cost break-even of {fmt_number(full, ',.3f', '$')}; {when}.")
    if price >= cash:
        need = full / price - 1
        lead = ("Worth running, since the card is already owned" if already_owned
                else "Covers running costs but not the hardware")
        return (f'<span class="warn">{lead}</span>: TON at {fmt_number(price, ",.3f", "$")} is above the cash '
                f"break-even of {fmt_number(cash, ',.3f', '$')} but must rise {need:.0%} to "
                f"{fmt_number(full, ',.3f', '$')} to earn back the hardware's depreciation.")
    return (f'<span class="bad">Loses money on running costs</span>: TON must rise {cash / price - 1:.0%} '
            f"from {fmt_number(price, ',.3f', '$')} to {fmt_number(cash, ',.3f', '$')} just to pay for power and "
            f"hosting, and {full / price - 1:.0%} to {fmt_number(full, ',.3f', '$')} to cover the hardware too.")


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
