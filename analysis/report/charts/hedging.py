"""Volatility and hedging figures: fan charts of each strategy's cumulative net USD, the
distribution of outcomes side by side, a real TON path replayed under each strategy, and what
a day of serving earns against the TON price."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from analysis.report.charts import use_template

# One colour per strategy, the same in every figure.
COLOURS = {
    "hold": "#6b4c9a", "sell_on_payout": "#1f77b4", "sell_every": "#17becf", "cover_costs": "#8c564b",
    "stake": "#9467bd", "perp_hedge": "#2ca02c", "put_protection": "#ff7f0e", "collar": "#d62728",
    "usd_pegged": "#7f7f7f",
}
LABELS = {
    "hold": "hold", "sell_on_payout": "sell on payout", "sell_every": "sell every N days",
    "cover_costs": "cover costs", "stake": "stake", "perp_hedge": "perp hedge",
    "put_protection": "put protection", "collar": "collar", "usd_pegged": "USD-pegged network",
}


def _rgba(hex_colour: str, alpha: float) -> str:
    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def fan_charts(fans: dict[str, np.ndarray], title: str, percentiles: tuple[int, ...] = (5, 25, 50, 75, 95)) -> go.Figure:
    """Small multiples, one per strategy: P5-P95 and P25-P75 bands and the median of the
    cumulative net USD position on each day.

    ``fans[name]`` is ``[len(percentiles), D+1]`` (see :func:`analysis.sim.risk.fan`).
    """
    names = list(fans)
    cols = 3
    rows = math.ceil(len(names) / cols)
    fig = make_subplots(rows=rows, cols=cols, shared_xaxes="all", shared_yaxes="all",
                        subplot_titles=[LABELS.get(n, n) for n in names],
                        vertical_spacing=0.1, horizontal_spacing=0.04)
    index = {p: i for i, p in enumerate(percentiles)}
    traces, at_rows, at_cols = [], [], []
    for k, name in enumerate(names):
        band = np.asarray(fans[name])
        days = np.arange(band.shape[1])
        colour = COLOURS.get(name, "#444444")
        label = LABELS.get(name, name)
        cell = (k // cols + 1, k % cols + 1)
        for lo, hi, alpha in ((5, 95, 0.18), (25, 75, 0.35)):
            traces.append(go.Scatter(x=days, y=band[index[hi]], mode="lines", line=dict(width=0), showlegend=False,
                                     hoverinfo="skip"))
            traces.append(go.Scatter(
                x=days, y=band[index[lo]], mode="lines", line=dict(width=0), fill="tonexty",
                fillcolor=_rgba(colour, alpha), showlegend=False, customdata=band[index[hi]],
                hovertemplate=f"{label}<br>day %{{x}}<br>P{lo}: %{{y:,.0f}} USD"
                              f"<br>P{hi}: %{{customdata:,.0f}} USD<extra></extra>"))
        traces.append(go.Scatter(x=days, y=band[index[50]], mode="lines", line=dict(color=colour, width=2),
                                 showlegend=False,
                                 hovertemplate=f"{label}<br>day %{{x}}<br>median %{{y:,.0f}} USD<extra></extra>"))
        at_rows += [cell[0]] * 5
        at_cols += [cell[1]] * 5
    fig.add_traces(traces, rows=at_rows, cols=at_cols)
    # zero line in every panel (one shape per subplot, added in one go)
    shapes = []
    for k in range(len(names)):
        suffix = "" if k == 0 else str(k + 1)
        shapes.append(dict(type="line", xref=f"x{suffix} domain", yref=f"y{suffix}", x0=0, x1=1, y0=0, y1=0,
                           line=dict(width=1, color="#999999")))
    fig.update_layout(shapes=shapes)
    fig.update_xaxes(title_text="day", title_standoff=2, title_font_size=11)
    fig.update_yaxes(title_text="cumulative net USD", col=1)
    fig.update_layout(title=title, height=260 * rows + 80,
                      margin=dict(t=90))
    return use_template(fig)


def outcome_distributions(outcomes: dict[str, np.ndarray], title: str) -> go.Figure:
    """Net USD over the horizon per strategy, side by side: box from P25 to P75 with the
    median, whiskers from P5 to P95, and the mean as a diamond (percentiles precomputed, so the
    figure stays small whatever the number of paths)."""
    fig = go.Figure()
    for name, values in outcomes.items():
        p5, p25, p50, p75, p95 = np.percentile(values, [5, 25, 50, 75, 95])
        label = LABELS.get(name, name)
        colour = COLOURS.get(name, "#444444")
        fig.add_trace(go.Box(
            x=[label], q1=[p25], median=[p50], q3=[p75], lowerfence=[p5], upperfence=[p95],
            mean=[float(np.mean(values))], name=label, marker_color=colour, showlegend=False,
            hovertemplate=f"{label}<br>P5 {p5:,.0f} / P25 {p25:,.0f} / median {p50:,.0f} / P75 {p75:,.0f} / "
                          f"P95 {p95:,.0f} USD<extra></extra>"))
    fig.add_hline(y=0, line_width=1, line_color="#999999")
    fig.update_layout(title=title, xaxis_title="strategy", yaxis_title="net USD over the horizon (P5-P95 whiskers)")
    return use_template(fig)


def replay(dates: pd.DatetimeIndex, positions: dict[str, np.ndarray], close_usd: np.ndarray, title: str) -> go.Figure:
    """One real TON path: each strategy's cumulative net USD position day by day, with the TON
    price on a second axis. ``dates`` are days 0..D (day 0 is the close before the start)."""
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    for name, position in positions.items():
        label = LABELS.get(name, name)
        fig.add_trace(go.Scatter(x=dates, y=position, mode="lines", name=label,
                                 line=dict(color=COLOURS.get(name, "#444444"), width=2,
                                           dash="dot" if name == "usd_pegged" else "solid"),
                                 hovertemplate=f"{label}<br>%{{x|%Y-%m-%d}}: %{{y:,.0f}} USD<extra></extra>"),
                      secondary_y=False)
    return _with_ton_axis(fig, dates, close_usd, title, "cumulative net USD (liquidation value)", opacity=0.5)


def earnings_against_price(dates: pd.DatetimeIndex, close_usd: np.ndarray,
                           usd_per_gpu_day: dict[str, np.ndarray], cost_per_gpu_day: dict[str, float],
                           title: str) -> go.Figure:
    """What one GPU-day of serving earns in USD at each day's TON close (COCOON pays a fixed
    TON price per token), against its cash costs; the TON price on a second axis."""
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    palette = ["#1f77b4", "#2ca02c", "#d62728", "#9467bd", "#8c564b"]
    for k, (name, usd) in enumerate(usd_per_gpu_day.items()):
        colour = palette[k % len(palette)]
        fig.add_trace(go.Scatter(x=dates, y=usd, mode="lines", name=f"{name}: income",
                                 line=dict(color=colour, width=1.5),
                                 hovertemplate=f"{name}<br>%{{x|%Y-%m-%d}}: %{{y:,.2f}} USD per GPU-day<extra></extra>"),
                      secondary_y=False)
        cost = cost_per_gpu_day[name]
        fig.add_trace(go.Scatter(x=[dates[0], dates[-1]], y=[cost, cost], mode="lines", name=f"{name}: cash costs",
                                 line=dict(color=colour, width=1, dash="dash"),
                                 hovertemplate=f"{name}<br>cash costs {cost:,.2f} USD per GPU-day<extra></extra>"),
                      secondary_y=False)
    return _with_ton_axis(fig, dates, close_usd, title, "USD per GPU per day", opacity=0.4)


def _with_ton_axis(fig: go.Figure, dates: pd.DatetimeIndex, close_usd: np.ndarray, title: str, y_title: str,
                   opacity: float) -> go.Figure:
    """``fig`` (made with a secondary y axis) with the TON/USD close on the right axis, the title,
    the legend below and both axes named."""
    fig.add_trace(go.Scatter(x=dates, y=close_usd, mode="lines", name="TON/USD (right axis)",
                             line=dict(color="#222222", width=1), opacity=opacity,
                             hovertemplate="TON %{x|%Y-%m-%d}: %{y:.3f} USD<extra></extra>"), secondary_y=True)
    fig.update_layout(title=title, legend=dict(orientation="h", y=-0.2),
                      xaxis_title="date")
    fig.update_yaxes(title_text=y_title, secondary_y=False)
    fig.update_yaxes(title_text="TON price (USD per TON)", secondary_y=True)
    return use_template(fig)
