"""Assemble the self-contained HTML report (plotly.js embedded once, opens offline).

Each section lives in its own module with ``build(ctx) -> Section | None``
(``None``: nothing to show, e.g. no owner address configured).
"""

from __future__ import annotations

import html
import importlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import plotly.graph_objects as go
import plotly.offline

from analysis import __version__
from analysis.store import atomic_write_text

# Order of the report.
SECTION_MODULES = (
    "analysis.report.summary",
    "analysis.report.ton",
    "analysis.report.breakeven",
    "analysis.report.hedging",
    "analysis.report.rates",
    "analysis.report.compare",
    "analysis.report.chain",
    "analysis.report.provenance",
)


@dataclass
class ReportContext:
    """What every section may use. Sections load their own data through the package."""

    scenario_files: list[Path] | None = None  # None: the shipped examples
    cache_dir: Path | None = None
    generated_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))


@dataclass
class Section:
    """One report section: a title, HTML paragraphs/tables and plotly figures."""

    title: str
    intro_html: str = ""
    figures: list[go.Figure] = field(default_factory=list)
    after_html: str = ""
    anchor: str = ""


def build_sections(ctx: ReportContext) -> list[Section]:
    """Build every section that has something to show, in report order."""
    sections = []
    for name in SECTION_MODULES:
        section = importlib.import_module(name).build(ctx)
        if section is not None:
            sections.append(section)
    return sections


def render_html(sections: list[Section], ctx: ReportContext) -> str:
    """The full HTML document."""
    nav = "".join(f'<li><a href="#{_anchor(s, i)}">{html.escape(s.title)}</a></li>'
                  for i, s in enumerate(sections))
    body = []
    for i, s in enumerate(sections):
        figs = "".join(
            f'<div class="figure">{fig.to_html(full_html=False, include_plotlyjs=False, config={"responsive": True})}</div>'
            for fig in s.figures)
        body.append(f'<section id="{_anchor(s, i)}"><h2>{html.escape(s.title)}</h2>'
                     f'{s.intro_html}{figs}{s.after_html}</section>')
    stamp = ctx.generated_at.strftime("%Y-%m-%d %H:%M UTC")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>cocoon-econ report</title>
<style>{_CSS}</style>
<script type="text/javascript">{plotly.offline.get_plotlyjs()}</script>
</head><body>
<header><h1>Serving inference on COCOON: break-even, volatility and comparison</h1>
<p class="meta">cocoon-econ {__version__} &middot; generated {stamp}</p>
<nav><ol>{nav}</ol></nav></header>
{''.join(body)}
</body></html>
"""


def build_report(out: str | Path = "reports/report.html", scenario_files: list[Path] | None = None,
                 cache_dir: Path | None = None) -> Path:
    """Build the report and write it atomically to ``out``; returns the path."""
    ctx = ReportContext(scenario_files=scenario_files, cache_dir=cache_dir)
    return atomic_write_text(out, render_html(build_sections(ctx), ctx))


def _anchor(section: Section, i: int) -> str:
    return section.anchor or f"section-{i + 1}"


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1180px;margin:0 auto;padding:1rem 2rem;color:#1d2330;line-height:1.5}
h1{font-size:1.7rem;margin-bottom:.2rem}h2{border-bottom:2px solid #e3e7ee;padding-bottom:.3rem;margin-top:2.5rem}
.meta{color:#6b7385;margin-top:0}nav ol{columns:2;font-size:.95rem}
table{border-collapse:collapse;margin:1rem 0;font-size:.92rem}th,td{border:1px solid #dde2ea;padding:.35rem .6rem;text-align:right}
th{background:#f3f5f9}td:first-child,th:first-child{text-align:left}
.figure{margin:1rem 0}.note{color:#5a6275;font-size:.9rem}
.good{color:#11734b;font-weight:600}.bad{color:#b3261e;font-weight:600}
"""
