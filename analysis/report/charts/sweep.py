"""Sweep figures: a metric as a heat map over two inputs, and a tornado of main effects."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analysis.report.charts import use_template


def sweep_heatmap(table: pd.DataFrame, *, title: str, x_title: str, y_title: str, z_title: str,
                  z_format: str = ",.3f", colorscale: str = "Viridis", reverse: bool = False) -> go.Figure:
    """``table`` (rows: y levels, columns: x levels) as a heat map, each square labelled with its value.

    Levels are shown as categories (a grid's values are rarely evenly spaced).
    """
    z = table.to_numpy(dtype=float)
    x = [level_text(v) for v in table.columns]
    y = [level_text(v) for v in table.index]
    text = [["" if not np.isfinite(v) else f"{v:{z_format}}" for v in row] for row in z]
    fig = go.Figure(go.Heatmap(
        x=x, y=y, z=np.where(np.isfinite(z), z, np.nan), text=text, texttemplate="%{text}",
        colorscale=colorscale, reversescale=reverse, colorbar=dict(title=z_title),
        hovertemplate=f"{x_title} %{{x}}<br>{y_title} %{{y}}<br>{z_title} %{{z:{z_format}}}<extra></extra>"))
    fig.update_layout(title=title, xaxis_title=x_title, yaxis_title=y_title)
    fig.update_xaxes(type="category")
    fig.update_yaxes(type="category")
    return use_template(fig)


def effects_tornado(effects: pd.DataFrame, baseline: float, *, title: str, unit: str = "USD") -> go.Figure:
    """Horizontal bars from the lowest to the highest mean result over each input's levels (the
    main effects of :func:`analysis.sweep.results.main_effects`), widest at the top, the mean over
    the whole sweep as a line; each bar end names its level."""
    order = effects.sort_values("swing", ascending=True)
    labels = order["input"].tolist()
    fig = go.Figure()
    fig.add_bar(y=labels, x=order["high"] - order["low"], base=order["low"], orientation="h",
                marker_color="#4c78a8", name="range of the mean over the input's levels",
                customdata=np.stack([order["low_level"].map(level_text), order["low"],
                                     order["high_level"].map(level_text), order["high"]], axis=-1),
                hovertemplate="%{y}<br>lowest: %{customdata[1]:,.0f} " + unit + " at %{customdata[0]}<br>"
                              "highest: %{customdata[3]:,.0f} " + unit + " at %{customdata[2]}<extra></extra>")
    fig.add_scatter(y=labels, x=order["low"], mode="text", text=order["low_level"].map(level_text),
                    textposition="middle left", showlegend=False, hoverinfo="skip")
    fig.add_scatter(y=labels, x=order["high"], mode="text", text=order["high_level"].map(level_text),
                    textposition="middle right", showlegend=False, hoverinfo="skip")
    fig.add_vline(x=baseline, line_color="black", line_width=1, annotation_text=f"mean {baseline:,.0f} {unit}",
                  annotation_position="top")
    fig.update_layout(title=title, xaxis_title=f"mean net {unit} over the horizon", yaxis_title="input",
                      legend=dict(orientation="h", y=-0.2),
                      margin=dict(l=260))
    return use_template(fig)


def level_text(value) -> str:
    """A level as a short label: ``0.05``, ``1e+04``, ``perp_hedge``."""
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (float, np.floating)):
        return f"{float(value):g}"
    return str(value)
