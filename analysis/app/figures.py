"""The page's own figures (the others are the report's, :mod:`analysis.report.charts`).

They are built as plain Plotly JSON (dicts) rather than through ``plotly.graph_objects``: the
profit chart is redrawn on every change of an input, and validating a figure object with
spanning lines costs more than the economics behind it (about 100 ms against 1 ms).
"""

from __future__ import annotations

import functools
import json
from typing import Any

import numpy as np

from analysis.report.charts.hedging import COLOURS, LABELS, _rgba
from analysis.sim.risk import FAN_PERCENTILES


@functools.cache
def _template() -> dict[str, Any]:
    import plotly.io as pio

    return pio.templates["plotly_white"].to_plotly_json()


def _layout(title: str, x_title: str, y_title: str, **extra) -> dict[str, Any]:
    return {"title": {"text": title}, "xaxis": {"title": {"text": x_title}}, "yaxis": {"title": {"text": y_title}},
            "template": _template(), "legend": {"orientation": "h", "y": -0.25},
            "margin": {"t": 60, "r": 20}, **extra}


def _vline(x: float, colour: str, text: str, dash: str = "dash", where: float = 1.0) -> tuple[dict, dict]:
    shape = {"type": "line", "xref": "x", "yref": "paper", "x0": x, "x1": x, "y0": 0, "y1": 1,
             "line": {"color": colour, "dash": dash, "width": 1.5}}
    note = {"x": x, "y": where, "xref": "x", "yref": "paper", "text": text, "showarrow": False,
            "xanchor": "left", "yanchor": "top" if where == 1.0 else "bottom", "font": {"color": colour}}
    return shape, note


def profit_against_price(curve: dict, summary: dict) -> dict[str, Any]:
    """Monthly profit (all costs, and cash costs only) against the token price, with the
    break-even prices and the price used marked."""
    token = summary.get("token", "TON")
    x = curve["token_usd"]
    data = [
        {"type": "scatter", "x": x, "y": curve["profit_usd_per_month"], "mode": "lines",
         "name": "profit, all costs incl. depreciation", "line": {"color": "#1f77b4", "width": 2},
         "hovertemplate": f"{token} %{{x:.3f}} USD: %{{y:,.0f}} USD/month<extra>all costs</extra>"},
        {"type": "scatter", "x": x, "y": curve["cash_profit_usd_per_month"], "mode": "lines",
         "name": "profit, cash costs only", "line": {"color": "#2ca02c", "width": 2, "dash": "dot"},
         "hovertemplate": f"{token} %{{x:.3f}} USD: %{{y:,.0f}} USD/month<extra>cash costs</extra>"},
    ]
    shapes = [{"type": "line", "xref": "paper", "yref": "y", "x0": 0, "x1": 1, "y0": 0, "y1": 0,
               "line": {"color": "#888", "width": 1}}]
    notes = []
    for key, label, colour in (("break_even_ton_usd", "break-even, all costs", "#1f77b4"),
                               ("break_even_ton_usd_cash", "break-even, cash", "#2ca02c")):
        value = summary.get(key)
        if value is not None and 0 < value <= x[-1]:
            shape, note = _vline(value, colour, f"{label}: {value:.3f}", where=1.0 if "cash" not in key else 0.9)
            shapes.append(shape)
            notes.append(note)
    shape, note = _vline(summary["ton_usd"], "#b3261e", f"price used: {summary['ton_usd']:.3f}", "solid", 0.0)
    shapes.append(shape)
    notes.append(note)
    return {"data": data, "layout": _layout(
        f"Monthly profit against the {token} price ({summary['utilisation']:.0%} utilisation)",
        f"{token} price (USD per {token})", "profit (USD per month)", shapes=shapes, annotations=notes)}


def fan_chart(band: np.ndarray, strategy: str, title: str,
              percentiles: tuple[int, ...] = FAN_PERCENTILES) -> dict[str, Any]:
    """P5-P95 and P25-P75 bands and the median of one strategy's cumulative net USD per day."""
    band = np.asarray(band, dtype=float)
    index = {p: i for i, p in enumerate(percentiles)}
    days = list(range(band.shape[1]))
    colour = COLOURS.get(strategy, "#444444")
    label = LABELS.get(strategy, strategy)
    data = []
    for lo, hi, alpha in ((5, 95, 0.18), (25, 75, 0.35)):
        data.append({"type": "scatter", "x": days, "y": band[index[hi]].tolist(), "mode": "lines",
                     "line": {"width": 0}, "showlegend": False, "hoverinfo": "skip"})
        data.append({"type": "scatter", "x": days, "y": band[index[lo]].tolist(), "mode": "lines",
                     "line": {"width": 0}, "fill": "tonexty", "fillcolor": _rgba(colour, alpha),
                     "name": f"P{lo}-P{hi}", "customdata": band[index[hi]].tolist(),
                     "hovertemplate": f"day %{{x}}<br>P{lo}: %{{y:,.0f}} USD<br>P{hi}: %{{customdata:,.0f}} USD"
                                      "<extra></extra>"})
    data.append({"type": "scatter", "x": days, "y": band[index[50]].tolist(), "mode": "lines",
                 "line": {"color": colour, "width": 2}, "name": "median",
                 "hovertemplate": "day %{x}<br>median %{y:,.0f} USD<extra></extra>"})
    shapes = [{"type": "line", "xref": "paper", "yref": "y", "x0": 0, "x1": 1, "y0": 0, "y1": 0,
               "line": {"color": "#999", "width": 1}}]
    return {"data": data, "layout": _layout(title, "day", f"cumulative net USD ({label})", shapes=shapes)}


@functools.lru_cache(maxsize=32)
def _provider_base(gpu: str, network: str, alternatives_json: str, columns: tuple[str, ...]) -> dict[str, Any]:
    import pandas as pd

    from analysis.report.charts.compare import provider_bars

    # no rental prices on record for the GPU: no bars, the network's line alone
    alternatives = pd.DataFrame(json.loads(alternatives_json), columns=list(columns))
    return provider_bars(0.0, alternatives, network, _provider_title(gpu, network)).to_plotly_json()


def _provider_title(gpu: str, network: str) -> str:
    return f"{gpu}: USD per GPU-hour on {network} against renting it out"


def provider_chart(gpu: str, network: str, network_usd_per_gpu_hour: float, alternatives: list[dict],
                   columns: list[str]) -> dict:
    """The report's :func:`~analysis.report.charts.compare.provider_bars`, drawn once per GPU and
    network; each change only moves the network's income line (the bars are the rental history)."""
    base = _provider_base(gpu, network, json.dumps(alternatives, sort_keys=True, default=str), tuple(columns))
    return provider_bars_income(base, network, network_usd_per_gpu_hour)


def provider_bars_income(base: dict[str, Any], network: str, value: float) -> dict[str, Any]:
    """``base`` (provider_bars at income 0) with the income line and its label at ``value``."""
    layout = dict(base["layout"])
    layout["shapes"] = [dict(s, y0=value, y1=value) if s.get("yref") == "y" and s.get("y0") == s.get("y1") else s
                        for s in base["layout"].get("shapes", ())]
    text = f"{network}: {value:.2f} USD/GPU-h"
    layout["annotations"] = [dict(a, y=value, text=text) if str(a.get("text", "")).startswith(f"{network}: ") else a
                             for a in base["layout"].get("annotations", ())]
    return {"data": base["data"], "layout": layout}
