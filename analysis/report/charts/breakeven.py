"""Break-even figures: break-even TON price against today's, the monthly-profit heatmap
over TON price x utilisation, and cumulative cash on the historical TON path."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analysis.report.charts import use_template


def break_even_prices(table: pd.DataFrame, ton_usd_today: float, today_label: str = "") -> go.Figure:
    """Bars of the break-even TON price per scenario (all costs and cash costs only) with
    today's TON price as a line.

    Parameters
    ----------
    table : DataFrame
        One row per scenario: ``scenario``, ``break_even_ton_usd``, ``break_even_ton_usd_cash``.
    """
    fig = go.Figure()
    fig.add_bar(name="all costs incl. depreciation", x=table["scenario"], y=table["break_even_ton_usd"],
                hovertemplate="%{x}<br>break-even (all costs): %{y:.3f} USD/TON<extra></extra>")
    fig.add_bar(name="cash costs only", x=table["scenario"], y=table["break_even_ton_usd_cash"],
                hovertemplate="%{x}<br>break-even (cash): %{y:.3f} USD/TON<extra></extra>")
    fig.add_hline(y=ton_usd_today, line_dash="dash", line_color="#b3261e",
                  annotation_text=f"TON today {ton_usd_today:.3f} USD {today_label}".strip(),
                  annotation_position="top left")
    fig.update_layout(title="Break-even TON price per scenario vs today's price", barmode="group",
                      xaxis_title="scenario", yaxis_title="TON price (USD per TON)",
                      legend_title_text="costs covered")
    return use_template(fig)


def profit_heatmap(ton_usd: np.ndarray, utilisation: np.ndarray, profit_usd_per_month: np.ndarray,
                   break_even_ton_usd: np.ndarray, *, title: str, ton_usd_today: float | None = None,
                   current_utilisation: float | None = None) -> go.Figure:
    """Monthly profit (USD, incl. depreciation) over TON price x utilisation, with the
    break-even line (profit = 0) and the scenario's current point.

    ``profit_usd_per_month`` is ``[len(utilisation), len(ton_usd)]``; ``break_even_ton_usd``
    the break-even TON price at each utilisation.
    """
    z = np.asarray(profit_usd_per_month, dtype=float)
    limit = float(np.nanmax(np.abs(z))) or 1.0
    fig = go.Figure(go.Heatmap(
        x=ton_usd, y=np.asarray(utilisation) * 100, z=z, zmid=0, zmin=-limit, zmax=limit,
        colorscale="RdBu", colorbar=dict(title="USD / month"),
        hovertemplate="TON %{x:.2f} USD<br>utilisation %{y:.0f}%<br>profit %{z:,.0f} USD/month<extra></extra>"))
    line = np.asarray(break_even_ton_usd, dtype=float)
    inside = np.isfinite(line) & (line >= np.min(ton_usd)) & (line <= np.max(ton_usd))
    if inside.any():
        fig.add_scatter(x=line[inside], y=np.asarray(utilisation)[inside] * 100, mode="lines",
                        line=dict(color="black", width=2), name="break-even",
                        hovertemplate="break-even at %{y:.0f}%: %{x:.3f} USD/TON<extra></extra>")
    if ton_usd_today is not None and current_utilisation is not None:
        fig.add_scatter(x=[ton_usd_today], y=[current_utilisation * 100], mode="markers",
                        marker=dict(symbol="x", size=12, color="black"), name="today / scenario",
                        hovertemplate="today: TON %{x:.3f} USD, utilisation %{y:.0f}%<extra></extra>")
    fig.update_layout(title=title, xaxis_title="TON price (USD per TON)", yaxis_title="utilisation (%)",
                      legend=dict(orientation="h", y=-0.2))
    return use_template(fig)


def cumulative_cash(ledgers: dict[str, pd.DataFrame]) -> go.Figure:
    """Cumulative net cash (USD, after capex) of each scenario's ledger on the historical
    TON path, selling each payout at that day's close."""
    fig = go.Figure()
    for name, ledger in ledgers.items():
        fig.add_scatter(x=ledger.index, y=ledger["cumulative_net_usd"], mode="lines", name=name,
                        hovertemplate="%{x|%Y-%m-%d}<br>cumulative cash %{y:,.0f} USD<extra>" + name + "</extra>")
    fig.add_hline(y=0, line_color="#888", line_width=1)
    fig.update_layout(title="Cumulative net cash on the historical TON price (sell each payout at the close)",
                      xaxis_title="date (UTC)", yaxis_title="cumulative net cash (USD)",
                      legend=dict(orientation="h", y=-0.2))
    return use_template(fig)


def tornado(base_usd: float, rows: pd.DataFrame, *, title: str, unit: str = "USD / month") -> go.Figure:
    """Sensitivity of a result to each input moved down and up.

    ``rows``: ``label``, ``low_usd``, ``high_usd`` (result with the input at its low and
    high value), sorted by the widest swing first.
    """
    order = (rows.assign(swing=(rows["high_usd"] - rows["low_usd"]).abs())
             .sort_values("swing", ascending=True))
    fig = go.Figure()
    fig.add_bar(y=order["label"], x=order["low_usd"] - base_usd, base=base_usd, orientation="h", name="input low",
                customdata=order["low_usd"], hovertemplate="%{y}<br>low: %{customdata:,.0f} " + unit + "<extra></extra>")
    fig.add_bar(y=order["label"], x=order["high_usd"] - base_usd, base=base_usd, orientation="h", name="input high",
                customdata=order["high_usd"], hovertemplate="%{y}<br>high: %{customdata:,.0f} " + unit + "<extra></extra>")
    fig.add_vline(x=base_usd, line_color="black", line_width=1)
    fig.update_layout(title=title, barmode="overlay", xaxis_title=unit, yaxis_title="input",
                      legend=dict(orientation="h", y=-0.2))
    return use_template(fig)
