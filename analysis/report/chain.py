"""Report section: a worker's actual COCOON payouts against a scenario (cumulative curves).

Shown only when an owner wallet is configured with ``$COCOON_ECON_OWNER_ADDRESS`` (or the older ``$COCOON_OWNER_ADDRESS``); it reads the
payouts last fetched for that owner (``cocoon-econ chain payouts``), so the report stays offline.
The scenario is the first of the report's scenario files (default: the first shipped COCOON
example).
"""

from __future__ import annotations

import datetime as dt
import html
import math

import pandas as pd

from analysis.core.env import env_value
from analysis.report import ReportContext, Section

TITLE = "On-chain: actual payouts against the model"
ANCHOR = "onchain"


def _fmt(value: float, spec: str = ",.2f") -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else format(value, spec)


def build(ctx: ReportContext) -> Section | None:
    """The reconciliation section, or None when no owner address is configured."""
    from analysis.chain import readings as chain  # imported here: most reports have no owner configured

    text = env_value(chain.OWNER_ENV).strip()
    if not text:
        return None
    from analysis.core.errors import CocoonEconError
    try:
        owner = chain.parse_address(text, chain.OWNER_ENV)
        cached = chain.read_cached_payouts(owner, ctx.cache_dir)
    except CocoonEconError as exc:
        return Section(TITLE, intro_html=f'<p class="note">{html.escape(str(exc))}</p>', anchor=ANCHOR)
    shown = html.escape(owner.to_str(is_bounceable=False))
    if cached is None:
        return Section(TITLE, anchor=ANCHOR, intro_html=(
            f"<p>{chain.OWNER_ENV} is set to {shown}, but no payouts have been fetched for it yet. Run "
            f"<code>cocoon-econ chain payouts --owner {shown}</code> (network) and rebuild the report.</p>"))
    payouts, meta = cached
    if ctx.currency != "USD":   # cached at TON/USD closes: valued again at the report's TON/X closes
        from analysis.chain.payouts import value_payouts

        payouts = value_payouts(payouts, ctx.ton_closes)
    try:
        return _section(ctx, owner_text=shown, payouts=payouts, meta=meta)
    except CocoonEconError as exc:
        return Section(TITLE, anchor=ANCHOR, intro_html=(
            f'<p class="note">Payouts to {shown} could not be reconciled: {html.escape(str(exc))}</p>'))


def _scenario(ctx: ReportContext):
    from analysis.core.resources import SCENARIO_DIR

    files = list(ctx.scenario_files) if ctx.scenario_files else sorted(SCENARIO_DIR.glob("*.toml"))
    for path in files:
        scenario = ctx.scenario(path)
        if scenario.network.name == "cocoon":
            return scenario
    return None


def _section(ctx: ReportContext, *, owner_text: str, payouts: pd.DataFrame, meta: dict) -> Section:
    from analysis.chain.reconcile import reconcile
    from analysis.report.charts.chain import cumulative_ton_figure, cumulative_usd_figure

    scenario = _scenario(ctx)
    if scenario is None:
        return Section(TITLE, anchor=ANCHOR, intro_html="<p>No COCOON scenario to compare the payouts with.</p>")
    closes = ctx.ton_closes
    last_close = pd.DatetimeIndex(closes.index).max().date()
    if meta.get("start"):
        start = dt.date.fromisoformat(meta["start"])
    elif len(payouts):
        start = payouts["date"].min().date()
    else:
        return Section(TITLE, anchor=ANCHOR, intro_html=(
            f"<p>No COCOON payouts to {owner_text} in the last fetch "
            f"({html.escape(str(meta.get('fetched_at', 'unknown time')))}).</p>"))
    end = dt.date.fromisoformat(meta["end"]) if meta.get("end") else last_close
    end = min(end, last_close)
    result = reconcile(scenario, payouts, closes, start, end)
    s = result.summary
    rows = [
        ("payouts", f"{s['actual_payouts']}", f"{s['expected_payouts']}"),
        ("TON received", _fmt(s["actual_ton"]), f"{_fmt(s['expected_payout_ton'])} paid, "
                                                f"{_fmt(s['expected_earned_ton'])} earned"),
        ("USD at each day's close", _fmt(s["actual_usd"]), _fmt(s["expected_usd"])),
        ("adjusted tokens", _fmt(s["actual_adjusted_tokens"], ",.0f"), _fmt(s["expected_adjusted_tokens"], ",.0f")),
        ("utilisation", _fmt(s["implied_utilisation"], ".1%") + " (implied)", _fmt(s["scenario_utilisation"], ".1%")),
        ("nanoTON per adjusted token", _fmt(s["implied_nanoton_per_adjusted_token"]),
         _fmt(s["scenario_nanoton_per_adjusted_token"])),
        ("USD per million adjusted tokens", _fmt(s["implied_usd_per_m_adjusted_tokens"], ".4f"),
         _fmt(s["scenario_usd_per_m_adjusted_tokens"], ".4f")),
    ]
    table = "".join(f"<tr><td>{html.escape(a)}</td><td>{b}</td><td>{c}</td></tr>" for a, b, c in rows)
    intro = (f"<p>Payouts to <code>{owner_text}</code> found on-chain (opcode 0xc59a7cd3 from proxies of the "
             f"mainnet root, fetched {html.escape(str(meta.get('fetched_at', '')))}) against "
             f"<em>{html.escape(scenario.name)}</em> on the real TON path, {start} .. {end}. Payouts arrive in "
             f"{scenario.network.payout_threshold_ton:g} TON lumps, so the curves are cumulative.</p>"
             f"<table><tr><th></th><th>actual</th><th>scenario</th></tr>{table}</table>")
    after = (f'<p class="note">Implied utilisation = actual adjusted tokens / what the scenario\'s throughput earns '
             f"at full load over the {s['days']} days. Earnings not yet paid at the end are not on-chain yet "
             f"(the scenario has {_fmt(s['expected_unpaid_ton_at_end'])} TON unpaid at the end).</p>")
    figures = [cumulative_ton_figure(result.daily, owner=owner_text, scenario=scenario.name),
               cumulative_usd_figure(result.daily, scenario=scenario.name)]
    return Section(TITLE, intro_html=intro, figures=figures, after_html=after, anchor=ANCHOR)
