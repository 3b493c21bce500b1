"""Figures for the on-chain reconciliation: actual cumulative payouts against the scenario."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go


def cumulative_ton_figure(daily: pd.DataFrame, *, owner: str, scenario: str) -> go.Figure:
    """Cumulative TON received (actual payouts) against the scenario's payouts and accrual.

    ``daily`` is :attr:`analysis.chain.reconcile.Reconciliation.daily`.
    """
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=daily.index, y=daily["actual_cum_ton"], mode="lines", name="actual payouts",
                             line={"shape": "hv", "width": 3},
                             hovertemplate="%{x|%Y-%m-%d}<br>received %{y:,.2f} TON<extra>actual</extra>"))
    fig.add_trace(go.Scatter(x=daily.index, y=daily["expected_cum_payout_ton"], mode="lines",
                             name=f"expected payouts ({scenario})", line={"shape": "hv", "dash": "dash"},
                             hovertemplate="%{x|%Y-%m-%d}<br>expected paid %{y:,.2f} TON<extra>scenario</extra>"))
    fig.add_trace(go.Scatter(x=daily.index, y=daily["expected_cum_earned_ton"], mode="lines",
                             name="expected earned (accrual)", line={"dash": "dot"},
                             hovertemplate="%{x|%Y-%m-%d}<br>expected earned %{y:,.2f} TON<extra>scenario</extra>"))
    fig.update_layout(title=f"Cumulative TON: payouts to {owner[:6]}…{owner[-4:]} against the scenario",
                      xaxis_title="date (UTC)", yaxis_title="cumulative TON", hovermode="x unified",
                      legend={"orientation": "h", "y": -0.2})
    return fig


def cumulative_usd_figure(daily: pd.DataFrame, *, scenario: str) -> go.Figure:
    """Cumulative USD value of the payouts at each payout day's TON/USD close, actual and expected."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=daily.index, y=daily["actual_cum_usd"], mode="lines", name="actual payouts",
                             line={"shape": "hv", "width": 3},
                             hovertemplate="%{x|%Y-%m-%d}<br>%{y:$,.2f}<extra>actual</extra>"))
    fig.add_trace(go.Scatter(x=daily.index, y=daily["expected_cum_usd"], mode="lines",
                             name=f"expected payouts ({scenario})", line={"shape": "hv", "dash": "dash"},
                             hovertemplate="%{x|%Y-%m-%d}<br>%{y:$,.2f}<extra>scenario</extra>"))
    fig.update_layout(title="Cumulative USD value of payouts at each day's close",
                      xaxis_title="date (UTC)", yaxis_title="cumulative USD", hovermode="x unified",
                      legend={"orientation": "h", "y": -0.2})
    return fig
