"""Report section: network demand -- what the COCOON network actually pays, read from the chain.

From the cached ``cocoon-econ chain network`` reading (daily client spend and worker payouts,
active workers, implied utilisation over a trailing window); without one, the vendored
reference figure with its caveat. The report stays offline: nothing is fetched here.
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd

from analysis.report import ReportContext, Section, fmt_number, table_html

TITLE = "Network demand: what COCOON actually pays"
ANCHOR = "network-demand"


def trailing_worker_demand(events: pd.DataFrame, days: pd.DatetimeIndex, window_days: int) -> pd.DataFrame:
    """For each day, the median and P90 over workers paid in the trailing window of their paid
    adjusted tokens / ``window_days`` (the statistic of :func:`analysis.chain.network.worker_demand`)."""
    pay = events[events["kind"] == "worker_payout"]
    if pay.empty:
        return pd.DataFrame({"median": 0.0, "p90": 0.0}, index=days)
    grid = (pay.assign(tokens=pay["adjusted_tokens"].astype("float64"))
            .pivot_table(index="date", columns="contract", values="tokens", aggfunc="sum")
            .reindex(days, fill_value=0.0).fillna(0.0))
    window = grid.rolling(window_days, min_periods=1).sum() / window_days
    values = window.to_numpy(dtype=float, copy=True)
    values[values <= 0] = np.nan  # only the workers paid in the window count
    rows = ~np.all(np.isnan(values), axis=1)
    median, p90 = np.zeros(len(days)), np.zeros(len(days))
    median[rows] = np.nanmedian(values[rows], axis=1)
    p90[rows] = np.nanpercentile(values[rows], 90, axis=1)
    return pd.DataFrame({"median": median, "p90": p90}, index=days)


def _first_cocoon_scenario(ctx: ReportContext):
    from analysis.econ.scenario import load_scenario

    for path in ctx.scenario_paths():
        scenario = load_scenario(path)
        if scenario.network.name == "cocoon":
            return scenario
    return None


def build(ctx: ReportContext) -> Section | None:
    from analysis.chain import network
    from analysis.core.errors import CocoonEconError
    from analysis.econ.demand import implied_utilisation
    from analysis.market.network_demand import DEFAULT_WINDOW_DAYS, observed_demand, reference_demand

    scenario = _first_cocoon_scenario(ctx)
    try:
        reading = network.load_network_cache(ctx.cache_dir)
    except CocoonEconError as exc:
        return Section(TITLE, intro_html=f'<p class="note">{html.escape(str(exc))}</p>', anchor=ANCHOR)
    if reading is None or reading.events.empty:
        ref = reference_demand()
        text = (f"<p>No chain reading is cached (run <code>cocoon-econ chain network</code>). The reference "
                f"figure: {html.escape(ref.describe())}.</p>")
        if scenario is not None:
            u = implied_utilisation(ref.adjusted_tokens_per_worker_day, scenario.workload, scenario.network)
            text += (f"<p>For <b>{html.escape(scenario.name)}</b> that is an implied utilisation of "
                     f"<b>{u:.2%}</b>, against the {scenario.workload.utilisation:.0%} the scenario assumes.</p>")
        return Section(TITLE, intro_html=text, anchor=ANCHOR)
    window_days = int(reading.meta.get("window_days") or DEFAULT_WINDOW_DAYS)
    demand = observed_demand(ctx.cache_dir)
    days = network.daily_network(reading.events)
    totals = network.network_totals(reading.events)
    counts = reading.contracts["kind"].value_counts()
    kpis = [
        (fmt_number(totals["client_spend_ton"], ",.2f", "TON"), "client spend since the first event"),
        (fmt_number(totals["worker_payouts_ton"], ",.2f", "TON"), f"paid to workers in {totals['payouts']} payouts"),
        (fmt_number(totals["commission_ton"], ",.2f", "TON"), "kept by proxies (commission)"),
        (f"{int(counts.get('proxy', 0))} / {int(counts.get('worker', 0))} / {int(counts.get('client', 0))}",
         "proxies / workers / clients found"),
        (fmt_number(demand.adjusted_tokens_per_worker_day, ",.0f"),
         f"{demand.statistic} paid adjusted tokens per worker per day, last {demand.window_days} days"),
    ]
    intro = ("<p>Read from the chain by <code>cocoon-econ chain network</code>: every proxy, worker and client "
             "contract whose code cell hashes to the code the root holds, and every payment message of the proxies. "
             "Refunds, top-ups and proxy-owner withdrawals are kept apart and never counted as income. "
             f"Observed demand: {html.escape(demand.describe())}.</p>"
             + '<ul class="kpis">' + "".join(f"<li><b>{v}</b><span>{html.escape(k)}</span></li>" for v, k in kpis)
             + "</ul>")
    from analysis.report.charts.network import implied_utilisation_figure, spend_and_payouts_figure

    figures = [spend_and_payouts_figure(days)]
    after = ""
    if scenario is not None and len(days):
        trailing = trailing_worker_demand(reading.events, days.index, window_days)
        series = pd.DataFrame({col: implied_utilisation(trailing[col].to_numpy(), scenario.workload, scenario.network)
                               for col in ("median", "p90")}, index=days.index)
        figures.append(implied_utilisation_figure(series, scenario=scenario.name,
                                                  assumed=scenario.workload.utilisation))
        after = (f'<p class="note">Implied utilisation = a worker\'s paid adjusted tokens over the trailing '
                 f"{window_days} days / {window_days} / the adjusted tokens {html.escape(scenario.name)}'s GPU "
                 "earns in a day at full load with its throughput and token mix. Payouts are batched (about 10 TON "
                 "each), so a worker's tokens arrive in lumps; one worker runs per GPU.</p>")
    proxies = network.proxy_table(reading)
    if len(proxies):
        after += table_html(proxies, columns={
            "proxy": "proxy", "price_per_token": "price (nanoTON/token)", "worker_fee_per_token": "worker fee",
            "workers": "workers", "clients": "clients", "client_spend_ton": "client spend (TON)",
            "worker_payouts_ton": "worker payouts (TON)", "commission_ton": "commission (TON)"},
            formats={"proxy": lambda v: html.escape(network._friendly(v)),
                     "client_spend_ton": lambda v: fmt_number(v, ",.3f"),
                     "worker_payouts_ton": lambda v: fmt_number(v, ",.3f"),
                     "commission_ton": lambda v: fmt_number(v, ",.3f")},
            caption="Proxies (each has its own price and fee; a price change redeploys proxies)")
    return Section(TITLE, intro_html=intro, figures=figures, after_html=after, anchor=ANCHOR)
