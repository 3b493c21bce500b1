"""Report section: TON/USD price history, drawdown, rolling volatility; sources and freshness."""

from __future__ import annotations

import html

from analysis.market.prices import read_snapshot
from analysis.market.series import (
    annualised_volatility,
    daily_log_returns,
    day_origins,
    drawdown,
    max_drawdown,
    missing_days,
    rolling_volatility,
    source_spans,
    volatility_by_year,
)
from analysis.report import ReportContext, Section, fmt_number, table_html
from analysis.report.charts.prices import drawdown_figure, price_figure, volatility_figure

WINDOW_DAYS = 30


def build(ctx: ReportContext) -> Section | None:
    """Price, drawdown and 30-day volatility charts with key figures and a provenance table."""
    closes = ctx.ton_closes
    if closes.empty:
        return None
    dd = drawdown(closes)
    worst = max_drawdown(closes)
    vol = rolling_volatility(closes, window_days=WINDOW_DAYS)
    whole_vol = annualised_volatility(daily_log_returns(closes))
    last_vol = vol.dropna()
    latest_usd, latest_day = ctx.latest_ton_usd
    peak_day = closes["close_usd"].idxmax()

    recovered = (f"recovered on {worst.recovered_date}" if worst.recovered_date
                 else "not recovered by the last close")
    kpis = [
        (fmt_number(latest_usd, ",.4f", "$"), f"latest close, {latest_day.date()}"),
        (fmt_number(float(closes["close_usd"].max()), ",.4f", "$"), f"highest close, {peak_day.date()}"),
        (fmt_number(float(dd["drawdown_fraction"].iloc[-1]), ".1%", "%"), "drawdown now, from the highest close"),
        (fmt_number(worst.drawdown_fraction, ".1%", "%"),
         f"deepest drawdown: {worst.peak_date} &rarr; {worst.trough_date}, {recovered}"),
        (fmt_number(float(last_vol.iloc[-1]) if len(last_vol) else None, ".0%", "%"),
         f"{WINDOW_DAYS}-day volatility per year, {last_vol.index[-1].date() if len(last_vol) else 'n/a'}"),
        (fmt_number(whole_vol, ".0%", "%"), "whole-period volatility per year"),
    ]
    intro = (
        f"<p>Daily TON/USD closes (UTC days) from {closes.index[0].date()} to {latest_day.date()} "
        f"({len(closes):,} days). Drawdown is the fall from the highest close so far. Volatility is "
        f"&radic;365 &times; the sample standard deviation of daily log returns over the last "
        f"{WINDOW_DAYS} days (crypto trades every day, so a year is 365 days); a window with a missing "
        f"day is left blank rather than filled. The price chart starts on a log scale (equal "
        f"heights are equal percentage moves); the buttons switch it.</p>"
        '<ul class="kpis">' + "".join(f"<li><b>{v}</b><span>{label}</span></li>" for v, label in kpis) + "</ul>"
    )
    return Section(
        title="TON price, drawdown and volatility",
        anchor="ton",
        intro_html=intro,
        figures=[
            price_figure(closes, asset="TON", log_y=True),
            drawdown_figure(dd, asset="TON"),
            volatility_figure(vol, WINDOW_DAYS, full_period_vol=whole_vol, asset="TON"),
        ],
        after_html=_years_html(closes) + _sources_html(ctx),
    )


def _years_html(closes) -> str:
    """Volatility and price change per calendar year."""
    years = volatility_by_year(closes).reset_index()
    return table_html(
        years,
        columns={"year": "year (UTC)", "returns": "daily returns", "volatility_annual": "volatility (% per year)",
                 "first_close_usd": "first close (USD)", "last_close_usd": "last close (USD)",
                 "change_fraction": "change within the year (%)"},
        formats={"volatility_annual": lambda v: fmt_number(v, ".0%", "%"),
                 "first_close_usd": lambda v: fmt_number(v, ",.4f", "$"),
                 "last_close_usd": lambda v: fmt_number(v, ",.4f", "$"),
                 "change_fraction": lambda v: fmt_number(v, "+.0%", "%")},
        caption="TON volatility and price change by calendar year (a partial year covers fewer days)",
    )


def _sources_html(ctx: ReportContext) -> str:
    """Which venue each span comes from, snapshot or cache, gaps, and how fresh the last close is."""
    closes = ctx.ton_closes
    labelled = closes.assign(origin=day_origins(closes, read_snapshot("ton")))
    spans = source_spans(labelled, by=("source", "origin"))
    origin_word = {"snapshot": "embedded snapshot (data/snapshot)", "cache": "fetched cache (data/cache)"}
    table = table_html(
        spans,
        columns={"source": "venue", "origin": "stored in", "first": "first day (UTC)", "last": "last day (UTC)",
                 "days": "days"},
        formats={"origin": lambda o: html.escape(origin_word.get(o, o)), "days": lambda n: f"{n:,}"},
        caption="Sources of the TON/USD closes",
        css_class="text",
    )
    last_day = closes.index[-1].date()
    age_days = (ctx.generated_at.date() - last_day).days
    origin = closes.attrs.get("origin", "snapshot")
    gaps = missing_days(closes)
    gap_text = ("no missing days" if not gaps else
                f"{sum((b - a).days + 1 for a, b in gaps)} missing days in {len(gaps)} gaps, left out, not filled: "
                + ", ".join(f"{a}&ndash;{b}" if a != b else f"{a}" for a, b in gaps[:10])
                + (" &hellip;" if len(gaps) > 10 else ""))
    freshness = (
        f"<p>Series origin: <b>{html.escape(origin)}</b>. Last close {last_day}, "
        f"{age_days:,} days before this report was generated"
        + (" &mdash; <span class=\"warn\">run <code>cocoon-econ fetch prices</code> to bring it up to date</span>"
           if age_days > 7 else "")
        + f". {gap_text}.</p>"
    )
    return f"<h3>Sources and freshness</h3>{freshness}{table}{_disagreement_html(ctx)}"


def _disagreement_html(ctx: ReportContext) -> str:
    """How far the stored sources' closes differ where they overlap (nothing with the snapshot alone)."""
    from analysis.market.prices import source_disagreement

    pairs = source_disagreement("ton", cache_dir=ctx.cache_dir)
    if pairs.empty:
        return ""
    return table_html(
        pairs,
        columns={"source_a": "source", "source_b": "against", "days": "days in common",
                 "median_rel_diff": "median difference (%)", "max_rel_diff": "largest difference (%)",
                 "max_date": "on (UTC)"},
        formats={"days": lambda n: f"{n:,}", "median_rel_diff": lambda v: fmt_number(v, ".3%", "%"),
                 "max_rel_diff": lambda v: fmt_number(v, ".2%", "%")},
        caption="Where sources overlap: relative difference of their daily closes, |a / b - 1|",
        css_class="text",
    )
