"""Report section: assumptions and provenance -- every parameter with its source and date.

Renders the scenario files (each value with the comment that cites its source), the vendored
reference tables (``data/reference/*.csv``, values exactly as stored) and the provenance of
the embedded price snapshot (``data/README.md`` plus the venue spans found in the files).
"""

from __future__ import annotations

import html
import re
import tomllib
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.core.errors import CocoonEconError
from analysis.core.resources import DATA_DIR, REFERENCE_DIR
from analysis.market.prices import read_snapshot
from analysis.market.series import source_spans
from analysis.report import ReportContext, Section, table_html

# The parameter tables, in the order shown, with what they hold.
REFERENCE_TABLES = {
    "network_parameters.csv": "COCOON pricing and payout rules (mainnet values and code defaults), Render "
                              "Network, TON fees and staking yield.",
    "hardware_and_costs.csv": "GPU and server prices, power draw, electricity, colocation, PUE, depreciation lives.",
    "inference_throughput.csv": "Measured LLM serving throughput per GPU (tokens per second).",
    "gpu_rates_reference.csv": "Dated GPU rental prices: hyperscalers, neoclouds, marketplaces and price indices.",
    "api_token_prices.csv": "Centralised inference API prices (USD per million tokens) and COCOON's derived equivalent.",
    "inference_throughput_cocoon.csv": "Measured serving throughput per GPU for the small models COCOON runs, with "
                                       "engine, concurrency and lengths: scenarios without output_tokens_per_s take "
                                       "the row nearest COCOON's stack (TP 1, at most 60 concurrent requests).",
    "cc_mode_overhead.csv": "Measured throughput overhead of GPU confidential computing: the default "
                            "cc_overhead_fraction and its range.",
    "tdx_host_server_prices.csv": "Host server and card prices for TDX-capable PCIe set-ups (no sourced H100 NVL / "
                                  "H200 NVL card price exists).",
    "gpu_resale_prices.csv": "Used and secondary-market GPU prices and published age curves (2023-2026): what a card "
                             "would sell for.",
    "gpu_resale_curve.csv": "The resale curve NPV and the simulation value hardware at: residual fraction of the new "
                            "price by age, derived from gpu_resale_prices.csv (log-linear in age between points).",
    "cocoon_network_activity.csv": "A public crawl of COCOON's contracts (2026-04-07): the reference figure behind "
                                   'utilisation = "observed" when no chain reading is cached.',
    "ton_funding_readings.csv": "TON perpetual funding snapshots across venues (2024-2026), mostly negative: the "
                                "fixed rates the report prices the perp hedge at.",
}
# Time series vendored next to them: summarised, not listed row by row.
FUNDING_TABLE = "ton_funding_binance.csv"


def build(ctx: ReportContext) -> Section:
    """Scenario parameters, reference tables and snapshot provenance as HTML tables."""
    parts = [
        _scenarios_html(ctx.scenario_paths()),
        "<h3>Reference tables</h3><p>Compiled facts, one row per fact, each with the date it was observed "
        "and its source, vendored in <code>data/reference/</code> and shown here exactly as stored. Rows "
        "marked <code>low</code> confidence come from secondary pages; prefer a live fetch where one "
        "exists (<code>cocoon-econ fetch &hellip;</code>).</p>",
    ]
    for name, about in REFERENCE_TABLES.items():
        parts.append(_reference_html(REFERENCE_DIR / name, about))
    parts.append(_snapshot_html())
    intro = ("<p>Where every number in this report comes from: the scenario files (each value with the "
             "source its comment cites), the reference tables the defaults come from, and the embedded "
             "price history. Dates are when a figure was observed (UTC).</p>")
    return Section(title="Assumptions and provenance", anchor="provenance", intro_html=intro,
                   after_html="".join(parts))


# ---------------------------------------------------------------------------------------------
# Scenarios

def scenario_parameters(path: Path) -> list[dict[str, Any]]:
    """Every value set in a scenario TOML file with the comment on its line (its cited source).

    Returns
    -------
    list of ``{"parameter": "table.key", "value": ..., "comment": str}`` in file order.
    """
    text = path.read_text(encoding="utf-8")
    values = _flatten(tomllib.loads(text))
    comments = _line_comments(text)
    return [{"parameter": key, "value": value, "comment": comments.get(key, "")} for key, value in values.items()]


def effective_parameters(path: Path) -> list[dict[str, Any]]:
    """:func:`scenario_parameters` plus every value the file leaves to its default, as the economics
    engine reads the scenario (``analysis.econ.scenario.to_mapping``); defaults are marked as such."""
    from analysis.econ.scenario import load_scenario, to_mapping

    rows = scenario_parameters(path)
    try:
        scenario = load_scenario(path)
    except CocoonEconError:  # build_report validates first; a partial file still shows what it sets
        return rows
    seen = {r["parameter"] for r in rows}
    effective = _flatten(to_mapping(scenario))
    looked_up = _looked_up_comments(scenario)
    for key, value in effective.items():
        if key not in seen:
            rows.append({"parameter": key, "value": value,
                         "comment": looked_up.get(key, "default (not set in the file)")})
    order = {key: i for i, key in enumerate(effective)}
    return sorted(rows, key=lambda r: order.get(r["parameter"], -1))


def _looked_up_comments(scenario) -> dict[str, str]:
    """Comments for the [workload] values taken from the reference tables (issue 15)."""
    source = scenario.workload.throughput_source
    if not source.startswith("reference:"):
        return {}
    from analysis.econ.throughput import cc_overhead_default

    row = f"default (not set in the file): {source.removeprefix('reference:').strip()}"
    return {"workload.output_tokens_per_s": row, "workload.prompt_tokens_per_output_token": row,
            "workload.throughput_source": "default (not set in the file): the reference row used",
            "workload.cc_overhead_fraction": f"default (not set in the file): {cc_overhead_default().describe()}"}


def _throughput_html(path: Path) -> str:
    """Where the scenario's throughput comes from (the line ``breakeven`` prints), or nothing."""
    try:
        from analysis.econ.scenario import load_scenario
        from analysis.econ.throughput import describe_throughput, throughput_lines
    except ImportError:
        return ""
    try:
        scenario = load_scenario(path)
    except CocoonEconError:
        return ""
    if scenario.network.name == "render" and not scenario.workload.output_tokens_per_s:
        return ""
    lines = throughput_lines(describe_throughput(scenario.workload, scenario.hardware.gpu))
    return "<p>" + "<br>".join(html.escape(line) for line in lines) + "</p>"


def _flatten(mapping: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, f"{name}."))
        else:
            out[name] = value
    return out


_TABLE_HEADER = re.compile(r"^\s*\[([A-Za-z0-9_.\-]+)\]\s*(#.*)?$")


def _line_comments(text: str) -> dict[str, str]:
    """``{"table.key": comment}`` for ``key = value  # comment`` lines (the comment starts at the
    first ``#`` after which the line's value is complete TOML)."""
    comments: dict[str, str] = {}
    table = ""
    for line in text.splitlines():
        header = _TABLE_HEADER.match(line)
        if header:
            table = header.group(1) + "."
            continue
        if "=" not in line or line.lstrip().startswith("#"):
            continue
        for pos in [m.start() for m in re.finditer("#", line)]:
            try:
                parsed = tomllib.loads(line[:pos])
            except tomllib.TOMLDecodeError:
                continue
            if len(parsed) == 1:
                key = next(iter(parsed))
                comments[table + key] = line[pos + 1:].strip()
            break
    return comments


def _scenarios_html(paths: list[Path]) -> str:
    if not paths:
        return ("<h3>Scenarios</h3><p>No scenario files (add TOML files to <code>data/scenarios/</code> "
                "or pass <code>--scenario FILE</code>).</p>")
    parts = ["<h3>Scenarios</h3><p>Every value of each scenario, with the source its comment in the file "
             "cites. Keys a file leaves out take their defaults (marked; the COCOON ones come from "
             "<code>network_parameters.csv</code> below).</p>"]
    for path in paths:
        rows = effective_parameters(path)
        name = next((r["value"] for r in rows if r["parameter"] == "name"), path.stem)
        parts.append(
            f"<details><summary><b>{html.escape(str(name))}</b> &middot; <code>{html.escape(_shown_path(path))}</code>"
            f" &middot; {len(rows)} values, {sum(r['comment'].startswith('default') for r in rows)} defaults</summary>"
            + table_html(rows, columns={"parameter": "parameter", "value": "value", "comment": "source / note"},
                         formats={"value": _toml_value_html}, css_class="text")
            + "</details>" + _throughput_html(path))
    return "".join(parts)


def _toml_value_html(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return html.escape(f'"{value}"')
    return html.escape(str(value))


def _shown_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(DATA_DIR.parent))
    except ValueError:
        return str(path)


# ---------------------------------------------------------------------------------------------
# Reference tables and snapshot

def read_reference_table(path: Path) -> pd.DataFrame:
    """A reference CSV with every cell as the text stored (no float rounding, blanks stay blank)."""
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _reference_html(path: Path, about: str) -> str:
    frame = read_reference_table(path)
    return (f"<details open><summary><code>{html.escape(path.name)}</code> &middot; {len(frame)} rows &middot; "
            f"{html.escape(about)}</summary>"
            + table_html(frame, css_class="text") + "</details>")


def readme_snapshot_rows(readme: Path = DATA_DIR / "README.md") -> list[dict[str, str]]:
    """The rows of the table under ``## snapshot/`` in ``data/README.md`` (file, span, provenance)."""
    rows: list[dict[str, str]] = []
    header: list[str] | None = None
    in_section = False
    for line in readme.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            in_section = line.strip().rstrip("/") == "## snapshot"
            continue
        if not in_section or not line.startswith("|"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if header is None:
            header = cells
        elif not all(set(c) <= set("-: ") for c in cells):
            rows.append(dict(zip(header, cells)))
    return rows


def _markdown_cell(text: str) -> str:
    """Escape, then render inline ``code``."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text))


def _snapshot_html() -> str:
    readme_rows = readme_snapshot_rows()
    described = table_html(readme_rows, columns={"file": "file", "span": "span", "provenance": "provenance"},
                           formats={k: _markdown_cell for k in ("file", "span", "provenance")},
                           caption="Embedded daily closes (data/README.md)", css_class="text")
    spans = []
    for asset in ("ton", "render"):
        frame = source_spans(read_snapshot(asset))
        spans.append(frame.assign(asset=asset.upper()))
    span_table = table_html(pd.concat(spans, ignore_index=True),
                            columns={"asset": "asset", "source": "venue", "first": "first day (UTC)",
                                     "last": "last day (UTC)", "days": "days"},
                            caption="Venue of each span, as found in the snapshot files", css_class="text")
    funding = read_reference_table(REFERENCE_DIR / FUNDING_TABLE)
    times = pd.to_datetime(funding["time"], utc=True).sort_values().reset_index(drop=True)
    breaks = [0, *(times.diff() > pd.Timedelta(days=7)).to_numpy().nonzero()[0], len(times)]
    stretches = ", ".join(f"{times[a]:%Y-%m-%d}&ndash;{times[b - 1]:%Y-%m-%d}" for a, b in zip(breaks, breaks[1:]))
    funding_text = (f"<p><code>{FUNDING_TABLE}</code>: {len(funding):,} perpetual funding payments "
                    f"({html.escape(', '.join(sorted(set(funding['venue']))))}, every "
                    f"{'/'.join(sorted(set(funding['interval_hours'])))} hours) in {stretches}; the rate is a "
                    "fraction of the position per funding interval.</p>")
    return "<h3>Price history</h3>" + described + span_table + funding_text
