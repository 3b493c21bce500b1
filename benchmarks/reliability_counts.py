"""Re-run the counts of issue 13: bad inputs, HTTP faults and interrupts, and how many are handled.

    .venv/bin/python benchmarks/reliability_counts.py [--json counts.json] [--verbose]

Everything runs in this process against loopback servers (127.0.0.1 and 127.0.0.2); nothing
leaves the machine. Each case is bounded by an alarm; the whole run takes about 90 s on 2 cores.

- **bad inputs**: every scenario field x absurd values (NaN, infinities, 1e308, 1e-300, negatives,
  wrong types, far dates), the CLI arguments and output paths the issue lists, odd files. Handled =
  exit 2 (or 1) with exactly one error line and no traceback, or exit 0 with finite output only.
- **HTTP faults**: every cache-writing fetch (6 price sources, 3 funding sources, 2 rate APIs) and
  the two chain readers x 13 faults (500, long Retry-After, truncated and invalid JSON, an HTML
  error page, an empty or wrongly shaped 200, a slow drip, an oversized body, a gzip bomb, a key
  echoed back, a body cut short, a redirect to another host). Handled = a one-line error (or a
  clean result) within the deadline, the cache byte-identical after a failure, no key in any
  message, no key header sent to the other host.
- **interrupts**: Ctrl-C (KeyboardInterrupt) at every request and at every file replace of a
  multi-page refresh of each price and funding source. Handled = the cache is byte-identical
  afterwards (or holds the complete new state when the interrupt came after the last replace),
  and the CLI turns it into exit 130 with one line.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import datetime as dt
import gzip
import io
import json
import logging
import os
import re
import signal
import sys
import tempfile
import time
import warnings
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import price_api_fakes as fakes  # noqa: E402
from econ_support import BASE, scenario_toml, toml_value  # noqa: E402
from pytest_httpserver import HTTPServer  # noqa: E402
from werkzeug import Request, Response  # noqa: E402

from analysis.cli.main import main  # noqa: E402
from analysis.core.errors import CocoonEconError  # noqa: E402
from analysis.market import prices, rates  # noqa: E402
from analysis.sources import tonapi, toncenter  # noqa: E402

KEY = "k3y-Sup3r-S3cret-0123456789"
KEY_ENVS = ("TONCENTER_API_KEY", "TONAPI_KEY", "RUNPOD_API_KEY", "VAST_API_KEY", "COINGECKO_DEMO_API_KEY")
NOW = dt.datetime(2025, 3, 10, 12, 0, tzinfo=dt.UTC)
FAST = {"timeout_s": 1.0, "max_retries": 1, "backoff_s": 0.0, "max_wait_s": 5.0, "min_interval_s": 0.0,
        "deadline_s": 2.0}
CASE_LIMIT_S = 30
ADDRESS = "EQCns7bYSp0igFvS1wpb5wsZjCKCV19MD5AVzI4EyxsnU73k"


class Hang(Exception):
    """A case ran past :data:`CASE_LIMIT_S`."""


@contextlib.contextmanager
def alarm(seconds: int):
    def fire(_signum, _frame):
        raise Hang(f"no answer within {seconds} s")
    previous = signal.signal(signal.SIGALRM, fire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def run_cli(argv: list[str]) -> tuple[int | str, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        with alarm(CASE_LIMIT_S), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), \
                warnings.catch_warnings():
            warnings.simplefilter("ignore")
            code: int | str = main(argv)
    except Hang:
        code = "hang"
    except BaseException as exc:  # noqa: BLE001 - a traceback is what is being counted
        code = f"traceback {type(exc).__name__}: {exc}"[:200]
    return code, out.getvalue(), err.getvalue()


_NON_FINITE = re.compile(r"(?<![A-Za-z_])(nan|inf|-inf|infinity)(?![A-Za-z_])", re.IGNORECASE)


def cli_handled(code: int | str, out: str, err: str) -> tuple[bool, str]:
    if not isinstance(code, int):
        return False, str(code)
    if "Traceback" in out + err:
        return False, "traceback printed"
    if code == 0:
        return (not _NON_FINITE.search(out), "finite result" if not _NON_FINITE.search(out) else "non-finite printed")
    lines = [x for x in err.splitlines() if x.startswith("cocoon-econ")]
    if code in (1, 2) and len(lines) == 1:
        return True, lines[0][:160]
    return False, f"exit {code} with {len(lines)} error lines"


# --------------------------------------------------------------------------- bad inputs


ABSURD = [float("nan"), float("inf"), -1e308, 1e308, 1e-300, -1.0, "x", True]


def bad_inputs(folder: Path) -> list[tuple[str, list[str]]]:
    cases: list[tuple[str, list[str]]] = []
    for table, keys in BASE.items():
        if not isinstance(keys, dict):
            continue
        for key in keys:
            for value in ABSURD:
                mapping = copy.deepcopy(BASE)
                mapping[table][key] = value
                path = folder / f"{table}.{key}.{len(cases)}.toml"
                path.write_text(scenario_toml(mapping))
                cases.append((f"[{table}] {key} = {toml_value(value)}", ["breakeven", "--scenario", str(path)]))
    example = str(ROOT / "data" / "scenarios" / "h200_single.toml")
    specials = {
        "start 9999-12-31": {"finance": {"start": dt.date(9999, 12, 31)}},
        "worker fee above price": {"network": {"worker_fee_per_token_nanoton": 40}},
        "discount -0.9999999": {"finance": {"discount_rate_annual": -0.9999999}},
        "unknown key": {"hardware": {"gpu_count": 2}},
    }
    for label, change in specials.items():
        mapping = copy.deepcopy(BASE)
        for table, kv in change.items():
            mapping[table].update(kv)
        path = folder / f"special{len(cases)}.toml"
        path.write_text(scenario_toml(mapping))
        for command in ("breakeven", "simulate", "compare"):
            cases.append((f"{label} ({command})", [command, "--scenario", str(path)]))
    bom = folder / "bom.toml"
    bom.write_bytes(b"\xef\xbb\xbf" + Path(example).read_bytes())
    (folder / "dir").mkdir()
    (folder / "real.csv").write_text("x")
    (folder / "link.csv").symlink_to(folder / "real.csv")
    (folder / "bad.toml").write_text("name = \n[")
    (folder / "latin1.toml").write_bytes("name = \"caf\xe9\"".encode("latin-1"))
    (folder / "empty.toml").write_text("")
    cli = [
        ("BOM scenario", ["breakeven", "--scenario", str(bom)]),
        ("scenario /dev/zero", ["breakeven", "--scenario", "/dev/zero"]),
        ("scenario is a folder", ["breakeven", "--scenario", str(folder)]),
        ("scenario missing", ["breakeven", "--scenario", str(folder / "nope.toml")]),
        ("scenario not TOML", ["breakeven", "--scenario", str(folder / "bad.toml")]),
        ("scenario not UTF-8", ["breakeven", "--scenario", str(folder / "latin1.toml")]),
        ("scenario empty", ["breakeven", "--scenario", str(folder / "empty.toml")]),
        ("ledger --out DIR/", ["ledger", "--scenario", example, "--out", str(folder / "dir") + "/"]),
        ("ledger --out ''", ["ledger", "--scenario", example, "--out", ""]),
        ("ledger --out /dev/full", ["ledger", "--scenario", example, "--out", "/dev/full"]),
        ("ledger --out X --tax X", ["ledger", "--scenario", example, "--out", str(folder / "x.csv"),
                                    "--tax", str(folder / "x.csv")]),
        ("ledger --out symlink", ["ledger", "--scenario", example, "--out", str(folder / "link.csv")]),
        ("ledger --tax DIR", ["ledger", "--scenario", example, "--out", str(folder / "y.csv"),
                              "--tax", str(folder / "dir")]),
        ("ledger --start 1900-01-01", ["ledger", "--scenario", example, "--out", str(folder / "z.csv"),
                                       "--start", "1900-01-01"]),
        ("ledger --end before start", ["ledger", "--scenario", example, "--out", str(folder / "z.csv"),
                                       "--start", "2025-01-10", "--end", "2025-01-01"]),
        ("simulate --window-days 3", ["simulate", "--scenario", example, "--window-days", "3"]),
        ("simulate --vol-annual 40", ["simulate", "--scenario", example, "--method", "gbm", "--vol-annual", "40"]),
        ("simulate --drift-annual 1000 --json", ["simulate", "--scenario", example, "--method", "gbm",
                                                 "--drift-annual", "1000", "--json"]),
        ("simulate --start-price 1e308", ["simulate", "--scenario", example, "--start-price", "1e308"]),
        ("simulate --paths 1e12", ["simulate", "--scenario", example, "--paths", "1000000000000"]),
        ("simulate --horizon-days 1e8", ["simulate", "--scenario", example, "--horizon-days", "100000000"]),
        ("simulate --paths 0", ["simulate", "--scenario", example, "--paths", "0"]),
        ("simulate --strategies nope", ["simulate", "--scenario", example, "--strategies", "nope"]),
        ("simulate --seed -1", ["simulate", "--scenario", example, "--seed", "-1"]),
        ("breakeven --ton-usd 0", ["breakeven", "--scenario", example, "--ton-usd", "0"]),
        ("breakeven --ton-usd nan", ["breakeven", "--scenario", example, "--ton-usd", "nan"]),
        ("breakeven --ton-usd 1e308", ["breakeven", "--scenario", example, "--ton-usd", "1e308"]),
        ("compare --token-usd -1", ["compare", "--scenario", example, "--token-usd", "-1"]),
        ("fetch prices --start future", ["fetch", "prices", "--source", "binance", "--start", "2999-01-01"]),
        ("fetch prices --base-url ftp://", ["fetch", "prices", "--source", "binance", "--start", "2025-01-01",
                                           "--base-url", "ftp://x"]),
        ("fetch prices --out /dev/full", ["fetch", "prices", "--source", "binance", "--start", "2025-01-01",
                                          "--out", "/dev/full"]),
        ("rates --gpu nope", ["rates", "--gpu", "nope"]),
        ("chain payouts bad owner", ["chain", "payouts", "--owner", "not-an-address"]),
        ("unknown command", ["frobnicate"]),
    ]
    return cases + cli


# --------------------------------------------------------------------------- HTTP faults


def fault_handler(kind: str, other: HTTPServer) -> Callable[[Request], Response]:
    def handler(request: Request) -> Response:
        if kind == "500":
            return Response("Internal Server Error", status=500)
        if kind == "429-long":
            return fakes.json_response({"msg": "slow down"}, 429, {"Retry-After": "9999"})
        if kind == "truncated":
            return Response('{"data": [[1, 2', status=200, content_type="application/json")
        if kind == "html-502":
            return Response("<html><head><title>502 Bad Gateway</title></head><body>" + "x" * 5000 + "</body></html>",
                            status=502, content_type="text/html")
        if kind == "not-json-200":
            return Response("<html>maintenance</html>", status=200, content_type="text/html")
        if kind == "empty-200":
            return Response("", status=200, content_type="application/json")
        if kind == "wrong-shape":
            return fakes.json_response({"unexpected": [1, 2, 3]})
        if kind == "slow-drip":
            def drip():
                for _ in range(100):
                    time.sleep(0.1)
                    yield b" "
            return Response(drip(), content_type="application/json")
        if kind == "huge":
            return Response(b"[" + b"1," * 1_500_000 + b"1]", content_type="application/json")
        if kind == "gzip-bomb":
            return Response(BOMB, headers={"Content-Encoding": "gzip"}, content_type="application/json")
        if kind == "key-echo":
            sent = " ".join(f"{k}={v}" for k, v in request.headers.items())
            return fakes.json_response({"error": f"invalid key; you sent {sent}"}, 401)
        if kind == "cut-short":
            return Response(b'{"data": [', headers={"Content-Length": "5000"}, content_type="application/json")
        if kind == "redirect":
            query = request.query_string.decode()
            return Response(status=302, headers={"Location": other.url_for(request.path) + (f"?{query}" if query
                                                                                           else "")})
        raise AssertionError(kind)
    return handler


FAULTS = ("500", "429-long", "truncated", "html-502", "not-json-200", "empty-200", "wrong-shape", "slow-drip",
          "huge", "gzip-bomb", "key-echo", "cut-short", "redirect")
BOMB = gzip.compress(b" " * (64 * 2**20), compresslevel=9)


def fetchers(cache: Path) -> dict[str, Callable[[str], Any]]:
    d = dt.date
    out: dict[str, Callable[[str], Any]] = {}
    for source in prices.PRICE_SOURCES:
        out[f"prices {source}"] = (lambda s: lambda url: prices.refresh_prices(
            "ton", s, d(2025, 1, 1), d(2025, 3, 1), cache_dir=cache, base_url=url, now=NOW, **FAST))(source)
    for source in prices.FUNDING_SOURCES:
        out[f"funding {source}"] = (lambda s: lambda url: prices.refresh_funding(
            s, d(2025, 2, 1), d(2025, 3, 1), cache_dir=cache, base_url=url, now=NOW, **FAST))(source)
    for source in ("runpod", "vastai"):
        out[f"rates {source}"] = (lambda s: lambda url: rates.fetch_rates(
            s, gpu="H100-SXM" if s == "vastai" else None, cache_dir=cache, base_url=url, **FAST))(source)
    out["chain toncenter"] = lambda url: toncenter.get_toncenter_account_state(
        ADDRESS, client=_fast(toncenter.toncenter_client(url)))
    out["chain tonapi"] = lambda url: tonapi.get_tonapi_account_state(ADDRESS, client=_fast(tonapi.tonapi_client(url)))
    return out


def _fast(client: Any) -> Any:
    for name, value in FAST.items():
        setattr(client, name, value)
    return client


def snapshot(cache: Path) -> dict[str, bytes]:
    return {p.relative_to(cache).as_posix(): p.read_bytes() for p in sorted(cache.rglob("*"))
            if p.is_file() and not p.name.endswith(".lock")}


def http_faults(cache: Path, verbose: bool) -> list[tuple[str, bool, str]]:
    server, other = HTTPServer(host="127.0.0.1", port=0, threaded=True), HTTPServer(host="127.0.0.2", port=0)
    server.start()
    other.start()
    results = []
    try:
        seen: list[dict] = []
        other.expect_request(re.compile(".*")).respond_with_handler(
            lambda r: (seen.append(dict(r.headers)), Response("gone", status=500))[1])
        for kind in FAULTS:
            server.clear()
            server.expect_request(re.compile(".*")).respond_with_handler(fault_handler(kind, other))
            for name, fetch in fetchers(cache).items():
                seen.clear()
                before = snapshot(cache)
                began = time.monotonic()
                outcome = "ok"
                try:
                    with alarm(CASE_LIMIT_S), warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        fetch(server.url_for("/"))
                except CocoonEconError as exc:
                    outcome = " ".join(str(exc).split())
                except Hang as exc:
                    outcome = f"HANG {exc}"
                except BaseException as exc:  # noqa: BLE001 - counted as not handled
                    outcome = f"TRACEBACK {type(exc).__name__}: {exc}"
                elapsed = time.monotonic() - began
                problems = []
                if outcome.startswith(("HANG", "TRACEBACK")):
                    problems.append(outcome[:120])
                if outcome != "ok" and snapshot(cache) != before:
                    problems.append("cache changed by a failed fetch")
                if KEY in outcome:
                    problems.append("key in the message")
                if any(KEY in json.dumps(h) for h in seen):
                    problems.append("key sent to the other host")
                if elapsed > 15:
                    problems.append(f"took {elapsed:.0f} s")
                if "\n" in outcome:
                    problems.append("multi-line message")
                results.append((f"{name} / {kind}", not problems, "; ".join(problems) or outcome[:140]))
                if verbose:
                    print(f"  {'ok ' if not problems else 'BAD'} {name} / {kind}: {results[-1][2]}")
    finally:
        server.stop()
        other.stop()
    return results


# --------------------------------------------------------------------------- interrupts


def _jobs() -> list[tuple[str, str, Callable[[], Callable], Callable[..., Any], dt.date]]:
    """(label, path, handler factory, refresh(cache, url, first, last), first day served) per cache writer."""
    import test_sources_http_faults as cases  # the six price sources' real paging, served on loopback

    jobs = []
    for case in cases.CASES:
        jobs.append((f"prices {case.name}", case.path, case.handler,
                     (lambda n: lambda cache, url, a, b: prices.refresh_prices(
                         "ton", n, a, b, cache_dir=cache, base_url=url, now=cases.NOW, **FAST))(case.name),
                     case.start))
    t0 = fakes.day_ms(dt.date(2024, 6, 1))
    events = [(t0 + i * 28_800_000, 0.0001 * ((i % 7) - 3)) for i in range(3 * 280)]   # 8-hourly to 2025-03
    funding = {
        "binance": ("/fapi/v1/fundingRate", lambda: fakes.binance_funding_handler(fakes.binance_funding(events),
                                                                                max_limit=200)),
        "okx": ("/api/v5/public/funding-rate-history",
                lambda: fakes.okx_after_handler(fakes.okx_funding(events), lambda r: int(r["fundingTime"]))),
        "bybit": ("/v5/market/funding/history",
                  lambda: fakes.bybit_handler(fakes.bybit_funding(events), lambda r: int(r["fundingRateTimestamp"]),
                                              start_key="startTime", end_key="endTime", max_limit=200)),
    }
    for name, (path, factory) in funding.items():
        jobs.append((f"funding {name}", path, factory,
                     (lambda n: lambda cache, url, a, b: prices.refresh_funding(
                         n, a, b, cache_dir=cache, base_url=url, now=cases.NOW, **FAST))(name),
                     dt.date(2024, 6, 1)))
    return jobs


def interrupts(verbose: bool) -> list[tuple[str, bool, str]]:
    import test_sources_http_faults as cases

    from analysis.core import outputs
    from analysis.sources.http import HttpClient

    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    results = []
    points = {"request": (HttpClient, "_send"), "body": (HttpClient, "_read_body"), "replace": (outputs.os, "replace")}
    try:
        for label, path, factory, refresh, first in _jobs():
            seed = max(first, dt.date(2023, 1, 1))        # kraken serves only its latest 720 days
            start = seed + dt.timedelta(days=30)
            for point, (owner, attr) in points.items():
                k = 0
                while True:
                    k += 1
                    with tempfile.TemporaryDirectory() as folder:
                        cache = Path(folder)
                        server.clear()
                        server.expect_request(path).respond_with_handler(factory())
                        # A cache holding an older month, so a lost or torn write would show.
                        refresh(cache, server.url_for("/"), seed, seed + dt.timedelta(days=29))
                        before = snapshot(cache)
                        calls = {"n": 0}
                        original = getattr(owner, attr)

                        def hit(*a, _original=original, _calls=calls, _k=k, **kw):
                            _calls["n"] += 1
                            if _calls["n"] == _k:
                                raise KeyboardInterrupt
                            return _original(*a, **kw)

                        interrupted = False
                        try:
                            with mock.patch.object(owner, attr, hit), alarm(CASE_LIMIT_S):
                                refresh(cache, server.url_for("/"), start, cases.TODAY)
                        except KeyboardInterrupt:
                            interrupted = True
                        if not interrupted:
                            break          # k is past the last request / body / replace of this refresh
                        after = snapshot(cache)
                        problems = [p.name for p in cache.rglob("*.tmp")]
                        # Before the data file is replaced nothing changes; between the data file and the
                        # manifest the data file is complete and the manifest still the old one (a re-run
                        # asks for the same days again): never a torn or half-written file.
                        if not (after == before or (point == "replace" and k == 2 and after.keys() == before.keys())):
                            problems.append("cache changed")
                        try:
                            for csv in cache.rglob("*.csv"):
                                (prices.read_prices_csv if csv.parent.name == "prices" else
                                 prices.read_funding_csv)(csv)
                            json.loads((cache / "manifest.json").read_text())
                        except Exception as exc:  # noqa: BLE001
                            problems.append(f"unreadable after the interrupt: {exc}")
                        name = f"{label} / Ctrl-C at {point} {k}"
                        results.append((name, not problems, "; ".join(problems) or "cache intact"))
                        if verbose:
                            print(f"  {'ok ' if not problems else 'BAD'} {name}: {results[-1][2]}")
        # The CLI turns an interrupt into exit 130 and one line.
        for command in (["fetch", "prices", "--source", "binance", "--start", "2025-01-01"],
                        ["fetch", "funding", "--source", "okx", "--start", "2025-01-01"]):
            target = "refresh_prices" if command[1] == "prices" else "refresh_funding"
            with mock.patch(f"analysis.market.prices.{target}", side_effect=KeyboardInterrupt):
                code, _, err = run_cli(command)
            ok = code == 130 and len(err.strip().splitlines()) == 1 and "cached data is unchanged" in err
            results.append((f"cli {' '.join(command[:2])} Ctrl-C", ok, err.strip()[:100]))
    finally:
        server.stop()
    return results


# --------------------------------------------------------------------------- main


def main_(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", type=Path, help="also write the counts and every case here")
    parser.add_argument("--verbose", action="store_true", help="print every case")
    parser.add_argument("--only", choices=("inputs", "faults", "interrupts"), action="append")
    args = parser.parse_args(argv)
    only = set(args.only or ("inputs", "faults", "interrupts"))
    began = time.monotonic()
    report: dict[str, Any] = {}
    logging.getLogger("werkzeug").setLevel(logging.ERROR)   # the loopback servers' request log
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        cache = root / "cache"
        cache.mkdir()
        os.environ["COCOON_ECON_CACHE"] = str(cache)
        os.environ["COCOON_ECON_MAX_RESPONSE_MB"] = "2"
        for name in KEY_ENVS:
            os.environ[name] = KEY
        groups: dict[str, list[tuple[str, bool, str]]] = {}
        if "inputs" in only:
            inputs = root / "inputs"
            inputs.mkdir()
            rows = []
            for label, cli_args in bad_inputs(inputs):
                handled, why = cli_handled(*run_cli(cli_args))
                rows.append((label, handled, why))
                if args.verbose:
                    print(f"  {'ok ' if handled else 'BAD'} {label}: {why}")
            groups["bad inputs"] = rows
        if "faults" in only:
            groups["HTTP faults"] = http_faults(cache, args.verbose)
        if "interrupts" in only:
            groups["interrupts"] = interrupts(args.verbose)
    print(f"{'group':<14}{'tried':>7}{'handled':>9}")
    for name, rows in groups.items():
        handled = sum(ok for _, ok, _ in rows)
        print(f"{name:<14}{len(rows):>7}{handled:>9}")
        for label, ok, why in rows:
            if not ok:
                print(f"    NOT HANDLED {label}: {why}")
        report[name] = {"tried": len(rows), "handled": handled,
                        "cases": [{"case": c, "handled": ok, "detail": w} for c, ok, w in rows]}
    outcomes = Counter(w.split(":")[0] for rows in groups.values() for _, ok, w in rows if not ok)
    print(f"({time.monotonic() - began:.0f} s; failures by kind: {dict(outcomes) or 'none'})")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0 if all(r["handled"] == r["tried"] for r in report.values()) else 1


if __name__ == "__main__":
    sys.exit(main_())
