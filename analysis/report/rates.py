"""Report section: what an H100 or H200 hour has cost over time, by provider kind."""

from __future__ import annotations

import html

import pandas as pd

from analysis.core.errors import DataError
from analysis.market import rates
from analysis.report import ReportContext, Section
from analysis.report.charts.rates import rates_over_time

FAMILIES = (("H100", ("H100-SXM", "H100-PCIe", "H100-NVL")), ("H200", ("H200", "H200-NVL")))


def _latest_table(history: pd.DataFrame) -> str:
    summary = rates.summarise_rates(history)
    if summary.empty:
        return ""
    best = summary.sort_values("last").groupby("kind", sort=False).tail(1)
    order = {k: i for i, k in enumerate(rates.PROVIDER_KINDS)}
    best = best.assign(_k=best["kind"].map(order)).sort_values("_k")
    rows = "".join(
        f"<tr><td>{html.escape(r.kind)}</td><td>{html.escape(r.provider)} ({html.escape(r.pricing)})</td>"
        f"<td>{r.last:%Y-%m-%d}</td><td>{r.latest_usd_per_gpu_hour:.2f}</td>"
        f"<td>{r.median_usd_per_gpu_hour:.2f}</td><td>{r.n}</td>"
        f"<td style='text-align:left'>{html.escape(str(r.latest_source))}</td></tr>"
        for r in best.itertuples())
    return ("<table><tr><th>provider kind</th><th>most recent provider</th><th>last seen</th>"
            "<th>latest USD/GPU-h</th><th>median USD/GPU-h</th><th>rows</th><th>source</th></tr>"
            f"{rows}</table>")


def build(ctx: ReportContext) -> Section | None:
    """H100 and H200 price per GPU-hour over time (reference table plus fetched snapshots)."""
    problem = ""
    try:
        history = ctx.all_rates()
        if history is None:   # the fetched history cannot be read: say why below
            history = rates.all_rates(ctx.cache_dir)
    except DataError as exc:  # a damaged cache must not stop the report: show the reference table
        history = rates.all_rates(ctx.cache_dir, include_fetched=False)
        problem = f"<p class='note bad'>Fetched rates left out: {html.escape(str(exc))}</p>"
    from analysis.econ.compare import in_currency

    history = in_currency(history, ctx.currency, ctx.cache_dir)   # each quote at its day's ECB rate
    figures, tables = [], []
    for family, gpus in FAMILIES:
        part = history[history["gpu"].isin(gpus)]
        if part.empty:
            continue
        points = rates.daily_points(part)
        figures.append(rates_over_time(points, f"{family} ({', '.join(gpus)}): USD per GPU-hour over time"))
        tables.append(f"<h3>{family}: latest price per provider kind (SXM board)</h3>"
                      + _latest_table(part[part["gpu"] == gpus[0]]))
    if not figures:
        return None
    fetched = int((history["origin"] == "fetched").sum())
    intro = (
        "<p>What renting an H100 or H200 costs, per GPU-hour in USD, from the reference table "
        f"(dated public prices since 2023, each with its source and confidence) and {fetched} rows fetched "
        "with <code>cocoon-econ fetch rates</code>. Hyperscalers are AWS, GCP, Azure and OCI, split into "
        "on-demand, reserved or committed (1- or 3-year terms, capacity blocks) and spot; neoclouds are "
        "Lambda, Nebius, RunPod's secure cloud and similar; marketplaces are Vast.ai and RunPod's community "
        "cloud; market indexes are published H100/H200 price indexes. Fetched marketplace snapshots are "
        "shown as the day's median of all offers. Hover over a point for its offering and source.</p>"
        + problem)
    note = ("<p class='note'>Reserved prices are the hourly equivalent of the whole-term price. "
            "A provider's GPU-hour price is the instance price divided by its GPUs, so it includes "
            "the CPU, memory and storage that come with them.</p>")
    return Section(title="GPU rental rates: H100 and H200 over time", intro_html=intro, figures=figures,
                   after_html="".join(tables) + note, anchor="rates")
