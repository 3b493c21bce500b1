"""``cocoon-econ throughput import`` and ``throughput show``: bring your own serving benchmark,
and see where a scenario's throughput comes from (thin wrappers over :mod:`analysis.econ.throughput`)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from analysis.cli.commands.simulate import _at_least_one


def register(commands: argparse._SubParsersAction, fetch_commands: argparse._SubParsersAction) -> None:
    """Add ``throughput import`` and ``throughput show``."""
    p = commands.add_parser("throughput", help="import a serving benchmark; show where a scenario's throughput comes from",
                            description="Throughput true to COCOON's serving stack (one GPU, TP 1, at most 60 "
                                        "concurrent requests, confidential computing on).")
    sub = p.add_subparsers(dest="throughput_what", metavar="WHAT", parser_class=type(p))
    sub.required = True

    imp = sub.add_parser("import", help="read a `vllm bench serve --save-result` JSON (or SGLang bench_serving JSON "
                                        "lines) and print the [workload] values it implies",
                         description="Read a serving-benchmark result and print the [workload] values it implies; "
                                     "with --scenario FILE --write, set them in the scenario (comments kept).")
    imp.add_argument("result", type=Path, metavar="RESULT.json", help="the file the benchmark saved")
    imp.add_argument("--scenario", type=Path, default=None, metavar="FILE",
                     help="scenario TOML to compare with (its [workload] model) and, with --write, to update")
    imp.add_argument("--write", action="store_true", help="update the scenario's [workload] in place")
    imp.add_argument("--run", type=_at_least_one("--run"), default=None, metavar="N",
                     help="which run of a file holding several (--append-result, .jsonl); default: the last")
    imp.add_argument("--under-cc", action="store_true",
                     help="the run was inside a TDX guest with the GPU in confidential-computing mode: write "
                          "cc_overhead_fraction = 0 (default: the run is taken as without CC, and --write sets "
                          "the default CC overhead so the scenario discounts it)")
    imp.add_argument("--json", action="store_true", help="print one JSON object")
    imp.set_defaults(func=run_import)

    show = sub.add_parser("show", help="where a scenario's throughput comes from (reference row, CC overhead)",
                          description="The throughput a scenario uses, its source, the CC overhead and cautions.")
    show.add_argument("--scenario", required=True, type=Path, metavar="FILE", help="scenario TOML file")
    show.add_argument("--json", action="store_true", help="print one JSON object")
    show.set_defaults(func=run_show)


def run_import(args: argparse.Namespace) -> int:
    from analysis.core.errors import InputError
    from analysis.econ.scenario import load_scenario
    from analysis.econ.throughput import (
        COCOON_MAX_ACTIVE_REQUESTS,
        cc_overhead_default,
        implied_workload,
        read_benchmark_file,
        run_cautions,
        run_source,
        write_workload_values,
    )

    if args.write and args.scenario is None:
        raise InputError("--write needs --scenario FILE: the scenario to update")
    runs = read_benchmark_file(args.result)
    if args.run is not None and args.run > len(runs):
        raise InputError(f"--run {args.run}: {args.result.name} holds {len(runs)} run(s); use 1 to {len(runs)}")
    index = (args.run or len(runs)) - 1
    run = runs[index]
    scenario = load_scenario(args.scenario) if args.scenario is not None else None
    cautions = run_cautions(run, scenario.workload.model if scenario is not None else None)
    values = implied_workload(run)
    source = run_source(run, args.result)
    cc = cc_overhead_default()
    cc_value = 0.0 if args.under_cc else cc.default
    out = {
        **values,
        "throughput_source": source,
        "cc_overhead_fraction": cc_value,
        "run": {"index": index + 1, "runs": len(runs), "format": run.format, "model": run.model,
                "backend": run.backend, "date": run.date, "completed": run.completed, "failed": run.failed,
                "duration_s": run.duration_s, "total_input_tokens": run.total_input_tokens,
                "total_output_tokens": run.total_output_tokens, "output_tokens_per_s": run.output_tokens_per_s,
                "total_tokens_per_s": run.total_tokens_per_s, "max_concurrency": run.max_concurrency,
                "peak_concurrent_requests": run.peak_concurrent_requests,
                "cocoon_max_active_requests": COCOON_MAX_ACTIVE_REQUESTS},
        "warnings": cautions,
        "written": None,
    }
    if args.write:
        comments = {
            "output_tokens_per_s": f"measured: {run.format} output throughput, {args.result.name}",
            "prompt_tokens_per_output_token": f"measured: {run.total_input_tokens} input / "
                                              f"{run.total_output_tokens} output tokens of that run",
            "throughput_source": "recorded by cocoon-econ throughput import",
            "cc_overhead_fraction": ("the run was under confidential computing (--under-cc)" if args.under_cc else
                                     f"assumption: run without CC; default of cc_mode_overhead.csv "
                                     f"({cc.low:.1%}-{cc.high:.1%} across {cc.rows} rows)"),
        }
        write_workload_values(args.scenario, {**values, "throughput_source": source, "cc_overhead_fraction": cc_value},
                              comments, table_comment="per GPU; throughput and token mix measured: see "
                                                      "throughput_source (cocoon-econ throughput import)")
        out["written"] = str(args.scenario)
    for warning in cautions:
        print(f"warning: {warning}", file=sys.stderr)
    if args.json:
        print(json.dumps(out, allow_nan=False))
        return 0
    print(_import_text(out, args.result))
    return 0


def run_show(args: argparse.Namespace) -> int:
    from analysis.econ.scenario import load_scenario
    from analysis.econ.throughput import describe_throughput, throughput_lines

    scenario = load_scenario(args.scenario)
    info = describe_throughput(scenario.workload, scenario.hardware.gpu)
    if args.json:
        print(json.dumps(info, allow_nan=False))
        return 0
    lines = [f"{scenario.name}  ({args.scenario}): {scenario.hardware.gpus} x {scenario.hardware.gpu}",
             *throughput_lines(info)]
    row = info["row"]
    if row is not None:
        lines.append(f"  row {row['row']}: {row['model']} on {row['gpu']}, {row['engine']} {row['precision']}, "
                     f"concurrency {row['concurrency']} ({row['measurement']}), {row['confidence']} confidence; "
                     f"observed {row['observed']}; {row['source']}")
    print("\n".join(lines))
    return 0


def _import_text(out: dict, path: Path) -> str:
    r = out["run"]
    which = f" (run {r['index']} of {r['runs']})" if r["runs"] > 1 else ""
    when = f"run of {r['date']} (the client's local time)" if r["date"] else "undated run"
    concurrency = (f"max concurrency {r['max_concurrency']}" if r["max_concurrency"] is not None
                   else "no max concurrency set")
    if r["peak_concurrent_requests"] is not None:
        concurrency += f", peak {r['peak_concurrent_requests']} in flight"
    failed = f", {r['failed']} failed" if r["failed"] else ""
    lines = [
        f"{path}: {r['format']}{which}, {when}",
        f"  model {r['model'] or 'not recorded'}, backend {r['backend'] or '?'}; {r['completed']} requests completed"
        f"{failed} in {r['duration_s']:,.1f} s; {concurrency} (a COCOON worker: at most "
        f"{r['cocoon_max_active_requests']})",
        f"  output {r['output_tokens_per_s']:,.2f} tok/s, total {r['total_tokens_per_s']:,.2f} tok/s; "
        f"{r['total_input_tokens']:,} input / {r['total_output_tokens']:,} output tokens",
        "[workload] values it implies:",
        f"  output_tokens_per_s = {out['output_tokens_per_s']}",
        f"  prompt_tokens_per_output_token = {out['prompt_tokens_per_output_token']}",
        f"  throughput_source = {json.dumps(out['throughput_source'])}",
        f"  cc_overhead_fraction = {out['cc_overhead_fraction']}"
        + ("  (run under CC)" if out["cc_overhead_fraction"] == 0 else "  (run taken as without CC; --under-cc if not)"),
    ]
    if out["written"]:
        lines.append(f"wrote these to [workload] of {out['written']} (other lines and comments unchanged)")
    return "\n".join(lines)

