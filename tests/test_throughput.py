"""Throughput true to COCOON's stack (issue 15): the reference-row lookup, the CC overhead, the
benchmark readers on files in vLLM's and SGLang's real formats, ``throughput import``/``show``,
and the host server in the costs."""

from __future__ import annotations

import csv
import json
import math
import re
import shutil
import tomllib
from pathlib import Path

import pytest
from econ_support import SCENARIO_DIR, mapping, scenario

from analysis.cli.main import main
from analysis.core.errors import InputError
from analysis.core.gpus import GPU_FORM_FACTOR, GPU_TDP_W
from analysis.core.resources import REFERENCE_DIR
from analysis.econ import throughput as tp
from analysis.econ.costs import capex_paid_usd, depreciation_usd_per_day
from analysis.econ.metrics import profit_sensitivity
from analysis.econ.networks import daily_tokens_per_gpu
from analysis.econ.scenario import load_scenario, parse_scenario, scenario_with, to_mapping

DATA = Path(__file__).resolve().parent / "data" / "throughput"
VLLM = DATA / "vllm_qwen3-8b_c32.json"
APPENDED = DATA / "vllm_appended_two_runs.json"
LLAMA = DATA / "vllm_llama_c128.json"
SGLANG = DATA / "sglang_qwen3-8b_c60.jsonl"
H200 = SCENARIO_DIR / "h200_single.toml"


def _csv(name: str) -> list[dict[str, str]]:
    with open(REFERENCE_DIR / name, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _lookup_scenario(**workload):
    """The issue-4 example with its throughput left to the reference table."""
    m = mapping(hardware__gpu="H200-NVL")
    m["workload"] = {"cached_prompt_fraction": 0.3, "utilisation": 0.6, **workload}
    return parse_scenario(m, origin="lookup.toml")


# --------------------------------------------------------------------------- reference rows


def test_rows_are_read_with_their_numbers_and_kinds():
    raw = _csv("inference_throughput_cocoon.csv")
    rows = {r.row: r for r in tp.throughput_rows()}
    first = rows[1]
    assert raw[0]["model"] == first.model == "Qwen/Qwen3-8B"
    assert first.output_tokens_per_s == float(raw[0]["output_tokens_per_s"]) == 496.88
    assert first.concurrency_n == 4 and first.regime == "bounded" and first.whole_gpu
    assert first.prompt_tokens_per_output_token == pytest.approx(233 / 221)
    # "max load (infinite rate)" and "1000 prompts burst (unbounded)" are saturation runs.
    assert rows[5].concurrency_n is None and rows[14].concurrency_n is None
    # The B200 row gives only a total throughput: it cannot give output tokens per second.
    total_only = [i for i, r in enumerate(raw, 1) if not r["output_tokens_per_s"]]
    assert total_only and not set(total_only) & set(rows)
    # A MIG slice is not a whole GPU; its "~1082-1089" is read as the middle of the range.
    mig = next(r for r in rows.values() if "MIG" in r.gpu)
    assert not mig.whole_gpu and mig.output_tokens_per_s == pytest.approx(1085.5)
    assert mig.concurrency_n == 16  # "batch 16 (MLPerf-style loadgen)"


def test_selection_takes_the_row_nearest_cocoon_conditions():
    vllm = tp.select_throughput_row("Qwen/Qwen3-8B", "H200-NVL", "vllm")
    assert vllm.row.row == 1 and vllm.engine_match and vllm.gpu_match == "other"
    assert vllm.measurement == "low-concurrency"
    assert any("low-concurrency measurement (4 concurrent requests)" in c for c in vllm.cautions)
    assert any("no row measures Qwen/Qwen3-8B at 30-60" in c for c in vllm.cautions)
    assert any("not the scenario's H200-NVL" in c for c in vllm.cautions)
    sglang = tp.select_throughput_row("qwen3-8b", "H100-NVL", "sglang")  # organisation and case ignored
    assert sglang.row.row == 2 and sglang.gpu_match == "family"
    # gpt-oss-20b: a bounded 32-request run beats the (higher, high-confidence) saturation runs.
    oss = tp.select_throughput_row("openai/gpt-oss-20b", "H100-SXM", "vllm")
    assert oss.row.concurrency_n == 32 and oss.row.gpu == "H100 PCIe" and oss.measurement == "near COCOON"
    saturated = max((r for r in tp.throughput_rows() if r.model == "openai/gpt-oss-20b"),
                    key=lambda r: r.output_tokens_per_s)
    assert saturated.concurrency_n is None and saturated.output_tokens_per_s > oss.row.output_tokens_per_s
    # Llama-3.1-8B on an H200 NVL: the H200 NVL row is a MIG slice, so a whole GPU wins.
    llama = tp.select_throughput_row("meta-llama/Llama-3.1-8B-Instruct", "H200-NVL", "vllm")
    assert llama.row.whole_gpu and "vLLM" in llama.row.engine and llama.row.concurrency_n == 16
    assert any("row 4 measures 30-60" in c for c in llama.cautions)  # the NIM c=50 row, another engine


def test_only_saturation_rows_are_flagged_as_a_ceiling():
    rows = [r for r in tp.throughput_rows() if r.model == "Llama-3.1-8B-Instruct" and r.concurrency_n is None]
    choice = tp.select_throughput_row("Llama-3.1-8B-Instruct", "H200", "vllm", rows=rows)
    assert choice.measurement == "saturation"
    assert any(c.startswith("a saturation measurement") and "a ceiling" in c for c in choice.cautions)


def test_bounded_rows_nearest_60_and_at_most_60_win(tmp_path):
    header = ("model,gpu,engine,precision,concurrency,input_tokens,output_tokens,output_tokens_per_s,"
              "total_tokens_per_s,observed,source,confidence,notes\n")
    body = ["m,H200 NVL,vLLM,BF16,64,100,100,900,,2026,s,high,",
            "m,H200 NVL,vLLM,BF16,16,100,100,500,,2026,s,high,",
            "m,H200 NVL,vLLM,BF16,48,100,100,800,,2026,s,low,",
            "m,H200 NVL,SGLang,BF16,60,100,100,850,,2026,s,high,",
            "m,H200 NVL,vLLM,BF16,max load,100,100,2000,,2026,s,high,"]
    path = tmp_path / "t.csv"
    path.write_text(header + "\n".join(body) + "\n")
    rows = tp.throughput_rows(path)
    assert tp.select_throughput_row("m", "H200-NVL", "vllm", rows=rows).row.row == 3      # 48: nearest 60, <= 60
    assert tp.select_throughput_row("m", "H200-NVL", "sglang", rows=rows).row.row == 4    # the engine's own row
    only_over = [r for r in rows if r.row in (1, 5)]
    assert tp.select_throughput_row("m", "H200-NVL", "vllm", rows=only_over).row.row == 1  # 64 before saturation


def test_a_model_without_rows_is_one_clear_error():
    with pytest.raises(InputError) as exc:
        tp.select_throughput_row("ByteDance-Seed/Seed-X-PPO-7B", "H200-NVL")
    message = str(exc.value)
    assert "no measured row" in message and "Qwen/Qwen3-8B" in message and "throughput import" in message
    with pytest.raises(InputError, match=r"lookup.toml: \[workload\] model = 'Seed-X'"):
        _lookup_scenario(model="Seed-X")


# --------------------------------------------------------------------------- CC overhead


def test_cc_default_and_range_come_from_the_table():
    cc = tp.cc_overhead_default()
    raw = _csv("cc_mode_overhead.csv")
    paper = [r for r in raw if r["source"].startswith("https://arxiv.org/html/2409.03992v4")]
    assert cc.default == float(paper[0]["overhead_fraction"]) == 0.07 and cc.confidence == "high"
    # By hand from the table: lowest relevant row HGX B300 0.009; highest the model-swapping 0.41;
    # excluded: training 0.18, matmul 0.002, the vLLM 0.29 regression 0.7, the "> 100 %" lower
    # bound 1.0, the CPU-only TDX 0.1 and the rows without a number.
    assert (cc.low, cc.high) == (0.009, 0.41)
    numeric = [r for r in raw if r["overhead_fraction"]]
    assert cc.rows == len(numeric) - 5
    assert cc.low <= cc.median <= cc.high and cc.median == pytest.approx((0.07 + 0.075) / 2)


def test_lookup_applies_the_cc_default_and_an_explicit_throughput_does_not():
    s = _lookup_scenario()
    w = s.workload
    assert w.model == "Qwen/Qwen3-8B" and w.engine == "vllm"
    assert w.output_tokens_per_s == 496.88 and w.cc_overhead_fraction == 0.07
    assert w.served_output_tokens_per_s == pytest.approx(496.88 * 0.93, rel=1e-15)
    assert w.prompt_tokens_per_output_token == pytest.approx(233 / 221)
    assert w.throughput_source.startswith("reference: inference_throughput_cocoon.csv row 1 ")
    tokens = daily_tokens_per_gpu(w, s.network)
    assert tokens.output == pytest.approx(496.88 * 0.93 * 86400 * 0.6, rel=1e-12)
    # Given throughput: taken as measured under CC (no overhead) unless cc_overhead_fraction is set.
    given = scenario()
    assert given.workload.cc_overhead_fraction == 0 and given.workload.served_output_tokens_per_s == 2000
    assert scenario(workload__cc_overhead_fraction=0.2).workload.served_output_tokens_per_s == pytest.approx(1600)
    # A given ratio wins over the row's; a given CC fraction over the default.
    s2 = _lookup_scenario(prompt_tokens_per_output_token=3.0, cc_overhead_fraction=0.3, engine="sglang")
    assert s2.workload.output_tokens_per_s == 525.59 and s2.workload.prompt_tokens_per_output_token == 3.0
    assert s2.workload.served_output_tokens_per_s == pytest.approx(525.59 * 0.7)


def test_lookup_scenarios_round_trip_and_vary_in_the_sensitivity():
    s = _lookup_scenario()
    assert parse_scenario(to_mapping(s), origin="lookup.toml") == s
    slower = scenario_with(s, {"workload.output_tokens_per_s": s.workload.output_tokens_per_s * 0.7})
    assert slower.workload.served_output_tokens_per_s == pytest.approx(0.7 * s.workload.served_output_tokens_per_s)
    frame = profit_sensitivity(s, 1.5)
    row = frame[frame["key"] == "workload.output_tokens_per_s"].iloc[0]
    assert row["low"] == pytest.approx(496.88 * 0.7)


@pytest.mark.parametrize(("workload", "needle"), [
    ({"engine": "trtllm"}, "[workload] engine = \"trtllm\" is not valid; use one of vllm, sglang"),
    ({"cc_overhead_fraction": 0.95}, "[workload] cc_overhead_fraction = 0.95 is out of range"),
    ({"throughput_source": "my run"}, "throughput_source is set without output_tokens_per_s"),
    ({"model": " "}, "[workload] model is empty"),
])
def test_bad_workload_keys_are_one_line_errors(workload, needle):
    with pytest.raises(InputError) as exc:
        _lookup_scenario(**workload)
    assert needle in str(exc.value) and "\n" not in str(exc.value)


# --------------------------------------------------------------------------- hardware


def test_host_server_is_capex_depreciated_and_paid_with_the_gpus():
    s = scenario(hardware__host_capex_usd=10424)
    hw = s.hardware
    assert hw.total_capex_usd == 40424
    assert depreciation_usd_per_day(hw) == pytest.approx(40424 * 0.9 / (4 * 365), rel=1e-15)
    assert capex_paid_usd(hw) == 40424
    assert capex_paid_usd(scenario(hardware__host_capex_usd=10424, hardware__already_owned=True).hardware) == 0
    # At market value: the cards on the resale curve, the host (no curve for servers) straight-line.
    from analysis.econ.costs import hardware_resale_usd, resale_forgone_usd
    from analysis.econ.resale import resale_value_usd

    cards = float(resale_value_usd(30000, "H100-SXM", 0.0, 365))
    assert hardware_resale_usd(hw, 365) == pytest.approx(cards + 10424 - 10424 * 0.9 / 4, rel=1e-12)
    assert hardware_resale_usd(hw, 365 * 10) == pytest.approx(float(resale_value_usd(30000, "H100-SXM", 0.0, 3650))
                                                              + 10424 * 0.1, rel=1e-12)
    owned = scenario(hardware__host_capex_usd=10424, hardware__already_owned=True).hardware
    assert resale_forgone_usd(owned) == 40424 and resale_forgone_usd(hw) == 0
    with pytest.raises(InputError, match=r"\[hardware\] host_capex_usd = -1.0 is out of range"):
        scenario(hardware__host_capex_usd=-1)


def test_nvl_cards_have_their_tdp_and_sxm_is_only_in_hgx_examples():
    assert GPU_TDP_W["H100-NVL"] == 400 and GPU_TDP_W["H200-NVL"] == 600
    assert GPU_FORM_FACTOR["H100-NVL"] == GPU_FORM_FACTOR["H200-NVL"] == "PCIe"
    rows = {r["item"]: r for r in _csv("hardware_and_costs.csv")}
    assert float(rows["H100-NVL TDP"]["value"]) == GPU_TDP_W["H100-NVL"]
    assert "H200 NVL 600 W" in rows["H200 TDP"]["notes"]
    for path in sorted(SCENARIO_DIR.glob("*.toml")):
        s = load_scenario(path)
        text = path.read_text()
        if s.network.name != "cocoon":
            continue
        if GPU_FORM_FACTOR[s.hardware.gpu] == "SXM":
            assert s.hardware.gpus == 8 and s.hardware.host_capex_usd == 0, path.name  # an HGX node, all-in
        else:
            assert s.hardware.host_capex_usd > 0, path.name
            # power_kw is the card's TDP plus its host.
            assert s.operations.power_kw > GPU_TDP_W[s.hardware.gpu] / 1000
        # The header says what is measured, what comes from a reference row, what is assumed.
        header = text.split("\nname = ")[0]
        for word in ("measured", "reference row", "assumptions"):
            assert word in header, (path.name, word)
        assert s.workload.throughput_source.startswith("reference: inference_throughput_cocoon.csv row")
        assert re.search(rf"inference_throughput_cocoon.csv row {tp.reference_row_number(s.workload.throughput_source)}\b",
                         header), path.name


# --------------------------------------------------------------------------- benchmark files


def test_vllm_result_in_its_real_format():
    raw = json.loads(VLLM.read_text())
    # The keys vllm/benchmarks/serve.py writes (result_json), in order.
    assert list(raw)[:10] == ["date", "endpoint_type", "backend", "label", "model_id", "tokenizer_id", "num_prompts",
                              "request_rate", "burstiness", "max_concurrency"]
    [run] = tp.read_benchmark_file(VLLM)
    assert run.format == "vllm bench serve" and run.model == "Qwen/Qwen3-8B"
    assert run.date == "2026-11-28 14:15:02" and run.max_concurrency == 32 and run.concurrency == 32
    assert run.output_tokens_per_s == raw["output_throughput"]
    assert run.output_tokens_per_s == pytest.approx(raw["total_output_tokens"] / raw["duration"], rel=1e-12)
    assert run.total_tokens_per_s == pytest.approx(
        (raw["total_input_tokens"] + raw["total_output_tokens"]) / raw["duration"], rel=1e-12)
    values = tp.implied_workload(run)
    assert values["output_tokens_per_s"] == round(raw["total_output_tokens"] / raw["duration"], 2)
    assert values["prompt_tokens_per_output_token"] == round(raw["total_input_tokens"] / raw["total_output_tokens"], 4)
    assert tp.run_cautions(run, "Qwen/Qwen3-8B") == []


def test_appended_runs_and_unbounded_concurrency():
    first, second = tp.read_benchmark_file(APPENDED)
    assert first.max_concurrency == 16 and second.max_concurrency is None
    assert second.peak_concurrent_requests == 60 and second.concurrency == 60
    assert tp.run_cautions(second, "Qwen/Qwen3-8B") == []  # at most 60 were in flight
    payload = json.loads(APPENDED.read_text().splitlines()[1])
    del payload["max_concurrent_requests"]  # older vLLM: no peak recorded
    older = tp.parse_vllm_bench_result(payload, "old.json")
    assert any("set no --max-concurrency" in c for c in tp.run_cautions(older))


def test_a_run_above_60_of_another_model_with_failures_warns_three_times():
    [run] = tp.read_benchmark_file(LLAMA)
    cautions = tp.run_cautions(run, "Qwen/Qwen3-8B")
    assert len(cautions) == 3
    assert "concurrency 128 exceeds the 60" in cautions[0]
    assert "meta-llama/Llama-3.1-8B-Instruct differs from the scenario's Qwen/Qwen3-8B" in cautions[1]
    assert cautions[2].startswith("2 requests failed")


def test_sglang_jsonl_in_its_real_format():
    text = SGLANG.read_text()
    assert '"request_rate": Infinity' in text  # json.dumps(float("inf")), as bench_serving writes it
    runs = tp.read_benchmark_file(SGLANG)
    assert len(runs) == 2
    raw = json.loads(text.splitlines()[0])
    run = runs[0]
    assert run.format == "sglang bench_serving" and run.model == "Qwen/Qwen3-8B" and run.date is None
    assert run.request_rate == "inf" and run.max_concurrency == 60
    assert run.total_tokens_per_s == raw["total_throughput"]
    assert run.prompt_tokens_per_output_token == pytest.approx(1024 / 512)
    del raw["total_throughput"], raw["server_info"]  # an older bench_serving
    old = tp.parse_sglang_bench_result(raw, "old.jsonl")
    assert old.total_tokens_per_s == pytest.approx((raw["total_input_tokens"] + raw["total_output_tokens"])
                                                   / raw["duration"], rel=1e-12)
    assert old.model is None and "does not name its model" in tp.run_cautions(old, "Qwen/Qwen3-8B")[0]


def test_damaged_files_are_one_line_errors(tmp_path):
    raw = json.loads(VLLM.read_text())
    cases = {
        "broken.json": VLLM.read_text() + "\n{",
        "missing.json": json.dumps({k: v for k, v in raw.items() if k != "output_throughput"}),
        "inconsistent.json": json.dumps({**raw, "output_throughput": raw["output_throughput"] * 1.5}),
        "nothing.json": json.dumps({**raw, "completed": 0}),
        "other.json": json.dumps({"accuracy": 0.9}),
        "empty.json": "\n",
    }
    needles = {"broken.json": "line 2 is not valid JSON", "missing.json": "no 'output_throughput' field",
               "inconsistent.json": "does not match total_output_tokens / duration",
               "nothing.json": "completed 0 requests", "other.json": "not a serving-benchmark result",
               "empty.json": "the file is empty"}
    for name, body in cases.items():
        path = tmp_path / name
        path.write_text(body)
        with pytest.raises(InputError) as exc:
            tp.read_benchmark_file(path)
        assert needles[name] in str(exc.value) and "\n" not in str(exc.value), (name, exc.value)
    with pytest.raises(InputError, match="not found"):
        tp.read_benchmark_file(tmp_path / "absent.json")
    # a device would be read until memory runs out; an oversized file is refused before parsing
    with pytest.raises(InputError, match="not a regular file"):
        tp.read_benchmark_file("/dev/zero")
    big = tmp_path / "big.json"
    big.write_bytes(b" " * (tp.MAX_RESULT_BYTES + 1))
    with pytest.raises(InputError, match="is larger than"):
        tp.read_benchmark_file(big)


# --------------------------------------------------------------------------- CLI


def test_import_prints_the_workload_values_and_json(capsys):
    assert main(["throughput", "import", str(VLLM)]) == 0
    out = capsys.readouterr().out
    raw = json.loads(VLLM.read_text())
    assert f"output_tokens_per_s = {round(raw['output_throughput'], 2)}" in out
    assert "prompt_tokens_per_output_token = " in out and "max concurrency 32" in out
    assert main(["throughput", "import", str(LLAMA), "--scenario", str(H200), "--json"]) == 0
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert set(data) >= {"output_tokens_per_s", "prompt_tokens_per_output_token", "throughput_source", "warnings"}
    assert data["run"]["max_concurrency"] == 128 and len(data["warnings"]) == 3
    assert captured.err.count("warning: ") == 3 and "exceeds the 60" in captured.err


def test_import_write_updates_the_scenario_keeping_comments(tmp_path, capsys):
    target = tmp_path / "h200.toml"
    shutil.copy(H200, target)
    before = target.read_text()
    assert main(["throughput", "import", str(VLLM), "--scenario", str(target), "--write"]) == 0
    assert f"wrote these to [workload] of {target}" in capsys.readouterr().out
    after = target.read_text()
    # Every original line that has a comment is still there, unchanged.
    for line in before.splitlines():
        if "#" in line and not line.startswith("[workload]"):
            assert line in after, line
    assert "[workload] # per GPU; throughput and token mix measured: see throughput_source" in after
    raw = json.loads(VLLM.read_text())
    workload = tomllib.loads(after)["workload"]
    assert workload["output_tokens_per_s"] == round(raw["output_throughput"], 2)
    assert workload["prompt_tokens_per_output_token"] == round(raw["total_input_tokens"] / raw["total_output_tokens"], 4)
    assert workload["throughput_source"].startswith("measured: vllm_qwen3-8b_c32.json (vllm bench serve")
    assert workload["cc_overhead_fraction"] == 0.07  # the run is taken as without CC
    assert "# measured: vllm bench serve output throughput" in after
    s = load_scenario(target)
    assert s.workload.served_output_tokens_per_s == pytest.approx(round(raw["output_throughput"], 2) * 0.93)
    assert main(["breakeven", "--scenario", str(target), "--ton-usd", "1.5", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)["throughput"]
    assert info["kind"] == "measured" and info["source"].startswith("measured: vllm_qwen3-8b_c32.json")
    assert info["cautions"] == []
    # Run inside a TDX guest with CC on: no further overhead.
    assert main(["throughput", "import", str(SGLANG), "--run", "1", "--scenario", str(target), "--write",
                 "--under-cc"]) == 0
    s = load_scenario(target)
    assert s.workload.cc_overhead_fraction == 0 and s.workload.prompt_tokens_per_output_token == 2.0
    assert s.workload.served_output_tokens_per_s == round(json.loads(SGLANG.read_text().splitlines()[0])
                                                          ["output_throughput"], 2)


def test_import_bad_arguments_are_one_line_exit_2(tmp_path, capsys):
    for argv, needle in [
        (["throughput", "import", str(VLLM), "--write"], "--write needs --scenario FILE"),
        (["throughput", "import", str(APPENDED), "--run", "3"], "--run 3: vllm_appended_two_runs.json holds 2 run(s)"),
        (["throughput", "import", str(tmp_path / "none.json")], "not found"),
        (["throughput", "import", str(VLLM), "--run", "0"], "0 must be at least 1"),
    ]:
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and needle in err and "Traceback" not in err, err
    # A write that would leave an invalid scenario leaves the file untouched.
    bad = tmp_path / "bad.toml"
    bad.write_text(H200.read_text().replace("utilisation = 0.6", "utilisation = 2"))
    before = bad.read_text()
    assert main(["throughput", "import", str(VLLM), "--scenario", str(bad), "--write"]) == 2
    assert "utilisation = 2.0 is out of range" in capsys.readouterr().err
    assert bad.read_text() == before


def test_breakeven_and_show_say_where_the_throughput_came_from(capsys):
    assert main(["breakeven", "--scenario", str(H200), "--ton-usd", "1.5"]) == 0
    out = capsys.readouterr().out
    assert "Throughput: 462.1 output tok/s per GPU (Qwen/Qwen3-8B, vllm) = 496.9 from reference: " \
           "inference_throughput_cocoon.csv row 1" in out
    assert "less 7.0% CC overhead" in out and "caution: a low-concurrency measurement" in out
    assert main(["breakeven", "--scenario", str(H200), "--ton-usd", "1.5", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)["throughput"]
    assert info["kind"] == "reference" and info["row"]["row"] == 1 and info["row"]["confidence"] == "high"
    assert info["served_output_tokens_per_s"] == pytest.approx(496.88 * 0.93)
    assert main(["throughput", "show", "--scenario", str(H200), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == info
    assert main(["throughput", "show", "--scenario", str(H200)]) == 0
    assert "row 1: Qwen/Qwen3-8B on H100 SXM" in capsys.readouterr().out
    assert not math.isnan(info["output_tokens_per_s"])


def test_simulate_and_the_report_say_where_the_throughput_came_from(capsys):
    argv = ["simulate", "--scenario", str(H200), "--method", "gbm", "--paths", "50", "--horizon-days", "10",
            "--seed", "1"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert any(line.startswith("Throughput: 462.1 output tok/s per GPU") for line in out.splitlines())
    assert "caution: a low-concurrency" in out
    assert main([*argv, "--json"]) == 0
    captured = capsys.readouterr()
    json.loads(captured.out)  # stdout stays one JSON object; the provenance goes to stderr
    assert "Throughput: 462.1 output tok/s" in captured.err
    from analysis.report import ReportContext, provenance

    html = provenance.build(ReportContext(scenario_files=[H200])).after_html
    assert "Throughput: 462.1 output tok/s per GPU (Qwen/Qwen3-8B, vllm) = 496.9 from reference: " \
           "inference_throughput_cocoon.csv row 1" in html
