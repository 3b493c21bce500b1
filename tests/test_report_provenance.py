"""Assumptions and provenance: every reference row with its source and date, scenario values
with their cited sources, snapshot provenance."""

from __future__ import annotations

import csv
import html
from pathlib import Path

from analysis.core.resources import DATA_DIR, REFERENCE_DIR
from analysis.report import ReportContext, provenance


def _rows(name):
    with open(REFERENCE_DIR / name, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_every_reference_table_row_is_shown_with_source_and_date():
    section = provenance.build(ReportContext(scenario_files=[]))
    text = section.after_html
    for name in provenance.REFERENCE_TABLES:
        rows = _rows(name)
        assert f"<code>{name}</code> &middot; {len(rows)} rows" in text
        for row in rows:
            cells = "".join(f"<td>{html.escape(v)}</td>" if v else "<td></td>" for v in row.values())
            assert cells in text, f"{name}: row {row} missing"
    # Every file in data/reference is covered (tables in full, the funding series summarised).
    assert {p.name for p in REFERENCE_DIR.glob("*.csv")} == set(provenance.REFERENCE_TABLES) | {provenance.FUNDING_TABLE}


def test_funding_series_is_summarised_with_its_stretches():
    text = provenance.build(ReportContext(scenario_files=[])).after_html
    rows = _rows(provenance.FUNDING_TABLE)
    assert f"{len(rows):,} perpetual funding payments" in text
    # data/README.md: 2024-03-01 .. 2024-04-25 and 2026-02-14 .. 2026-03-20.
    assert "2024-03-01&ndash;2024-04-25, 2026-02-14&ndash;2026-03-20" in text


def test_snapshot_provenance_comes_from_data_readme_and_the_files():
    rows = provenance.readme_snapshot_rows()
    assert [r["file"] for r in rows] == ["`ton_usd_daily_close.csv`", "`render_usd_daily_close.csv`"]
    text = provenance.build(ReportContext(scenario_files=[])).after_html
    assert "<code>TON11419-USD</code>" in text                     # README text, inline code rendered
    assert "Tokamak" in text
    with open(DATA_DIR / "snapshot" / "render_usd_daily_close.csv", newline="", encoding="utf-8") as handle:
        venues = [r["venue"] for r in csv.DictReader(handle)]
    for venue in dict.fromkeys(venues):
        assert f"<td>RENDER</td><td>{html.escape(venue)}</td>" in text


def test_scenario_values_with_their_cited_sources(tmp_path: Path):
    scenario = tmp_path / "mine.toml"
    scenario.write_text(
        '# a comment line\n'
        'name = "8x H100 # hosted"   # the name has a hash in it\n'
        '[hardware]\n'
        'gpus = 8                    # HGX node\n'
        'capex_usd = 310000          # Latent Space spreadsheet (hardware_and_costs.csv)\n'
        'already_owned = false\n'
        '[finance]  # money\n'
        'start = 2025-04-01          # first day served\n',
        encoding="utf-8")
    params = provenance.scenario_parameters(scenario)
    assert [(p["parameter"], p["comment"]) for p in params] == [
        ("name", "the name has a hash in it"),
        ("hardware.gpus", "HGX node"),
        ("hardware.capex_usd", "Latent Space spreadsheet (hardware_and_costs.csv)"),
        ("hardware.already_owned", ""),
        ("finance.start", "first day served"),
    ]
    text = provenance.build(ReportContext(scenario_files=[scenario])).after_html
    assert "<b>8x H100 # hosted</b>" in text
    assert "<td>hardware.capex_usd</td><td>310000</td><td>Latent Space spreadsheet (hardware_and_costs.csv)</td>" in text
    assert "<td>hardware.already_owned</td><td>false</td>" in text
    assert "<td>finance.start</td><td>2025-04-01</td>" in text


def test_no_scenarios_says_how_to_add_one():
    text = provenance.build(ReportContext(scenario_files=[])).after_html
    assert "No scenario files" in text and "--scenario FILE" in text


def test_defaults_the_file_leaves_out_are_listed(tmp_path: Path):
    scenario_mod = __import__("pytest").importorskip("analysis.econ.scenario", reason="the economics engine is not merged yet")
    examples = sorted((DATA_DIR / "scenarios").glob("*.toml"))
    if not examples:
        __import__("pytest").skip("no example scenarios yet")
    rows = provenance.effective_parameters(examples[0])
    in_file = {r["parameter"] for r in provenance.scenario_parameters(examples[0])}
    mapping = provenance._flatten(scenario_mod.to_mapping(scenario_mod.load_scenario(examples[0])))
    assert {r["parameter"] for r in rows} == set(mapping) | in_file
    for row in rows:
        if row["parameter"] not in in_file:
            assert row["comment"].startswith("default (not set in the file)")
            assert row["value"] == mapping[row["parameter"]]
    # Throughput looked up from the reference table says which row (issue 15).
    comments = {r["parameter"]: r["comment"] for r in rows}
    assert "inference_throughput_cocoon.csv row" in comments["workload.output_tokens_per_s"]
    assert "cc_mode_overhead.csv" in comments["workload.cc_overhead_fraction"]
