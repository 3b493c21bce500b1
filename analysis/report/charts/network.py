"""Figures for the network-demand section: what the COCOON network pays, day by day."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go


def spend_and_payouts_figure(days: pd.DataFrame) -> go.Figure:
    """Daily client spend, worker payouts and commission (TON), with active workers on a second axis.

    ``days`` is :func:`analysis.chain.network.daily_network` output.
    """
    fig = go.Figure()
    fig.add_trace(go.Bar(x=days.index, y=days["client_spend_ton"], name="client spend",
                         hovertemplate="%{x|%Y-%m-%d}<br>%{y:,.3f} TON<extra>client spend</extra>"))
    fig.add_trace(go.Bar(x=days.index, y=days["worker_payouts_ton"], name="worker payouts",
                         hovertemplate="%{x|%Y-%m-%d}<br>%{y:,.3f} TON<extra>worker payouts</extra>"))
    fig.add_trace(go.Bar(x=days.index, y=days["commission_ton"], name="proxy commission",
                         hovertemplate="%{x|%Y-%m-%d}<br>%{y:,.3f} TON<extra>commission</extra>"))
    fig.add_trace(go.Scatter(x=days.index, y=days["active_workers"], name="active workers (paid that day)",
                             mode="lines+markers", yaxis="y2", line={"shape": "hv"},
                             hovertemplate="%{x|%Y-%m-%d}<br>%{y} worker(s)<extra>active workers</extra>"))
    fig.update_layout(title="COCOON network: daily client spend and worker payouts", barmode="group",
                      xaxis={"title": "date (UTC)", "tickformat": "%Y-%m-%d"}, yaxis_title="TON per day",
                      yaxis2={"title": "workers paid", "overlaying": "y", "side": "right", "rangemode": "tozero",
                              "dtick": 1},
                      hovermode="x unified", legend={"orientation": "h", "y": -0.2})
    return fig


def implied_utilisation_figure(series: pd.DataFrame, *, scenario: str, assumed: float) -> go.Figure:
    """Trailing-window implied utilisation (network median and P90 worker) against the scenario's assumption.

    ``series`` has ``median`` and ``p90`` columns (fractions), indexed by date.
    """
    # A log axis (observed demand sits orders of magnitude below the assumption): days with
    # nobody paid in the window are gaps, not zeros.
    shown = series.where(series > 0) * 100
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=series.index, y=shown["median"], mode="lines", name="median worker",
                             hovertemplate="%{x|%Y-%m-%d}<br>%{y:.3f} %<extra>median worker</extra>"))
    fig.add_trace(go.Scatter(x=series.index, y=shown["p90"], mode="lines", name="90th-percentile worker",
                             line={"dash": "dot"},
                             hovertemplate="%{x|%Y-%m-%d}<br>%{y:.3f} %<extra>P90 worker</extra>"))
    # A trace, not add_hline: shapes on a log axis take log10 positions.
    fig.add_trace(go.Scatter(x=[series.index[0], series.index[-1]], y=[assumed * 100] * 2, mode="lines",
                             name=f"assumed in the scenario: {assumed:.0%}", line={"dash": "dash", "color": "#b3261e"},
                             hovertemplate="%{y:.0f} %<extra>assumed</extra>"))
    fig.update_layout(title=f"Implied utilisation of {scenario}'s GPU (paid tokens / full-load tokens)",
                      xaxis={"title": "date (UTC)", "tickformat": "%Y-%m-%d"}, yaxis_title="utilisation (%, log scale)",
                      yaxis_type="log",
                      hovermode="x unified", legend={"orientation": "h", "y": -0.2})
    return fig
