"""Serving throughput true to COCOON's stack: reference rows, CC overhead, your own benchmark.

COCOON's worker (TelegramMessenger/cocoon ``spec/spec-worker/``) is one GPU passed through to an
Intel TDX guest with the GPU in confidential-computing mode (``docs/gpu.md``: "only one GPU per
guest"; tested card: H200 NVL). It serves with stock vLLM (``cocoon-vllm.service``:
``vllm/vllm-openai:latest``, tensor parallel 1 by default) or SGLang (``cocoon-sglang.service``:
``lmsysorg/sglang:v0.5.5.post3 ... --tp=1``) and takes at most
:data:`COCOON_MAX_ACTIVE_REQUESTS` requests at a time (``worker-config.json``:
``"max_active_requests": 60``). Telegram's translation tooling defaults to ``Qwen/Qwen3-8B``
(``mt-tools/src/mt/translate.py``).

This module holds

* the vendored table of measured rows (``data/reference/inference_throughput_cocoon.csv``) and
  :func:`select_throughput_row`, which picks the row nearest those conditions;
* the confidential-computing overhead (``data/reference/cc_mode_overhead.csv``):
  :func:`cc_overhead_default` gives the default fraction and the range of the relevant rows;
* readers of the files ``vllm bench serve --save-result`` and SGLang's ``bench_serving`` write
  (:func:`read_benchmark_file`, pure :func:`parse_vllm_bench_result` /
  :func:`parse_sglang_bench_result`) and :func:`implied_workload`, the ``[workload]`` values a run
  implies;
* :func:`write_workload_values`, which edits a scenario TOML in place, comments kept (tomlkit).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analysis.core.errors import DataError, InputError
from analysis.core.gpus import canonical_gpu
from analysis.core.resources import reference_path
from analysis.core.tomlfile import read_user_text

#: ``spec/spec-worker/worker-config.json``: ``"max_active_requests": 60`` -- the proxy sends a
#: worker no more than this many requests at once (runners/proxy/ProxyRunner.cpp).
COCOON_MAX_ACTIVE_REQUESTS = 60
#: The model COCOON's translation tooling uses by default (mt-tools/src/mt/translate.py).
COCOON_DEFAULT_MODEL = "Qwen/Qwen3-8B"
#: The engines a COCOON worker image runs (spec/spec-worker/cocoon-vllm.service, cocoon-sglang.service).
ENGINES = ("vllm", "sglang")
DEFAULT_ENGINE = "vllm"
#: A bounded-concurrency row below this many concurrent requests is flagged as a low-concurrency
#: measurement: a loaded worker runs up to 60, and decode throughput grows with the batch.
LOW_CONCURRENCY_BELOW = 30

THROUGHPUT_TABLE = "inference_throughput_cocoon.csv"
CC_TABLE = "cc_mode_overhead.csv"
#: The row whose value is the default CC overhead: the Hopper study closest to a COCOON worker
#: (H100 NVL, CC on, vLLM, Llama-3.1-8B among the models; "overhead below 7 %"), high confidence.
CC_DEFAULT_SOURCE = "https://arxiv.org/html/2409.03992v4"
#: Reference-table rows are cited as ``reference: <table> row <n>`` in ``[workload] throughput_source``.
REFERENCE_SOURCE_PREFIX = "reference:"
_REFERENCE_SOURCE = re.compile(r"^reference:\s*inference_throughput_cocoon\.csv row (\d+)\b")

_CONFIDENCE_RANK = {"high": 0, "medium": 1, "low": 2}
_SATURATION_WORDS = ("max load", "infinite", "unbounded", "saturat", "offline", "mlperf", "burst")


# --------------------------------------------------------------------------- reference rows


@dataclass(frozen=True)
class ThroughputRow:
    """One row of ``inference_throughput_cocoon.csv`` with what the selection reads from it.

    ``row`` is the 1-based data row (the CSV line is ``row + 1``). ``concurrency_n`` is the
    number of concurrent requests when the row names one (``None`` for saturation, offline
    and unbounded runs); ``whole_gpu`` is false for a MIG slice or a per-GPU share derived from a
    multi-GPU system.
    """

    row: int
    model: str
    gpu: str
    engine: str
    precision: str
    concurrency: str
    input_tokens: str
    output_tokens: str
    output_tokens_per_s: float
    total_tokens_per_s: float | None
    observed: str
    source: str
    confidence: str
    notes: str
    concurrency_n: int | None
    whole_gpu: bool
    canonical_gpu: str | None

    @property
    def prompt_tokens_per_output_token(self) -> float | None:
        """Input over output tokens of the run: from the lengths, else from total and output
        throughput; ``None`` when the row gives neither."""
        lengths = _number(self.input_tokens), _number(self.output_tokens)
        if lengths[0] is not None and lengths[1]:
            return lengths[0] / lengths[1]
        if self.total_tokens_per_s is not None and self.output_tokens_per_s > 0:
            return (self.total_tokens_per_s - self.output_tokens_per_s) / self.output_tokens_per_s
        return None

    @property
    def regime(self) -> str:
        """``"bounded"`` (a concurrency is named) or ``"saturation"`` (max load, offline, unbounded)."""
        return "bounded" if self.concurrency_n is not None else "saturation"

    def label(self) -> str:
        return (f"{THROUGHPUT_TABLE} row {self.row}: {self.model} on {self.gpu}, {self.engine} {self.precision}, "
                f"concurrency {self.concurrency}, {self.output_tokens_per_s:g} output tok/s, "
                f"{self.confidence or 'unrated'} confidence ({self.observed}; {self.source})")


def _number(text: str) -> float | None:
    """A number from a table cell: ``"233"``, ``"~1082-1089"`` (the middle of a range); else None."""
    cleaned = str(text).strip().lstrip("~").replace(",", "")
    if not cleaned:
        return None
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(?:\s*-\s*(\d+(?:\.\d+)?))?", cleaned)
    if m is None:
        return None
    low = float(m.group(1))
    return (low + float(m.group(2))) / 2 if m.group(2) else low


def _concurrency(text: str) -> int | None:
    """``"4"`` -> 4, ``"batch 16 (MLPerf-style loadgen)"`` -> 16; saturation, offline and
    unbounded runs (``"max load"``, ``"1000 prompts burst (unbounded)"``, ``"MLPerf Offline"``) -> None."""
    head = text.split("(")[0].strip().lower()  # the parenthesis only describes the run
    if any(word in head for word in _SATURATION_WORDS):
        return None
    m = re.fullmatch(r"(?:batch\s+)?(\d+)", head)
    return int(m.group(1)) if m else None


def throughput_rows(path: Path | None = None) -> list[ThroughputRow]:
    """The rows of ``inference_throughput_cocoon.csv`` that give an output throughput."""
    path = reference_path(THROUGHPUT_TABLE) if path is None else path
    rows = []
    with open(path, newline="", encoding="utf-8") as handle:
        for i, raw in enumerate(csv.DictReader(handle), start=1):
            out = _number(raw["output_tokens_per_s"])
            if out is None or out <= 0:
                continue  # a total-only row cannot give output tokens per second
            gpu_text = raw["gpu"]
            whole = not re.search(r"\bMIG\b|per-GPU derived|\b\d+x\b", gpu_text)
            rows.append(ThroughputRow(
                row=i, model=raw["model"], gpu=gpu_text, engine=raw["engine"], precision=raw["precision"],
                concurrency=raw["concurrency"], input_tokens=raw["input_tokens"], output_tokens=raw["output_tokens"],
                output_tokens_per_s=out, total_tokens_per_s=_number(raw["total_tokens_per_s"]),
                observed=raw["observed"], source=raw["source"], confidence=raw["confidence"].strip().lower(),
                notes=raw["notes"], concurrency_n=_concurrency(raw["concurrency"]), whole_gpu=whole,
                canonical_gpu=canonical_gpu(gpu_text.split("(")[0])))
    return rows


def model_key(name: str) -> str:
    """A model name compared without its organisation and case: ``Qwen/Qwen3-8B`` -> ``qwen3-8b``."""
    return name.strip().rstrip("/").split("/")[-1].lower()


def _family(gpu: str | None) -> str:
    m = re.search(r"[HB]\d00|A100|L40S", (gpu or "").upper())
    return m.group(0) if m else ""


@dataclass(frozen=True)
class ThroughputChoice:
    """The row chosen for a model, GPU and engine, how well it matches, and the cautions."""

    row: ThroughputRow
    gpu: str
    engine: str
    gpu_match: str  # "same" | "family" | "other"
    engine_match: bool
    cautions: tuple[str, ...] = field(default=())

    @property
    def measurement(self) -> str:
        """``"near COCOON"`` (30-60 concurrent), ``"low-concurrency"``, ``"above 60"`` or ``"saturation"``."""
        return _measurement(self.row.concurrency_n)


def select_throughput_row(model: str, gpu: str, engine: str = DEFAULT_ENGINE, *,
                          rows: list[ThroughputRow] | None = None, field: str = "[workload] model") -> ThroughputChoice:
    """The measured row nearest COCOON's conditions for ``model`` on ``gpu`` served by ``engine``.

    Among the rows of the same model (organisation and case ignored), in this order of priority:
    a whole GPU (not a MIG slice or a per-GPU share of a multi-GPU system -- COCOON runs tensor
    parallel 1 on one GPU); a bounded concurrency of at most 60 (``max_active_requests``), then
    above 60, then saturation/offline runs; the scenario's engine; the concurrency nearest 60;
    the same GPU, then the same generation (H100/H200/B200), then any; higher confidence; the
    first row.

    Raises
    ------
    InputError
        When no row of the table measures ``model`` (the message lists the models it has).
    """
    rows = throughput_rows() if rows is None else rows
    key = model_key(model)
    candidates = [r for r in rows if model_key(r.model) == key]
    if not candidates:
        known = sorted({r.model for r in rows})
        raise InputError(f"{field} = {model!r} has no measured row in {THROUGHPUT_TABLE} (it has {', '.join(known)}); "
                         "set [workload] output_tokens_per_s, or import your own benchmark with "
                         "`cocoon-econ throughput import RESULT.json --scenario FILE --write`")
    family = _family(gpu)

    def gpu_rank(r: ThroughputRow) -> int:
        if r.canonical_gpu == gpu:
            return 0
        return 1 if family and _family(r.gpu) == family else 2

    def rank(r: ThroughputRow) -> tuple:
        n = r.concurrency_n
        regime = 2 if n is None else (0 if n <= COCOON_MAX_ACTIVE_REQUESTS else 1)
        return (0 if r.whole_gpu else 1, regime, 0 if engine in r.engine.lower() else 1,
                0 if n is None else abs(COCOON_MAX_ACTIVE_REQUESTS - n), gpu_rank(r),
                _CONFIDENCE_RANK.get(r.confidence, 3), r.row)

    best = min(candidates, key=rank)
    match = ("same", "family", "other")[gpu_rank(best)]
    engine_match = engine in best.engine.lower()
    near = [r.row for r in candidates if r.concurrency_n is not None
            and LOW_CONCURRENCY_BELOW <= r.concurrency_n <= COCOON_MAX_ACTIVE_REQUESTS]
    cautions = _cautions(best, gpu, engine, match, engine_match, near)
    return ThroughputChoice(row=best, gpu=gpu, engine=engine, gpu_match=match, engine_match=engine_match,
                            cautions=cautions)


def _measurement(n: int | None) -> str:
    if n is None:
        return "saturation"
    if n > COCOON_MAX_ACTIVE_REQUESTS:
        return "above 60"
    return "low-concurrency" if n < LOW_CONCURRENCY_BELOW else "near COCOON"


def _cautions(r: ThroughputRow, gpu: str, engine: str, gpu_match: str, engine_match: bool,
              near: list[int]) -> tuple[str, ...]:
    out = []
    kind = _measurement(r.concurrency_n)
    band = f"{LOW_CONCURRENCY_BELOW}-{COCOON_MAX_ACTIVE_REQUESTS}"
    rows_text = f"rows {', '.join(map(str, near))} measure" if len(near) > 1 else f"row {near[0]} measures" if near else ""
    where = (f"{rows_text} {band} concurrent requests with another engine, GPU or part of a GPU" if near
             else f"no row measures {r.model} at {band} concurrent requests")
    if kind == "saturation":
        out.append(f"a saturation measurement ({r.concurrency}): a ceiling, above what {COCOON_MAX_ACTIVE_REQUESTS} "
                   f"concurrent requests give ({where})")
    elif kind == "low-concurrency":
        out.append(f"a low-concurrency measurement ({r.concurrency_n} concurrent requests): a worker loaded with up "
                   f"to {COCOON_MAX_ACTIVE_REQUESTS} serves more ({where})")
    elif kind == "above 60":
        out.append(f"measured at {r.concurrency_n} concurrent requests, more than the {COCOON_MAX_ACTIVE_REQUESTS} "
                   f"a COCOON worker is sent ({where})")
    if gpu_match != "same":
        out.append(f"measured on {r.gpu}, not the scenario's {gpu}")
    if not engine_match:
        out.append(f"measured with {r.engine}, not {engine}")
    if not r.whole_gpu:
        out.append("measured on part of a GPU or derived per GPU from a multi-GPU system")
    if r.confidence == "low":
        out.append("low-confidence row (secondary source or client-limited run; see its notes)")
    return tuple(out)


def reference_row_number(source: str) -> int | None:
    """The row number in a ``throughput_source`` of the form ``reference: inference_throughput_cocoon.csv row N``."""
    m = _REFERENCE_SOURCE.match(source.strip())
    return int(m.group(1)) if m else None


def reference_source(row: ThroughputRow) -> str:
    """What ``[workload] throughput_source`` says for a reference row."""
    return (f"{REFERENCE_SOURCE_PREFIX} {THROUGHPUT_TABLE} row {row.row} ({row.model}, {row.gpu.split('(')[0].strip()}, "
            f"{row.engine}, concurrency {row.concurrency}, {row.confidence or 'unrated'} confidence)")


def describe_throughput(workload: Any, gpu: str) -> dict[str, Any]:
    """Where a scenario's throughput came from, for every output that uses it.

    ``workload`` is a :class:`~analysis.econ.scenario.WorkloadConfig`. Returns a JSON-ready
    dict: ``served_output_tokens_per_s`` (what the income uses), ``output_tokens_per_s`` (before
    the CC overhead), ``cc_overhead_fraction``, ``kind`` (``"reference"`` -- a row of
    inference_throughput_cocoon.csv; ``"measured"`` -- an imported benchmark; ``"given"`` -- a
    number in the file), ``source``, ``cc_overhead`` (text), ``model``, ``engine``, ``row``
    (the reference row's fields, or None) and ``cautions``.
    """
    source = workload.throughput_source
    number = reference_row_number(source)
    kind = "reference" if number is not None else "measured" if source.startswith("measured:") else "given"
    cc = float(workload.cc_overhead_fraction)
    default = cc_overhead_default()
    spread = f"cc_mode_overhead.csv: {default.rows} rows range {default.low:.1%}-{default.high:.1%}"
    row_info, cautions = None, []
    if number is not None:
        by_number = {r.row: r for r in throughput_rows()}
        row = by_number.get(number)
        if row is not None:
            choice = select_throughput_row(workload.model, gpu, workload.engine)
            if choice.row.row == number:
                cautions = list(choice.cautions)
            else:
                cautions = list(_cautions(row, gpu, workload.engine, "other" if row.canonical_gpu != gpu else "same",
                                          workload.engine in row.engine.lower(), []))
            row_info = {"row": row.row, "model": row.model, "gpu": row.gpu, "engine": row.engine,
                        "precision": row.precision, "concurrency": row.concurrency,
                        "output_tokens_per_s": row.output_tokens_per_s, "observed": row.observed,
                        "source": row.source, "confidence": row.confidence, "measurement": _measurement(row.concurrency_n)}
    if kind == "reference" and cc == default.default:
        cc_text = f"less {cc:.1%} CC overhead ({default.describe()})"
    elif cc > 0:
        cc_text = f"less {cc:.1%} CC overhead from [workload] cc_overhead_fraction ({spread})"
    elif kind == "reference":
        cc_text = "no CC overhead ([workload] cc_overhead_fraction = 0)"
    else:
        cc_text = (f"no CC overhead: an explicit throughput is taken as measured under confidential computing; "
                   f"set [workload] cc_overhead_fraction (default {default.default:.0%}) if it was not")
    if kind != "reference":
        cautions = []
    if kind == "given" and not source:
        source = "[workload] output_tokens_per_s (no throughput_source given)"
    if kind != "measured":
        cautions.append("import your own benchmark: cocoon-econ throughput import RESULT.json --scenario FILE --write")
    return {"served_output_tokens_per_s": float(workload.served_output_tokens_per_s),
            "output_tokens_per_s": float(workload.output_tokens_per_s), "cc_overhead_fraction": cc,
            "kind": kind, "source": source, "cc_overhead": cc_text, "model": workload.model,
            "engine": workload.engine, "row": row_info, "cautions": cautions}


def throughput_lines(info: dict[str, Any]) -> list[str]:
    """:func:`describe_throughput` as text lines (the first says where the throughput came from)."""
    lines = [f"Throughput: {info['served_output_tokens_per_s']:,.1f} output tok/s per GPU ({info['model']}, "
             f"{info['engine']}) = {info['output_tokens_per_s']:,.1f} from {info['source']}; {info['cc_overhead']}"]
    lines += [f"  caution: {c}" for c in info["cautions"]]
    return lines


# --------------------------------------------------------------------------- CC overhead


@dataclass(frozen=True)
class CcOverhead:
    """The default confidential-computing throughput overhead and the range of the relevant rows."""

    default: float
    low: float
    high: float
    median: float
    rows: int
    source: str
    confidence: str

    def describe(self) -> str:
        return (f"{CC_TABLE} default from {self.source}, {self.confidence} confidence; {self.rows} relevant rows "
                f"range {self.low:.1%}-{self.high:.1%}, median {self.median:.1%}")


def cc_overhead_default(path: Path | None = None) -> CcOverhead:
    """The CC overhead default (the row of :data:`CC_DEFAULT_SOURCE`) and the range of the rows
    that measure LLM serving on a GPU: rows with a number, a GPU (not ``none (CPU)``), and not a
    training run, a matmul micro-benchmark, a regression between vLLM versions or a lower bound."""
    path = reference_path(CC_TABLE) if path is None else path
    values, default = [], None
    with open(path, newline="", encoding="utf-8") as handle:
        for raw in csv.DictReader(handle):
            value = _number(raw["overhead_fraction"])
            if value is None:
                continue
            text = f"{raw['setting']} {raw['metric']}".lower()
            if raw["gpu"].lower().startswith("none") or any(
                    word in text for word in ("training", "matmul", "regression", "lower bound")):
                continue
            values.append(value)
            if default is None and raw["source"].startswith(CC_DEFAULT_SOURCE):
                default = (value, raw["source"].split(" (")[0], raw["confidence"])
    if default is None or not values:
        raise DataError(f"{CC_TABLE}: no row from {CC_DEFAULT_SOURCE}; the vendored table is incomplete")
    values.sort()
    mid = len(values) // 2
    median = values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2
    return CcOverhead(default=default[0], low=values[0], high=values[-1], median=median, rows=len(values),
                      source=default[1], confidence=default[2])


# --------------------------------------------------------------------------- benchmark files


@dataclass(frozen=True)
class BenchmarkRun:
    """One serving-benchmark run, as ``vllm bench serve`` or SGLang ``bench_serving`` saved it.

    Throughputs are in tokens per second over the run (``total_output_tokens / duration``, as
    the tools compute them). ``max_concurrency`` is the client's ``--max-concurrency`` (``None``
    = not set: all requests may be in flight at once); ``peak_concurrent_requests`` the peak the
    tool observed, when it records one.
    """

    format: str  # "vllm bench serve" | "sglang bench_serving"
    model: str | None
    backend: str | None
    date: str | None
    num_prompts: int | None
    completed: int
    failed: int | None
    duration_s: float
    total_input_tokens: int
    total_output_tokens: int
    output_tokens_per_s: float
    total_tokens_per_s: float
    max_concurrency: int | None
    peak_concurrent_requests: int | None
    request_rate: float | str | None

    @property
    def prompt_tokens_per_output_token(self) -> float:
        return self.total_input_tokens / self.total_output_tokens

    @property
    def concurrency(self) -> int | None:
        """The run's concurrency bound: ``--max-concurrency``, else the observed peak, else None."""
        return self.max_concurrency if self.max_concurrency is not None else self.peak_concurrent_requests


def _field(payload: dict, key: str, origin: str, kinds=(int, float)):
    if key not in payload:
        raise InputError(f"{origin}: no {key!r} field; pass the JSON file `vllm bench serve --save-result` writes "
                         "(or SGLang bench_serving's --output-file)")
    value = payload[key]
    if isinstance(value, bool) or not isinstance(value, kinds):
        raise InputError(f"{origin}: {key} = {value!r} is not a number; the result file is damaged")
    if isinstance(value, float) and not math.isfinite(value):
        raise InputError(f"{origin}: {key} = {value!r} is not finite; the result file is damaged")
    return value


def _optional_int(payload: dict, key: str) -> int | None:
    value = payload.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return int(value)


def _vllm_date(text: Any) -> str | None:
    """vLLM writes ``datetime.now().strftime("%Y%m%d-%H%M%S")`` (the client's local time)."""
    if not isinstance(text, str):
        return None
    try:
        return dt.datetime.strptime(text, "%Y%m%d-%H%M%S").isoformat(sep=" ")
    except ValueError:
        return text


def _check_run(run: BenchmarkRun, origin: str) -> BenchmarkRun:
    if run.completed < 1 or run.total_output_tokens < 1:
        raise InputError(f"{origin}: the run completed {run.completed} requests and {run.total_output_tokens} "
                         "output tokens; rerun the benchmark until requests succeed")
    if not run.duration_s > 0:
        raise InputError(f"{origin}: duration = {run.duration_s!r} s; the result file is damaged")
    # The tools compute output_throughput = total_output_tokens / duration: check the file agrees.
    expected = run.total_output_tokens / run.duration_s
    if abs(run.output_tokens_per_s - expected) > 0.01 * expected:
        raise InputError(f"{origin}: output throughput {run.output_tokens_per_s:g} tok/s does not match "
                         f"total_output_tokens / duration = {expected:g}; the result file is inconsistent")
    return run


def parse_vllm_bench_result(payload: dict, origin: str = "<result>") -> BenchmarkRun:
    """A run from the JSON object ``vllm bench serve --save-result`` writes.

    Keys read (vllm/benchmarks/serve.py, ``result_json``): ``date`` (``%Y%m%d-%H%M%S``, local
    time), ``backend``, ``model_id``, ``num_prompts``, ``request_rate`` (a number or ``"inf"``),
    ``max_concurrency`` (``null`` when not set), ``duration``, ``completed``, ``failed``,
    ``total_input_tokens``, ``total_output_tokens``, ``output_throughput``,
    ``total_token_throughput`` and, in recent versions, ``max_concurrent_requests``.
    """
    if not isinstance(payload, dict):
        raise InputError(f"{origin}: a result is a JSON object, not {type(payload).__name__}")
    run = BenchmarkRun(
        format="vllm bench serve", model=payload.get("model_id") if isinstance(payload.get("model_id"), str) else None,
        backend=payload.get("backend") if isinstance(payload.get("backend"), str) else None,
        date=_vllm_date(payload.get("date")), num_prompts=_optional_int(payload, "num_prompts"),
        completed=int(_field(payload, "completed", origin)), failed=_optional_int(payload, "failed"),
        duration_s=float(_field(payload, "duration", origin)),
        total_input_tokens=int(_field(payload, "total_input_tokens", origin)),
        total_output_tokens=int(_field(payload, "total_output_tokens", origin)),
        output_tokens_per_s=float(_field(payload, "output_throughput", origin)),
        total_tokens_per_s=float(_field(payload, "total_token_throughput", origin)),
        max_concurrency=_optional_int(payload, "max_concurrency"),
        peak_concurrent_requests=_optional_int(payload, "max_concurrent_requests"),
        request_rate=payload.get("request_rate"))
    return _check_run(run, origin)


def parse_sglang_bench_result(payload: dict, origin: str = "<result>") -> BenchmarkRun:
    """A run from one line of the JSON-lines file SGLang's ``python -m sglang.bench_serving`` appends to.

    Keys read (python/sglang/bench_serving.py, ``result``): ``backend``, ``request_rate``
    (``Infinity`` when unbounded), ``max_concurrency``, ``server_info`` (the server's
    ``/get_server_info``: ``served_model_name``/``model_path``, ``version``), ``duration``,
    ``completed``, ``total_input_tokens``, ``total_output_tokens``, ``output_throughput``,
    ``total_throughput`` (absent in older versions: then ``(input + output) / duration``) and
    ``max_concurrent_requests`` where recorded. The file records no date.
    """
    if not isinstance(payload, dict):
        raise InputError(f"{origin}: a result is a JSON object, not {type(payload).__name__}")
    raw_info = payload.get("server_info")
    info: dict[str, Any] = raw_info if isinstance(raw_info, dict) else {}
    model = info.get("served_model_name") or info.get("model_path")
    duration = float(_field(payload, "duration", origin))
    total_in = int(_field(payload, "total_input_tokens", origin))
    total_out = int(_field(payload, "total_output_tokens", origin))
    total = payload.get("total_throughput")
    if isinstance(total, bool) or not isinstance(total, (int, float)) or not math.isfinite(total):
        total = (total_in + total_out) / duration if duration > 0 else 0.0
    rate = payload.get("request_rate")
    run = BenchmarkRun(
        format="sglang bench_serving", model=model if isinstance(model, str) else None,
        backend=payload.get("backend") if isinstance(payload.get("backend"), str) else None, date=None,
        num_prompts=_optional_int(payload, "num_prompts"), completed=int(_field(payload, "completed", origin)),
        failed=None, duration_s=duration, total_input_tokens=total_in, total_output_tokens=total_out,
        output_tokens_per_s=float(_field(payload, "output_throughput", origin)), total_tokens_per_s=float(total),
        max_concurrency=_optional_int(payload, "max_concurrency"),
        peak_concurrent_requests=_optional_int(payload, "max_concurrent_requests"),
        request_rate="inf" if isinstance(rate, float) and math.isinf(rate) else rate)
    return _check_run(run, origin)


def parse_bench_result(payload: dict, origin: str = "<result>") -> BenchmarkRun:
    """A run in either format: vLLM's names ``model_id``/``total_token_throughput``; SGLang's
    ``total_output_tokens_retokenized``/``input_throughput``/``server_info``."""
    if isinstance(payload, dict) and ("total_token_throughput" in payload or "model_id" in payload):
        return parse_vllm_bench_result(payload, origin)
    if isinstance(payload, dict) and any(k in payload for k in ("total_output_tokens_retokenized", "input_throughput",
                                                                "server_info")):
        return parse_sglang_bench_result(payload, origin)
    keys = ", ".join(list(payload)[:6]) if isinstance(payload, dict) else type(payload).__name__
    raise InputError(f"{origin}: not a serving-benchmark result (keys {keys}); pass the file "
                     "`vllm bench serve --save-result` writes or SGLang bench_serving's JSON lines")


#: A benchmark result read whole; vLLM's --save-detailed files of ~10k requests are tens of MB.
MAX_RESULT_BYTES = 256 * 2**20


def read_benchmark_file(path: str | Path) -> list[BenchmarkRun]:
    """Every run in a result file: one JSON object (``--save-result``), or one per line
    (``--append-result``, SGLang's ``.jsonl``).

    Raises
    ------
    InputError
        Missing or unreadable file, invalid JSON (with its line), or a run that is not a
        serving-benchmark result.
    """
    path = Path(path)
    text = read_user_text(path, flag="RESULT", what="benchmark result JSON",
                          examples="the file `vllm bench serve --save-result` or SGLang bench_serving wrote",
                          max_bytes=MAX_RESULT_BYTES, size_hint="result files with per-request details are tens of MB")
    try:
        payloads = [json.loads(text)]
    except json.JSONDecodeError:
        payloads = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                payloads.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise InputError(f"{path.name}: line {number} is not valid JSON ({exc.msg} at column {exc.colno}); "
                                 "pass the file the benchmark wrote, unedited") from None
    if not payloads:
        raise InputError(f"{path.name}: the file is empty; pass the JSON file your benchmark saved")
    many = len(payloads) > 1
    return [parse_bench_result(p, f"{path.name} run {i}" if many else path.name) for i, p in enumerate(payloads, 1)]


def run_cautions(run: BenchmarkRun, scenario_model: str | None = None) -> list[str]:
    """Warnings about a run: concurrency above COCOON's 60 or unbounded, a model other than the
    scenario's, failed requests."""
    out = []
    n = run.concurrency
    if run.max_concurrency is None:
        peak = f" (peak {run.peak_concurrent_requests} in flight)" if run.peak_concurrent_requests else ""
        if n is None or n > COCOON_MAX_ACTIVE_REQUESTS:
            out.append(f"the run set no --max-concurrency{peak}: a COCOON worker gets at most "
                       f"{COCOON_MAX_ACTIVE_REQUESTS} requests at once; rerun with --max-concurrency "
                       f"{COCOON_MAX_ACTIVE_REQUESTS}")
    elif run.max_concurrency > COCOON_MAX_ACTIVE_REQUESTS:
        out.append(f"the run's concurrency {run.max_concurrency} exceeds the {COCOON_MAX_ACTIVE_REQUESTS} requests "
                   f"a COCOON worker is sent (max_active_requests); rerun with --max-concurrency "
                   f"{COCOON_MAX_ACTIVE_REQUESTS}")
    if scenario_model is not None:
        if run.model is None:
            out.append(f"the file does not name its model; check it served {scenario_model} ([workload] model)")
        elif model_key(run.model) != model_key(scenario_model):
            out.append(f"the run's model {run.model} differs from the scenario's {scenario_model} "
                       "([workload] model); its throughput is not that model's")
    if run.failed:
        out.append(f"{run.failed} requests failed; the throughput counts the {run.completed} that completed")
    return out


def implied_workload(run: BenchmarkRun) -> dict[str, float]:
    """The ``[workload]`` values a run implies: ``output_tokens_per_s`` (the run's output
    throughput) and ``prompt_tokens_per_output_token`` (total input over total output tokens)."""
    return {"output_tokens_per_s": round(run.output_tokens_per_s, 2),
            "prompt_tokens_per_output_token": round(run.prompt_tokens_per_output_token, 4)}


def run_source(run: BenchmarkRun, path: str | Path) -> str:
    """What ``[workload] throughput_source`` records for an imported run."""
    parts = [run.format, f"run of {run.date}" if run.date else "undated run",
             f"model {run.model}" if run.model else "model not recorded",
             f"max concurrency {run.max_concurrency}" if run.max_concurrency is not None else "no max concurrency",
             f"{run.completed} requests"]
    return f"measured: {Path(path).name} ({', '.join(parts)})"


# --------------------------------------------------------------------------- writing a scenario


def write_workload_values(scenario_path: str | Path, values: dict[str, Any], comments: dict[str, str],
                          table_comment: str | None = None) -> str:
    """Set ``[workload]`` keys of a scenario TOML in place, keeping every other line and comment.

    ``values`` are written (replacing existing keys where they stand, else appended to the
    table), each with the end-of-line comment of ``comments``; ``table_comment`` replaces the
    comment on the ``[workload]`` line (which may say where the old throughput came from).
    The result is validated as a
    scenario before it replaces the file (atomically), so a failed edit leaves it unchanged.
    Returns the new text.
    """
    import tomlkit

    from analysis.econ.scenario import load_scenario, parse_scenario
    from analysis.market.store import atomic_write_text

    path = Path(scenario_path)
    load_scenario(path)  # the file must be a valid scenario to begin with (and exist)
    text = path.read_text(encoding="utf-8")
    document = tomlkit.parse(text)
    if "workload" not in document:
        document.add("workload", tomlkit.table())
    table = document["workload"]
    if table_comment:
        table.comment(table_comment)
    for key, value in values.items():
        item = tomlkit.item(value)
        if comments.get(key):
            item.comment(comments[key])
        table[key] = item
    new_text = tomlkit.dumps(document)
    import tomllib

    parse_scenario(tomllib.loads(new_text), origin=path.name, path=path)
    from analysis.core.outputs import check_output

    # A regular file only; a symlinked scenario keeps its link and its target is edited (issue 13).
    atomic_write_text(check_output("--scenario", path, "scenario.toml"), new_text)
    return new_text
