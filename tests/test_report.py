"""The report as a whole: self-contained, plotly.js once, offline, navigable, charts labelled."""

from __future__ import annotations

import gc
import re
import time
from html.parser import HTMLParser
from pathlib import Path

import plotly.offline
import pytest

from analysis.cli.main import main
from analysis.core.resources import SCENARIO_DIR
from analysis.market.store import atomic_write_text
from analysis.report import ReportContext, build_sections, fmt_number, render_html, table_html


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[ReportContext, list, float]:
    """The sections of the default report, built once for this module (and how long it took),
    from the embedded data: an empty cache, whatever this machine has fetched."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("COCOON_ECON_CACHE", str(tmp_path_factory.mktemp("empty-cache")))
        ctx = ReportContext()
        t0 = time.perf_counter()
        sections = build_sections(ctx)
        return ctx, sections, time.perf_counter() - t0


@pytest.fixture(scope="module")
def sections(built):
    return built[1]


@pytest.fixture(scope="module")
def report(built, tmp_path_factory) -> tuple[Path, str, float]:
    """The default report as build_report writes it (build_report itself runs in the CLI tests)."""
    ctx, sections, seconds = built
    out = tmp_path_factory.mktemp("report") / "report.html"
    t0 = time.perf_counter()
    atomic_write_text(out, render_html(sections, ctx))
    return out, out.read_text(encoding="utf-8"), seconds + time.perf_counter() - t0


class _Tags(HTMLParser):
    """Every start tag with its attributes, plus the text of <script> elements."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"
        if self._in_script:
            self.scripts.append("")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts[-1] += data


def _parse(text: str) -> _Tags:
    parser = _Tags()
    parser.feed(text)
    return parser


def test_plotly_js_is_embedded_exactly_once(report):
    _, text, _ = report
    bundle = plotly.offline.get_plotlyjs()
    assert text.count(bundle) == 1
    # Its banner too (a second copy, even a different version, would repeat it).
    banner = re.match(r"/\*\*\s*\*\s*plotly\.js v[\d.]+", bundle).group(0)
    assert text.count(banner) == 1
    parsed = _parse(text)
    assert [s for s in parsed.scripts if len(s) > 1_000_000] == [bundle]


def test_report_opens_offline_no_external_resources(report):
    _, text, _ = report
    parsed = _parse(text)
    external = []
    for tag, attrs in parsed.tags:
        for attr in ("src", "href", "data", "srcset", "poster", "action"):
            value = (attrs.get(attr) or "").strip()
            if value and not value.startswith("#"):
                external.append((tag, attr, value))
        if tag == "link":
            external.append((tag, "link", str(attrs)))
    assert external == [], f"report refers to resources outside itself: {external[:5]}"
    css = "".join(re.findall(r"<style>(.*?)</style>", text, flags=re.S))
    assert "url(" not in css and "@import" not in css


def test_no_double_escaped_entities(report):
    _, text, _ = report
    body = text[text.index("</script>\n</head>"):]
    assert not re.findall(r"&amp;(?:[a-z]+|#\d+);", body)


def test_nav_links_every_section(report, sections):
    _, text, _ = report
    parsed = _parse(text)
    section_ids = [a["id"] for tag, a in parsed.tags if tag == "section"]
    nav_targets = [a["href"][1:] for tag, a in parsed.tags if tag == "a" and (a.get("href") or "").startswith("#")]
    assert section_ids == nav_targets
    assert len(section_ids) == len(sections) and len(set(section_ids)) == len(section_ids)
    assert {"ton", "provenance"} <= set(section_ids)


def test_one_plot_div_and_newplot_per_figure(report, sections):
    _, text, _ = report
    n_figures = sum(len(s.figures) for s in sections)
    assert n_figures >= 3
    assert text.count('class="plotly-graph-div"') == n_figures
    assert text.count("Plotly.newPlot(") == n_figures


def _axes(fig):
    layout = fig.layout.to_plotly_json()
    return {k: v for k, v in layout.items() if re.fullmatch(r"[xy]axis\d*", k)}


def test_every_chart_has_a_title_axis_labels_and_hover_text(sections):
    for section in sections:
        for fig in section.figures:
            title = fig.layout.title.text
            assert title, f"{section.title}: a figure without a title"
            cartesian = [t for t in fig.data if t.type in {"scatter", "scattergl", "bar", "heatmap", "histogram",
                                                            "box", "violin", "contour"}]
            if cartesian:
                for name, axis in _axes(fig).items():
                    # Shared (matching) and overlaid axes carry their label on the axis they follow.
                    if axis.get("visible") is False or axis.get("overlaying") or axis.get("matches"):
                        continue
                    assert (axis.get("title") or {}).get("text"), f"{title!r}: {name} has no label"
            # Hover text written for the reader (decorative traces, e.g. a fan band's edge, may skip it).
            hovers = [t for t in fig.data if t.hovertemplate or t.hovertext or t.text]
            assert hovers, f"{title!r}: no trace has hover text"


def test_ton_charts_label_units(sections):
    ton = next(s for s in sections if s.anchor == "ton")
    labels = [fig.layout.yaxis.title.text for fig in ton.figures]
    assert "USD per TON" in labels[0]
    assert "%" in labels[1] and "% per year" in labels[2]
    assert all(fig.layout.xaxis.title.text == "date (UTC)" for fig in ton.figures)


def test_report_builds_in_seconds(report):
    # A few seconds on an idle machine; the bound leaves room for a loaded CI runner.
    _, _, seconds = report
    assert seconds < 30, f"report took {seconds:.1f} s"


def test_cli_report_for_the_users_scenario(tmp_path, capsys):
    examples = sorted(SCENARIO_DIR.glob("*.toml"))
    if not examples:
        pytest.skip("no example scenarios")
    mine = tmp_path / "my setup.toml"
    text = re.sub(r"(?m)^name = .*$", 'name = "My own set-up"', examples[0].read_text(encoding="utf-8"), count=1)
    mine.write_text(text, encoding="utf-8")
    out = tmp_path / "sub" / "r.html"
    assert main(["report", "--scenario", str(mine), "--out", str(out)]) == 0
    assert gc.get_freeze_count() == 0   # the build's frozen heap is thawed for an in-process caller
    assert str(out) in capsys.readouterr().out
    text = out.read_text(encoding="utf-8")
    assert "My own set-up" in text and "my setup.toml" in text
    assert text.count(plotly.offline.get_plotlyjs()) == 1


@pytest.mark.parametrize("case", ["missing scenario", "out is a folder"])
def test_cli_report_bad_input_is_one_line_exit_2(tmp_path, capsys, case):
    args, field = {
        "missing scenario": (["--scenario", str(tmp_path / "no-such.toml"), "--out", str(tmp_path / "r.html")],
                             "--scenario"),
        "out is a folder": (["--out", str(tmp_path)], "--out"),
    }[case]
    assert main(["report", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and field in err
    assert list(tmp_path.iterdir()) == []


def test_cli_report_scenario_that_is_not_toml_is_one_line_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "unterminated\n', encoding="utf-8")
    assert main(["report", "--scenario", str(bad), "--out", str(tmp_path / "r.html")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "not valid TOML" in err and "bad.toml" in err
    assert not (tmp_path / "r.html").exists()


def test_cli_report_invalid_scenario_content_is_one_line_exit_2(tmp_path, capsys):
    pytest.importorskip("analysis.econ.scenario", reason="the economics engine is not merged yet")
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\n[workload]\nutilisation = -0.2\n', encoding="utf-8")
    assert main(["report", "--scenario", str(bad), "--out", str(tmp_path / "r.html")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "bad.toml" in err
    assert not (tmp_path / "r.html").exists()


def test_format_helpers():
    assert fmt_number(1234.5, ",.2f", "$") == "$1,234.50"
    assert fmt_number(-3.0, ",.2f", "$") == "-$3.00"
    assert fmt_number(0.125, ".1%", "%") == "12.5%"
    assert fmt_number(float("nan")) == "&ndash;" and fmt_number(None, missing="n/a") == "n/a"
    assert fmt_number(2.0, ".1f", "TON") == "2.0&nbsp;TON"
    html = table_html([{"a": "<x>", "b": 1.5}], columns={"a": "name", "b": "price (USD)"},
                      formats={"b": lambda v: fmt_number(v, ".2f", "$")})
    assert "&lt;x&gt;" in html and "<th>price (USD)</th>" in html and "<td>$1.50</td>" in html


def test_use_template_gives_update_layouts_json_and_an_own_copy():
    # The report's figures set their template without plotly re-validating it each time (issue 20):
    # the JSON must be what update_layout(template=...) writes, key for key, and each figure's
    # template its own (changing one leaves the next figure and the cached copy alone).
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from analysis.report.charts import TEMPLATE, use_template

    def build():
        fig = make_subplots(specs=[[{"secondary_y": True}]])
        fig.add_scatter(x=[1, 2, 3], y=[3.5, -1.0, 2.25], name="a")
        fig.add_scatter(x=[1, 2, 3], y=[10, 20, 30], name="b", secondary_y=True)
        fig.update_layout(title="t", legend=dict(orientation="h", y=-0.2))
        return fig

    expected = build().update_layout(template=TEMPLATE).to_json()
    fast = use_template(build())
    assert fast.to_json() == expected
    assert fast.layout.template.layout.paper_bgcolor == "white"
    fast.layout.template.layout.font.size = 31
    assert use_template(build()).to_json() == expected
    assert use_template(go.Figure()).to_json() == go.Figure().update_layout(template=TEMPLATE).to_json()
