"""The page's own figures (the others are the report's, :mod:`analysis.report.charts`)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from analysis.report.charts.hedging import COLOURS, LABELS, _rgba
from analysis.sim.risk import FAN_PERCENTILES


def profit_against_price(curve: dict, summary: dict) -> go.Figure:
    """Monthly profit (all costs, and cash costs only) against the token price, with the
    break-even prices and the price used marked."""
    token = summary.get("token", "TON")
    x = curve["token_usd"]
    fig = go.Figure()
    fig.add_scatter(x=x, y=curve["profit_usd_per_month"], mode="lines", name="profit, all costs incl. depreciation",
                    line=dict(color="#1f77b4", width=2),
                    hovertemplate=f"{token} %{{x:.3f}} USD: %{{y:,.0f}} USD/month<extra>all costs</extra>")
    fig.add_scatter(x=x, y=curve["cash_profit_usd_per_month"], mode="lines", name="profit, cash costs only",
                    line=dict(color="#2ca02c", width=2, dash="dot"),
                    hovertemplate=f"{token} %{{x:.3f}} USD: %{{y:,.0f}} USD/month<extra>cash costs</extra>")
    fig.add_hline(y=0, line_color="#888", line_width=1)
    for key, label, colour in (("break_even_ton_usd", "break-even (all costs)", "#1f77b4"),
                               ("break_even_ton_usd_cash", "break-even (cash)", "#2ca02c")):
        value = summary.get(key)
        if value is not None and 0 < value <= x[-1]:
            fig.add_vline(x=value, line_dash="dash", line_color=colour,
                          annotation_text=f"{label} {value:.3f}", annotation_position="top left")
    fig.add_vline(x=summary["ton_usd"], line_color="#b3261e", line_width=1,
                  annotation_text=f"price used {summary['ton_usd']:.3f}", annotation_position="bottom right")
    fig.update_layout(title=f"Monthly profit against the {token} price ({summary['utilisation']:.0%} utilisation)",
                      xaxis_title=f"{token} price (USD per {token})", yaxis_title="profit (USD per month)",
                      template="plotly_white", legend=dict(orientation="h", y=-0.25), margin=dict(t=60, r=20))
    return fig


def fan_chart(band: np.ndarray, strategy: str, title: str, percentiles: tuple[int, ...] = FAN_PERCENTILES) -> go.Figure:
    """P5-P95 and P25-P75 bands and the median of one strategy's cumulative net USD per day."""
    band = np.asarray(band, dtype=float)
    index = {p: i for i, p in enumerate(percentiles)}
    days = np.arange(band.shape[1])
    colour = COLOURS.get(strategy, "#444444")
    label = LABELS.get(strategy, strategy)
    fig = go.Figure()
    for lo, hi, alpha in ((5, 95, 0.18), (25, 75, 0.35)):
        fig.add_scatter(x=days, y=band[index[hi]], mode="lines", line=dict(width=0), showlegend=False,
                        hoverinfo="skip")
        fig.add_scatter(x=days, y=band[index[lo]], mode="lines", line=dict(width=0), fill="tonexty",
                        fillcolor=_rgba(colour, alpha), name=f"P{lo}-P{hi}", customdata=band[index[hi]],
                        hovertemplate=f"day %{{x}}<br>P{lo}: %{{y:,.0f}} USD<br>P{hi}: %{{customdata:,.0f}} USD"
                                      "<extra></extra>")
    fig.add_scatter(x=days, y=band[index[50]], mode="lines", line=dict(color=colour, width=2), name="median",
                    hovertemplate="day %{x}<br>median %{y:,.0f} USD<extra></extra>")
    fig.add_hline(y=0, line_color="#999", line_width=1)
    fig.update_layout(title=title, xaxis_title="day", yaxis_title=f"cumulative net USD ({label})",
                      template="plotly_white", legend=dict(orientation="h", y=-0.25), margin=dict(t=60, r=20))
    return fig
