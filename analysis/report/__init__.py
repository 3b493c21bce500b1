"""Assemble the self-contained HTML report (plotly.js embedded once, opens offline).

Each section lives in its own module with ``build(ctx) -> Section | None``
(``None``: nothing to show, e.g. no owner address configured). Sections load their data
through the package; :class:`ReportContext` caches what several of them share (the TON
closes, the scenario files) and :func:`table_html` / :func:`fmt_number` format tables and
numbers with their units.
"""

from __future__ import annotations

import html
import importlib
import math
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import plotly.offline

from analysis import __version__
from analysis.core.errors import InputError
from analysis.core.outputs import check_output
from analysis.core.resources import SCENARIO_DIR
from analysis.market.store import atomic_write_text

# Order of the report.
SECTION_MODULES = (
    "analysis.report.summary",
    "analysis.report.ton",
    "analysis.report.breakeven",
    "analysis.report.hedging",
    "analysis.report.rates",
    "analysis.report.compare",
    "analysis.report.network",
    "analysis.report.chain",
    "analysis.report.sweep",        # only with a sweep's results (report --sweep)
    "analysis.report.provenance",
)

# Every figure div is this tall unless its layout sets a height.
FIGURE_HEIGHT = "460px"


@dataclass
class ReportContext:
    """What every section may use. Sections load their own data through the package."""

    scenario_files: list[Path] | None = None  # None: the shipped examples
    cache_dir: Path | None = None
    sweep_path: Path | None = None             # a sweep's results (cocoon-econ sweep --out)
    generated_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    currency: str = "USD"  # every amount, axis and table of the report (docs/currency.md)
    # scenarios read once for every section (they are frozen), keyed by the path as given
    _scenarios: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def scenario(self, path: str | Path):
        """The scenario at ``path`` in the report's currency (read and converted once per report)."""
        key = str(path)
        if key not in self._scenarios:
            from analysis.econ.currency import scenario_in_currency
            from analysis.econ.scenario import load_scenario

            self._scenarios[key] = scenario_in_currency(load_scenario(path), self.currency)
        return self._scenarios[key]

    def scenario_paths(self) -> list[Path]:
        """The scenario files the report covers: the user's, else ``data/scenarios/*.toml``."""
        if self.scenario_files is not None:
            return [Path(p) for p in self.scenario_files]
        return sorted(SCENARIO_DIR.glob("*.toml"))

    @cached_property
    def ton_closes(self) -> pd.DataFrame:
        """The canonical TON/USD daily closes (:func:`analysis.market.prices.daily_closes`), loaded once."""
        from analysis.market.prices import daily_closes

        return daily_closes("ton", cache_dir=self.cache_dir, currency=self.currency)

    @cached_property
    def _rates(self) -> pd.DataFrame | None:
        from analysis.core.errors import DataError
        from analysis.market.rates import all_rates

        try:
            return all_rates(self.cache_dir)
        except DataError:  # a damaged fetched history: each section reads and reports it its own way
            return None

    def all_rates(self) -> pd.DataFrame | None:
        """:func:`analysis.market.rates.all_rates`, read once per report (a copy each call), or None
        when the fetched history cannot be read."""
        return None if self._rates is None else self._rates.copy()

    @property
    def latest_ton_usd(self) -> tuple[float, pd.Timestamp]:
        """The latest TON close in USD and its date (from the series loaded once)."""
        closes = self.ton_closes
        return float(closes["close_usd"].iloc[-1]), closes.index[-1]

    def latest_close(self, asset: str) -> tuple[float, pd.Timestamp]:
        """The latest USD close of ``asset`` (``"ton"`` or ``"render"``) and its date."""
        if asset == "ton":
            return self.latest_ton_usd
        from analysis.market.prices import latest_close

        latest = latest_close(asset, self.cache_dir, currency=self.currency)
        return latest.close_usd, pd.Timestamp(latest.day)


@dataclass
class Section:
    """One report section: a title, HTML paragraphs/tables and plotly figures."""

    title: str
    intro_html: str = ""
    figures: list[go.Figure] = field(default_factory=list)
    after_html: str = ""
    anchor: str = ""


def check_scenario_files(paths: Iterable[str | Path] | None) -> list[Path] | None:
    """Check that every scenario file exists and reads as a scenario (one-line InputError if not)."""
    if paths is None:
        return None
    checked = []
    for raw in paths:
        path = Path(raw)
        if not path.is_file():
            raise InputError(f"--scenario: no such file {str(path)!r}; give the path of a scenario TOML file "
                             f"(examples in {SCENARIO_DIR})")
        try:
            tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"--scenario: {path} is not valid TOML ({' '.join(str(exc).split())}); "
                             "fix the file (examples: cocoon-econ init --list)") from None
        checked.append(path)
    from analysis.econ.scenario import load_scenario

    for path in checked:
        load_scenario(path)  # raises InputError naming the bad field
    return checked


def build_sections(ctx: ReportContext) -> list[Section]:
    """Build every section that has something to show, in report order."""
    sections = []
    for name in SECTION_MODULES:
        section = importlib.import_module(name).build(ctx)
        if section is not None:
            sections.append(section)
    return sections


def figure_html(fig: go.Figure) -> str:
    """One figure's ``<div>`` and its ``Plotly.newPlot`` call; plotly.js itself is in the page head."""
    return fig.to_html(full_html=False, include_plotlyjs=False, default_height=FIGURE_HEIGHT,
                       config={"responsive": True, "displaylogo": False})


def render_html(sections: list[Section], ctx: ReportContext) -> str:
    """The full HTML document."""
    nav = "".join(f'<li><a href="#{_anchor(s, i)}">{html.escape(s.title)}</a></li>'
                  for i, s in enumerate(sections))
    body = []
    for i, s in enumerate(sections):
        figs = "".join(f'<div class="figure">{_in_currency(figure_html(fig), ctx.currency)}</div>' for fig in s.figures)
        body.append(f'<section id="{_anchor(s, i)}"><h2>{_in_currency(html.escape(s.title), ctx.currency)}</h2>'
                    f'{_in_currency(s.intro_html, ctx.currency)}{figs}'
                    f'{_in_currency(s.after_html, ctx.currency)}</section>')
    stamp = ctx.generated_at.strftime("%Y-%m-%d %H:%M UTC")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>cocoon-econ report</title>
<style>{_CSS}</style>
<script type="text/javascript">{plotly.offline.get_plotlyjs()}</script>
</head><body>
<header><h1>Serving inference on COCOON: break-even, volatility and comparison</h1>
<p class="meta">cocoon-econ {__version__} &middot; generated {stamp} &middot; money in {ctx.currency}{_fx_origin(ctx.currency)}, token amounts
in TON, dates are UTC days, volatility annualised over 365 days</p>
<nav><ol>{nav}</ol></nav></header>
<main>{''.join(body)}</main>
<footer><p class="note">Self-contained: this file needs no network. Charts are interactive (hover for
values, drag to zoom, double-click to reset).</p></footer>
</body></html>
"""


def _fx_origin(currency: str) -> str:
    if currency == "USD":
        return ""
    # The page header is not relabelled: USD here is the dollar itself.
    return (f" (TON/{currency} = TON/USD close &times; {currency} per US dollar of the day, ECB euro "
            "reference rates; the scenarios' costs converted at their start day's rate)")


def _in_currency(text: str, currency: str) -> str:
    """Section HTML and figure JSON with the unit USD named ``currency``: text ``USD`` and the
    dollar signs of :func:`fmt_number` and of plotly's ``$`` number formats."""
    if currency == "USD":
        return text
    from analysis.econ.currency import relabel_text

    text = relabel_text(text, currency)
    # plotly's JSON escapes "<", ">" and "/" (\u003c, \u003e, \u002f): a unit right after one of them
    text = re.sub(r"(\\u00(?:3c|3e|2f))USD(?![\w-])", lambda m: m.group(1) + currency, text)
    text = re.sub(r"(-?)\$(?=\d)", lambda m: f"{m.group(1)}{currency}\u00a0", text)   # fmt_number(unit="$")
    return re.sub(r"([:{])\$([,.0-9])", r"\1\2", text).replace('"tickprefix":"$"', f'"ticksuffix":" {currency}"')


def build_report(out: str | Path = "reports/report.html", scenario_files: list[Path] | None = None,
                 cache_dir: Path | None = None, sweep_file: Path | None = None,
                 currency: str | None = None) -> Path:
    """Build the report and write it atomically to ``out``; returns the path.

    Raises
    ------
    InputError
        A scenario file is missing or invalid, ``sweep_file`` is not a sweep's results (checked
        before anything is built), or ``out`` cannot be written.
    """
    target = check_output("--out", out, "report.html")  # a regular file, symlinks followed (issue 13)
    if sweep_file is not None:
        from analysis.sweep.results import read_results

        read_results(sweep_file)  # raises InputError naming the file
    from analysis.market.fx import check_currency

    ctx = ReportContext(scenario_files=check_scenario_files(scenario_files), cache_dir=cache_dir,
                        sweep_path=None if sweep_file is None else Path(sweep_file),
                        currency=check_currency(currency or "USD"))
    text = render_html(build_sections(ctx), ctx)
    try:
        atomic_write_text(target, text)
        return Path(out)
    except OSError as exc:
        raise InputError(f"--out: cannot write {str(out)!r} ({exc.strerror or exc}); "
                         "choose a writable file path") from None


def _anchor(section: Section, i: int) -> str:
    return section.anchor or f"section-{i + 1}"


# ---------------------------------------------------------------------------------------------
# Formatting helpers for section modules.

def fmt_number(value: Any, fmt: str = ",.2f", unit: str = "", missing: str = "&ndash;") -> str:
    """``value`` formatted with ``fmt`` and a unit (``"USD"``, ``"%"``...); ``missing`` for None/NaN.

    ``unit="$"`` prefixes a dollar sign; ``unit="%"`` expects a fraction and uses a % format.
    """
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return missing
    if unit == "$":
        return f"-${-value:{fmt}}" if value < 0 else f"${value:{fmt}}"
    if unit == "%":
        return f"{value:{fmt if fmt.endswith('%') else '.1%'}}"
    text = f"{value:{fmt}}"
    return f"{text}&nbsp;{html.escape(unit)}" if unit else text


def table_html(rows: pd.DataFrame | Sequence[Mapping[str, Any]], columns: Mapping[str, str] | None = None,
               formats: Mapping[str, Callable[[Any], str]] | None = None, caption: str = "",
               escape: bool = True, css_class: str = "") -> str:
    """An HTML table.

    Parameters
    ----------
    rows
        A DataFrame (its index is ignored) or a list of mappings.
    columns
        ``{key: header}`` in display order (headers should carry units); default: every column.
    formats
        ``{key: callable}`` returning the cell's HTML (not escaped again); other cells are
        ``str(value)``, HTML-escaped when ``escape``.
    """
    frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
    columns = dict(columns) if columns is not None else {c: str(c) for c in frame.columns}
    formats = formats or {}
    head = "".join(f"<th>{html.escape(h)}</th>" for h in columns.values())
    body = []
    for record in frame.to_dict("records"):
        cells = []
        for key in columns:
            value = record.get(key)
            if key in formats:
                cell = formats[key](value)
            elif value is None or (isinstance(value, float) and math.isnan(value)):
                cell = ""
            else:
                cell = html.escape(str(value)) if escape else str(value)
            cells.append(f"<td>{cell}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    cap = f"<caption>{caption}</caption>" if caption else ""
    cls = f' class="{css_class}"' if css_class else ""
    return f'<div class="table-wrap"><table{cls}>{cap}<thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1180px;margin:0 auto;padding:1rem 2rem;color:#1d2330;line-height:1.5}
h1{font-size:1.7rem;margin-bottom:.2rem}h2{border-bottom:2px solid #e3e7ee;padding-bottom:.3rem;margin-top:2.5rem}
h3{margin-top:1.6rem;font-size:1.1rem}
.meta{color:#6b7385;margin-top:0}nav ol{columns:2;font-size:.95rem}
.table-wrap{overflow-x:auto}
table{border-collapse:collapse;margin:1rem 0;font-size:.92rem}th,td{border:1px solid #dde2ea;padding:.35rem .6rem;text-align:right;vertical-align:top}
th{background:#f3f5f9}td:first-child,th:first-child{text-align:left}
caption{caption-side:top;text-align:left;font-weight:600;padding:.2rem 0}
table.text{width:100%}table.text td{text-align:left;overflow-wrap:break-word}table.text th{text-align:left}
.figure{margin:1rem 0}.note{color:#5a6275;font-size:.9rem}
.good{color:#11734b;font-weight:600}.bad{color:#b3261e;font-weight:600}.warn{color:#8a5a00;font-weight:600}
.kpis{display:flex;flex-wrap:wrap;gap:.8rem;margin:1rem 0;padding:0;list-style:none}
.kpis li{border:1px solid #dde2ea;border-radius:6px;padding:.5rem .8rem;min-width:10rem}
.kpis b{display:block;font-size:1.25rem}.kpis span{color:#5a6275;font-size:.85rem}
code{background:#f3f5f9;padding:0 .2rem;border-radius:3px}
footer{margin-top:3rem;border-top:1px solid #e3e7ee}
"""
