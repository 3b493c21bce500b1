"""Figures of a daily USD close series: price (log/linear toggle), drawdown from the running
peak, and rolling annualised volatility. Inputs come from :mod:`analysis.market.series`."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analysis.report.charts import use_template

# One colour per venue span, stable across figures (plotly's default qualitative palette).
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22")
LAYOUT = dict(height=440, margin=dict(l=70, r=30, t=70, b=50),
              hovermode="closest", legend=dict(orientation="h", yanchor="bottom", y=1.0, x=0))


def price_figure(closes: pd.DataFrame, asset: str = "TON", log_y: bool = True) -> go.Figure:
    """Daily close in USD, one trace per venue, with buttons to switch log/linear scale.

    Parameters
    ----------
    closes
        Frame indexed by ``date`` with ``close_usd`` and ``source`` (see
        :func:`analysis.market.prices.daily_closes`).
    asset
        Ticker for the labels.
    log_y
        Start on a logarithmic price axis (the buttons switch it either way).
    """
    frame = closes.sort_index()
    calendar = pd.date_range(frame.index[0], frame.index[-1], freq="D", name="date") if len(frame) else frame.index
    full = frame.reindex(calendar)
    fig = go.Figure()
    for i, source in enumerate(pd.unique(frame["source"].astype(str))):
        mine = full["source"].astype(str).eq(source).to_numpy()
        # Draw the day after each of this venue's runs too, so consecutive venues' lines meet.
        joined = mine | np.concatenate([[False], mine[:-1]])
        y = np.where(joined, full["close_usd"].to_numpy(dtype=float), np.nan)
        venue = np.where(mine, source, full["source"].astype(str).to_numpy())
        fig.add_trace(go.Scatter(
            x=calendar, y=y, mode="lines", name=source, connectgaps=False,
            line=dict(width=1.6, color=PALETTE[i % len(PALETTE)]),
            customdata=venue,
            hovertemplate="%{x|%Y-%m-%d}<br>close %{y:$,.4f} per " + asset + "<br>venue %{customdata}<extra></extra>",
        ))
    scale_title = {"log": f"USD per {asset} (log scale)", "linear": f"USD per {asset}"}
    start = "log" if log_y else "linear"
    tickvals = log_ticks(float(frame["close_usd"].min()), float(frame["close_usd"].max())) if len(frame) else []
    ticktext = [f"${v:,.10g}" for v in tickvals]
    log_axis = {"yaxis.type": "log", "yaxis.tickmode": "array", "yaxis.tickvals": tickvals,
                "yaxis.ticktext": ticktext, "yaxis.title.text": scale_title["log"]}
    linear_axis = {"yaxis.type": "linear", "yaxis.tickmode": "auto", "yaxis.title.text": scale_title["linear"]}
    fig.update_layout(
        **LAYOUT,
        title=dict(text=f"{asset}/USD daily close (UTC), coloured by venue"),
        xaxis=dict(title=dict(text="date (UTC)")),
        yaxis=dict(title=dict(text=scale_title[start]), type=start, tickprefix="$", hoverformat=",.4f",
                   **({"tickmode": "array", "tickvals": tickvals, "ticktext": ticktext} if log_y else {})),
        updatemenus=[dict(
            type="buttons", direction="left", x=1.0, xanchor="right", y=1.01, yanchor="bottom",
            pad=dict(r=0, t=0, b=0, l=0), font=dict(size=11),
            active=0 if log_y else 1, showactive=True,
            buttons=[
                dict(label="Log scale", method="relayout", args=[log_axis]),
                dict(label="Linear scale", method="relayout", args=[linear_axis]),
            ],
        )],
    )
    return use_template(fig)


def log_ticks(low: float, high: float) -> list[float]:
    """Tick values for a log price axis from ``low`` to ``high``: round numbers per decade, denser
    for narrow ranges (1, 1.5, 2, 3, 5, 7 within 1.5 decades; 1, 2, 5 up to 4; then powers of ten),
    plus one step beyond each end so the data sit inside."""
    if not (low > 0 and high >= low):
        return []
    decades = np.log10(high / low)
    mantissas = (1, 1.5, 2, 3, 5, 7) if decades <= 1.5 else (1, 2, 5) if decades <= 4 else (1,)
    ticks: list[float] = []
    for exponent in range(int(np.floor(np.log10(low))) - 1, int(np.ceil(np.log10(high))) + 1):
        ticks.extend(m * 10.0 ** exponent for m in mantissas)
    below = [t for t in ticks if t <= low]
    above = [t for t in ticks if t >= high]
    lo, hi = (below[-1] if below else ticks[0]), (above[0] if above else ticks[-1])
    return [round(t, 12) for t in ticks if lo <= t <= hi]


def drawdown_figure(dd: pd.DataFrame, asset: str = "TON") -> go.Figure:
    """Drawdown from the running peak (a fraction, shown in %), with the deepest point marked.

    Parameters
    ----------
    dd
        Output of :func:`analysis.market.series.drawdown`.
    """
    peak_dates = pd.DatetimeIndex(dd["peak_date"]).strftime("%Y-%m-%d")
    custom = np.empty((len(dd), 3), dtype=object)  # mixed types: numbers stay numbers for d3-format
    custom[:, 0] = dd["close_usd"].to_numpy(dtype=float)
    custom[:, 1] = dd["running_peak_usd"].to_numpy(dtype=float)
    custom[:, 2] = np.asarray(peak_dates, dtype=object)
    fig = go.Figure(go.Scatter(
        x=dd.index, y=dd["drawdown_fraction"], mode="lines", fill="tozeroy", name="drawdown",
        line=dict(width=1.2, color="#b3261e"), fillcolor="rgba(179,38,30,0.18)", customdata=custom,
        hovertemplate=("%{x|%Y-%m-%d}<br>drawdown %{y:.1%}<br>close $%{customdata[0]:,.4f}"
                       "<br>running peak $%{customdata[1]:,.4f} on %{customdata[2]}<extra></extra>"),
    ))
    if len(dd):
        trough = dd["drawdown_fraction"].idxmin()
        fig.add_trace(go.Scatter(
            x=[trough], y=[dd.at[trough, "drawdown_fraction"]], mode="markers+text", name="deepest",
            marker=dict(size=9, color="#1d2330"), text=[f"{dd.at[trough, 'drawdown_fraction']:.1%}"],
            textposition="bottom right",
            hovertemplate="deepest drawdown %{y:.1%} on %{x|%Y-%m-%d}<extra></extra>",
        ))
    fig.update_layout(
        **LAYOUT,
        title=dict(text=f"{asset} drawdown from its running peak close"),
        xaxis=dict(title=dict(text="date (UTC)")),
        yaxis=dict(title=dict(text="drawdown from peak (%)"), tickformat=".0%", rangemode="tozero"),
        showlegend=False,
    )
    return use_template(fig)


def volatility_figure(vol: pd.Series, window_days: int, full_period_vol: float | None = None,
                      asset: str = "TON") -> go.Figure:
    """Rolling annualised volatility (a fraction per year, shown in %).

    Parameters
    ----------
    vol
        Output of :func:`analysis.market.series.rolling_volatility`.
    window_days
        The window it used, for the labels.
    full_period_vol
        Annualised volatility over the whole series, drawn as a dashed reference line.
    """
    fig = go.Figure(go.Scatter(
        x=vol.index, y=vol.to_numpy(), mode="lines", name=f"{window_days}-day rolling", connectgaps=False,
        line=dict(width=1.4, color="#1f77b4"),
        hovertemplate=(f"%{{x|%Y-%m-%d}}<br>{window_days}-day volatility %{{y:.1%}} per year"
                       "<extra></extra>"),
    ))
    if full_period_vol is not None and np.isfinite(full_period_vol) and len(vol):
        fig.add_trace(go.Scatter(
            x=[vol.index[0], vol.index[-1]], y=[full_period_vol, full_period_vol], mode="lines",
            name="whole period", line=dict(width=1.2, dash="dash", color="#6b7385"),
            hovertemplate="whole-period volatility %{y:.1%} per year<extra></extra>",
        ))
    fig.update_layout(
        **LAYOUT,
        title=dict(text=f"{asset} rolling {window_days}-day volatility, annualised (365-day year)"),
        xaxis=dict(title=dict(text="date (UTC)")),
        yaxis=dict(title=dict(text="volatility (% per year)"), tickformat=".0%", rangemode="tozero"),
    )
    return use_template(fig)


def returns_histogram_figure(log_returns: pd.Series, asset: str = "TON", bin_width: float = 0.005) -> go.Figure:
    """Histogram of daily log returns (in %) with the normal curve of the same mean and standard
    deviation, scaled to counts, to show how fat the tails are.

    Parameters
    ----------
    log_returns
        Daily log returns, e.g. :func:`analysis.market.series.daily_log_returns` (missing days are dropped).
    bin_width
        Width of a bin as a log return (0.005 = 0.5 %).
    """
    from scipy.stats import norm

    r = log_returns.dropna().to_numpy(dtype=float)
    fig = go.Figure(go.Histogram(
        x=r, xbins=dict(size=bin_width), name="days", marker=dict(color="#1f77b4", line=dict(width=0)),
        hovertemplate="daily log return %{x}<br>%{y} days<extra></extra>",
    ))
    if r.size > 1:
        mean, std = float(r.mean()), float(r.std(ddof=1))
        x = np.linspace(r.min(), r.max(), 400)
        fig.add_trace(go.Scatter(
            x=x, y=r.size * bin_width * norm.pdf(x, mean, std), mode="lines", name="normal, same mean and std",
            line=dict(color="#b3261e", width=1.6),
            hovertemplate="normal curve: %{y:.1f} days per bin at %{x:.1%}<extra></extra>",
        ))
    fig.update_layout(
        **{**LAYOUT, "hovermode": "x"},
        title=dict(text=f"{asset} daily log returns: {r.size:,} days"),
        xaxis=dict(title=dict(text="daily log return (%)"), tickformat=".0%", hoverformat=".1%"),
        yaxis=dict(title=dict(text="days per bin (count)")),
        bargap=0.02,
    )
    return use_template(fig)


def volatility_by_year_figure(by_year: pd.DataFrame, asset: str = "TON") -> go.Figure:
    """Annualised volatility per calendar year, with the number of days and the price change in the
    hover text.

    Parameters
    ----------
    by_year
        Output of :func:`analysis.market.series.volatility_by_year`.
    """
    custom = np.column_stack([by_year["returns"].to_numpy(dtype=float), by_year["change_fraction"].to_numpy(dtype=float)])
    fig = go.Figure(go.Bar(
        x=[str(y) for y in by_year.index], y=by_year["volatility_annual"], customdata=custom,
        marker=dict(color="#1f77b4"), name="volatility",
        text=[f"{v:.0%}" for v in by_year["volatility_annual"]], textposition="outside",
        hovertemplate=("%{x}: volatility %{y:.0%} per year<br>from %{customdata[0]:.0f} daily returns"
                       "<br>price change within the year %{customdata[1]:+.0%}<extra></extra>"),
    ))
    fig.update_layout(
        **LAYOUT,
        title=dict(text=f"{asset} volatility by calendar year, annualised (365-day year)"),
        xaxis=dict(title=dict(text="year (UTC)"), type="category"),
        yaxis=dict(title=dict(text="volatility (% per year)"), tickformat=".0%", rangemode="tozero"),
        showlegend=False,
    )
    return use_template(fig)
