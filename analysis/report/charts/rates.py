"""Charts of GPU rental rates: price per GPU-hour over time by provider kind."""

from __future__ import annotations

import html

import pandas as pd
import plotly.graph_objects as go

from analysis.report.charts import use_template

# One colour and marker per provider kind (analysis.market.rates.PROVIDER_KINDS).
KIND_STYLE = {
    "hyperscaler on demand": ("#c0392b", "circle"),
    "hyperscaler reserved": ("#e67e22", "square"),
    "hyperscaler spot": ("#f1c40f", "triangle-down"),
    "neocloud": ("#2980b9", "diamond"),
    "marketplace": ("#27ae60", "triangle-up"),
    "market index": ("#7f8c8d", "x"),
}


def _hover(points: pd.DataFrame) -> list[str]:
    text = []
    for row in points.itertuples(index=False):
        count = f" ({row.n} rows)" if getattr(row, "n", 1) and row.n > 1 else ""
        text.append(
            f"{row.observed_at:%Y-%m-%d}<br>{html.escape(str(row.provider))}: {html.escape(str(row.offering))}"
            f" ({html.escape(str(row.gpu))}, {html.escape(str(row.pricing))}){count}"
            f"<br>USD {row.usd_per_gpu_hour:.2f} per GPU-hour"
            f"<br>source: {html.escape(str(row.source))} [{html.escape(str(row.confidence))}]")
    return text


def rates_over_time(points: pd.DataFrame, title: str) -> go.Figure:
    """Price per GPU-hour over time, one trace per provider kind.

    Parameters
    ----------
    points : DataFrame
        From :func:`analysis.market.rates.daily_points`: ``observed_at``, ``usd_per_gpu_hour``,
        ``kind``, ``provider``, ``offering``, ``gpu``, ``pricing``, ``source``, ``confidence``, ``n``.
    title : str

    Returns
    -------
    plotly Figure; each point's hover text names its provider, offering and source.
    """
    fig = go.Figure()
    for kind, (colour, symbol) in KIND_STYLE.items():
        part = points[points["kind"] == kind].sort_values("observed_at")
        if part.empty:
            continue
        fig.add_trace(go.Scatter(
            # markers only: a line would join different providers' prices as if they were one series
            x=part["observed_at"], y=part["usd_per_gpu_hour"], name=kind, mode="markers",
            marker={"color": colour, "symbol": symbol, "size": 9, "line": {"width": 1, "color": "white"}},
            text=_hover(part), hovertemplate="%{text}<extra></extra>"))
    fig.update_layout(title=title, xaxis_title="date observed (UTC)", yaxis_title="USD per GPU-hour",
                      hovermode="closest", legend_title_text="provider kind",
                      margin={"t": 60, "r": 20, "b": 50, "l": 60})
    fig.update_yaxes(rangemode="tozero")
    return use_template(fig)
