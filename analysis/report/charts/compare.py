"""Figures of the comparison: income per GPU-hour against renting, the beat-the-market token
price over time, and the customer's price per million tokens."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

KIND_COLOURS = {"marketplace": "#2a9d8f", "neocloud": "#457b9d", "market index": "#8d99ae",
                "hyperscaler on demand": "#e76f51", "hyperscaler reserved": "#f4a261"}


def provider_bars(network_usd_per_gpu_hour: float, alternatives: pd.DataFrame, network: str, title: str) -> go.Figure:
    """Latest USD per GPU-hour of each rental alternative (bars, coloured by kind) and the
    network's income per GPU-hour (a line)."""
    latest = alternatives[alternatives["statistic"] == "latest"]
    fig = go.Figure()
    for kind, part in latest.groupby("kind", sort=False):
        fig.add_bar(x=part["provider"] + " " + part["pricing"], y=part["usd_per_gpu_hour"], name=kind,
                    marker_color=KIND_COLOURS.get(kind), customdata=np.stack([part["observed_at"], part["source"]], 1),
                    hovertemplate="%{x}: %{y:.2f} USD/GPU-h<br>observed %{customdata[0]}<br>%{customdata[1]}"
                                  "<extra></extra>")
    fig.add_hline(y=network_usd_per_gpu_hour, line_dash="dash", line_color="#1d2330",
                  annotation_text=f"{network}: {network_usd_per_gpu_hour:.2f} USD/GPU-h")
    fig.add_scatter(x=[None], y=[None], mode="lines", line=dict(dash="dash", color="#1d2330"),
                    name=f"{network} income", hovertemplate="%{y}<extra></extra>")
    fig.update_layout(title=title, xaxis_title="provider and pricing (latest price)",
                      yaxis_title="USD per GPU-hour", barmode="group", legend_title="kind")
    return fig


def beat_market_history(history: pd.DataFrame, token: str, title: str) -> go.Figure:
    """Month-end token close against the token price needed to beat the market rental rate."""
    h = history[history["rental_quotes"] > 0]
    fig = go.Figure()
    fig.add_scatter(x=history.index, y=history["close_usd"], mode="lines", name=f"{token} close (month end)",
                    hovertemplate="%{x|%Y-%m}: %{y:.3f} USD<extra></extra>")
    fig.add_scatter(x=h.index, y=h["token_usd_to_beat"], mode="lines+markers", name=f"{token} price to beat renting",
                    customdata=np.stack([h["rental_usd_per_gpu_hour"], h["rental_quotes"]], 1),
                    hovertemplate="%{x|%Y-%m}: %{y:.3f} USD/" + token + "<br>market rental %{customdata[0]:.2f} "
                                  "USD/GPU-h (%{customdata[1]} providers)<extra></extra>")
    fig.update_layout(title=title, xaxis_title="month (UTC)", yaxis_title=f"USD per {token}", yaxis_type="log")
    return fig


def customer_bars(network_prices: dict[str, float], alternatives: pd.DataFrame, title: str) -> go.Figure:
    """USD per million output (completion) tokens: the network's and each alternative's."""
    names = list(network_prices) + [f"{k}: {p} / {m}" for k, p, m in
                                    zip(alternatives["kind"], alternatives["provider"], alternatives["model"])]
    values = list(network_prices.values()) + list(alternatives["usd_per_m_completion"])
    sources = ["COCOON root contract price x TON close"] * len(network_prices) + list(alternatives["source"])
    dates = [""] * len(network_prices) + list(alternatives["observed_at"])
    colours = ["#1d2330"] * len(network_prices) + ["#457b9d" if k == "inference API" else "#e76f51"
                                                    for k in alternatives["kind"]]
    fig = go.Figure(go.Bar(y=names, x=values, orientation="h", marker_color=colours,
                           customdata=np.stack([sources, dates], 1),
                           hovertemplate="%{y}<br>%{x:.3f} USD per million output tokens<br>%{customdata[0]} "
                                         "%{customdata[1]}<extra></extra>"))
    fig.update_layout(title=title, xaxis_title="USD per million output (completion) tokens", yaxis_title="offer",
                      xaxis_type="log", height=max(400, 22 * len(names) + 120), yaxis_autorange="reversed")
    return fig
