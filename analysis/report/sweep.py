"""Report section: a sensitivity sweep (``cocoon-econ report --sweep results.parquet``).

Shown only when the report is given a sweep's results: heat maps of the break-even TON price over
two inputs (electricity price x utilisation when the grid has them) and of P(loss) over the hedge
ratio (or the input that moves it most) x strategy, then a tornado of the inputs' main effects on
the mean net USD, with a table of the same numbers and where every input came from.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go

from analysis.report import ReportContext, Section, fmt_number, table_html
from analysis.report.charts import sweep as charts

#: Preferred inputs of the break-even heat map, and of the P(loss) heat map, when the grid has them.
BREAK_EVEN_AXES = ("operations.electricity_usd_per_kwh", "workload.utilisation")
LOSS_AXIS = "treasury.hedge_ratio"


def build(ctx: ReportContext) -> Section | None:
    if ctx.sweep_path is None:
        return None
    from analysis.sweep.results import read_results

    return sweep_section(read_results(ctx.sweep_path), Path(ctx.sweep_path))


def sweep_section(frame: pd.DataFrame, path: Path | None = None) -> Section:
    """The section for a sweep's rows (:func:`analysis.sweep.results.read_results`)."""
    figures, notes = sweep_figures(frame)
    from analysis.sweep.results import main_effects

    manifest = frame.attrs["sweep"]
    effects = main_effects(frame, "mean_usd", _inputs(frame))
    table = table_html(effects, columns={"input": "input", "levels": "levels", "low_level": "level of the lowest mean",
                                         "low": "lowest mean (USD)", "high_level": "level of the highest mean",
                                         "high": "highest mean (USD)", "swing": "swing (USD)"},
                       formats={"low": _usd, "high": _usd, "swing": _usd,
                                "low_level": charts.level_text, "high_level": charts.level_text},
                       caption="Main effects on the mean net USD: each input's levels averaged over every other "
                               "input, the lowest and highest of those means")
    after = table + "".join(f'<p class="note">{html.escape(n)}</p>' for n in notes)
    return Section(title=f"Sensitivity sweep: {manifest['grid']}", intro_html=_intro(frame, path),
                   figures=figures, after_html=after, anchor="sweep")


def sweep_figures(frame: pd.DataFrame) -> tuple[list[go.Figure], list[str]]:
    """The section's figures and notes on what could not be drawn (also used by the notebook)."""
    from analysis.sweep.results import main_effects, pivot

    manifest = frame.attrs["sweep"]
    figures, notes = [], []
    assets = [a for a in manifest["market"] if a != "funding"]
    token = "RENDER" if assets == ["render"] else "TON"
    cells = frame.drop_duplicates("cell")
    pair = break_even_axes(frame)
    if cells["break_even_ton_usd"].notna().sum() == 0:
        notes.append("No break-even TON price heat map: income does not depend on the token price in this "
                     "scenario's pricing mode (usd_pegged/repriced), so there is no break-even price.")
    elif pair is None:
        notes.append("No break-even heat map: it needs two numeric inputs with more than one value.")
    else:
        x, y = pair
        table = pivot(cells, index=y, columns=x, value="break_even_ton_usd")
        others = _others(manifest["axes"], pair, frame)
        figures.append(charts.sweep_heatmap(
            table, title=f"Break-even {token} price (USD, all costs incl. depreciation) over {x} x {y}"
                         + (f"<br><sup>median over {others}</sup>" if others else ""),
            x_title=x, y_title=y, z_title=f"USD/{token}", z_format=",.3f", reverse=True))
    axis = loss_axis(frame)
    if axis is not None:
        table = pivot(frame, index="strategy", columns=axis, value="prob_loss")
        others = _others(manifest["axes"], (axis,), frame)
        figures.append(charts.sweep_heatmap(
            table, title=f"P(loss) over {axis} x strategy" + (f"<br><sup>median over {others}</sup>" if others else ""),
            x_title=axis, y_title="strategy", z_title="P(loss)", z_format=".0%", colorscale="RdYlGn",
            reverse=True))
    else:
        notes.append("No P(loss) heat map: no input takes more than one value.")
    inputs = _inputs(frame)
    if inputs:
        effects = main_effects(frame, "mean_usd", inputs)
        figures.append(charts.effects_tornado(
            effects, float(frame["mean_usd"].mean()),
            title=f"What moves the mean net USD most ({len(cells)} cells x {frame['strategy'].nunique()} strategies)"))
    return figures, notes


def break_even_axes(frame: pd.DataFrame) -> tuple[str, str] | None:
    """(x, y) of the break-even heat map: electricity price x utilisation when both vary, else the
    two numeric inputs whose main effects on the break-even price are largest."""
    from analysis.sweep.results import main_effects

    numeric = [a for a in _varying(frame) if pd.api.types.is_numeric_dtype(frame[a])
               and not pd.api.types.is_bool_dtype(frame[a])]
    if all(a in numeric for a in BREAK_EVEN_AXES):
        return BREAK_EVEN_AXES
    if len(numeric) < 2:
        return None
    effects = main_effects(frame.drop_duplicates("cell"), "break_even_ton_usd", numeric)
    top = effects["input"].tolist()[:2]
    return (top[0], top[1]) if len(top) == 2 else None


def loss_axis(frame: pd.DataFrame) -> str | None:
    """The input of the P(loss) heat map: the hedge ratio when it varies, else the input moving P(loss) most."""
    from analysis.sweep.results import main_effects

    varying = _varying(frame)
    if LOSS_AXIS in varying:
        return LOSS_AXIS
    if not varying:
        return None
    return str(main_effects(frame, "prob_loss", varying)["input"].iloc[0])


# --------------------------------------------------------------------------- helpers


def _varying(frame: pd.DataFrame) -> list[str]:
    return [a for a in frame.attrs["sweep"]["axes"] if frame[a].nunique(dropna=False) > 1]


def _inputs(frame: pd.DataFrame) -> list[str]:
    return _varying(frame) + (["strategy"] if frame["strategy"].nunique() > 1 else [])


def _others(axes: Sequence[str], shown: Sequence[str], frame: pd.DataFrame) -> str:
    rest = [a for a in axes if a not in shown and frame[a].nunique(dropna=False) > 1]
    return ", ".join(rest)


def _usd(value) -> str:
    return fmt_number(value, ",.0f")


def _intro(frame: pd.DataFrame, path: Path | None) -> str:
    m = frame.attrs["sweep"]
    sim = m["simulation"]
    missing = frame.attrs["missing_cells"]
    history = "; ".join(f"{asset.upper()} daily closes {v['first']} .. {v['last']} ({v['origin'] or 'cache'}, "
                        f"{v['days']} days)" for asset, v in m["market"].items() if asset != "funding")
    notes = m.get("simulation_notes", {})
    model = notes.get("model") or {}
    drift = f"drift {notes['drift']}" if notes.get("drift") else ""
    if sim["method"] == "gbm":
        vol = "given" if sim.get("vol_annual") is not None else "fitted to the history"
        fit = f"GBM paths, {drift}, volatility {model.get('vol_annual', float('nan')):.1%}/year ({vol})"
    elif sim["method"] == "bootstrap":
        fit = "stationary block bootstrap of the daily returns" + (f", {drift}" if drift else "")
    else:
        fit = f"{sim['method']} paths" + (f", {drift}" if drift else "")
    funding_text = str(notes.get("funding") or "")
    start = frame["start_price_usd"].dropna()
    start_text = f"{start.iloc[0]:.4f} USD" if len(start) else "n/a"
    parts = [
        f"<p>Grid <b>{html.escape(m['grid'])}</b>"
        + (f" ({html.escape(str(path))})" if path is not None else "")
        + f": {m['cells']} variants of <b>{html.escape(m['scenario'])}</b> ({m['mode']}"
        + f" of {', '.join(f'<code>{html.escape(a)}</code>' for a in m['axes'])}), each simulated on "
        f"{sim['paths']:,} {html.escape(sim['method'])} paths over "
        f"{sim['horizon_days'] or 'the scenario horizon of'} days under {len(m['strategies'])} strategies "
        f"({html.escape(', '.join(m['strategies']))}). Seed {m['seed']}; "
        + ("every cell on the same price paths (<code>same_paths</code>: differences between cells are the "
           "inputs' alone)" if sim.get("same_paths") else
           "cell <i>i</i> draws its own paths with <code>SeedSequence(seed, spawn_key=(i,))</code> (so "
           "neighbouring cells differ by sampling noise too)")
        + "; any cell can be rerun alone with <code>cocoon-econ simulate --seed</code> and its "
        "<code>seed</code> column.</p>",
        f"<p class=\"note\">Where the inputs came from: {html.escape(history)}; {html.escape(fit)}"
        + (f"; perp funding {html.escape(funding_text)}" if funding_text else "")
        + f"; paths start at {start_text} (the latest close unless [simulation] start_price). Every other input "
        "is the base scenario's (its throughput, utilisation and costs as documented in the scenario file). "
        "Net USD: cash, tokens and hedges liquidated at the end, hardware at book value. Break-even utilisation "
        "at the start price; break-even TON price with all costs incl. depreciation.</p>",
    ]
    if missing:
        parts.append(f'<p class="warn">{len(missing)} of {m["cells"]} cells have no results (failed or not run '
                     f"yet: {', '.join(map(str, missing[:10]))}{' ...' if len(missing) > 10 else ''}); run the "
                     "sweep again with --resume. The charts use the cells that finished.</p>")
    return "".join(parts)
