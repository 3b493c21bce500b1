"""CLI: ``fetch rates`` (GPU rental rates into the history) and ``rates`` (what a GPU-hour costs)."""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from analysis.core.gpus import CANONICAL_GPUS, validate_gpu
from analysis.core.outputs import check_output, write_output

if TYPE_CHECKING:
    import pandas as pd

# The parser's choices, spelled out so that building it imports neither pandas nor the sources;
# tests/test_cli_startup.py checks they equal analysis.market.rates.SOURCES.
SOURCES = ("vastai", "runpod", "azure", "gpuhunt")


def register(commands: argparse._SubParsersAction, fetch_commands: argparse._SubParsersAction) -> None:
    """Add ``fetch rates`` and ``rates``."""
    fetch = fetch_commands.add_parser(
        "rates", help="fetch GPU rental rates (Vast.ai, RunPod, Azure, gpuhunt catalogs) into the history",
        description="Fetch GPU rental prices from one source, normalise them and append the snapshot "
                    "to the cache's rates/history.csv.")
    fetch.add_argument("--source", required=True, choices=SOURCES, help="where to fetch from")
    fetch.add_argument("--gpu", help=f"keep one GPU ({', '.join(CANONICAL_GPUS)})")
    fetch.add_argument("--provider", action="append", metavar="NAME",
                       help="gpuhunt catalog provider (aws, gcp, azure, oci, lambda, nebius, runpod, verda, "
                            "cloudrift); repeatable; default all")
    fetch.add_argument("--region", help="Azure region (armRegionName, e.g. eastus); default all")
    fetch.add_argument("--catalog-version", metavar="VERSION",
                       help="dated gpuhunt catalog version (YYYYMMDD-RUN; YYYYMMDD on v1); default latest")
    fetch.add_argument("--base-url", metavar="URL", help="override the source's API root (mirror, proxy, test)")
    fetch.add_argument("--out", type=Path, metavar="FILE.csv", help="also write the normalised rows here")
    fetch.set_defaults(func=run_fetch_rates)

    show = commands.add_parser(
        "rates", help="what a GPU-hour costs: latest and median per provider, and the history's range",
        description="Latest and median USD per GPU-hour per provider and pricing kind, from the "
                    "reference table and fetched snapshots.")
    show.add_argument("--gpu", required=True, help=f"one of {', '.join(CANONICAL_GPUS)}")
    show.add_argument("--json", action="store_true", help="print JSON for scripts")
    show.set_defaults(func=run_rates)


def _notes(caught: list[warnings.WarningMessage]) -> None:
    for message in dict.fromkeys(" ".join(str(item.message).split()) for item in caught):
        print(f"note: {message}", file=sys.stderr)


def run_fetch_rates(args: argparse.Namespace) -> int:
    """Fetch, append to the history, print a summary."""
    from analysis.market import rates

    out_file = check_output("--out", args.out, "rates.csv") if args.out is not None else None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        frame, meta = rates.fetch_rates(args.source, gpu=args.gpu, providers=args.provider, region=args.region,
                                        catalog_version=args.catalog_version, base_url=args.base_url)
    _notes(caught)
    if out_file is not None:
        write_output(out_file, rates.to_csv_text(frame))
    print(f"{args.source}: {len(frame)} rows from {meta.get('url', '')}; "
          f"{meta['added']} new in {meta['history']}" + (f"; written to {args.out}" if args.out else ""))
    summary = rates.summarise_prices(frame)
    if not summary.empty:
        print("USD per GPU-hour:")
        print(summary.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    return 0


def run_rates(args: argparse.Namespace) -> int:
    """Print the latest and median price per provider and pricing kind."""
    from analysis.market import rates

    gpu = validate_gpu(args.gpu)
    history = rates.rate_history(gpu)
    summary = rates.summarise_rates(history)
    span = rates.history_span(history)
    if args.json:
        records = [{**row, "first": _day(row["first"]), "last": _day(row["last"])}
                   for row in summary.to_dict(orient="records")]
        print(json.dumps({"gpu": gpu, "history": span, "providers": records}, indent=2))
        return 0
    if summary.empty:
        print(f"{gpu}: no prices yet; run 'cocoon-econ fetch rates --source ...'")
        return 0
    table = summary.assign(first=summary["first"].map(_day), last=summary["last"].map(_day))
    table = table[["kind", "provider", "pricing", "n", "last", "latest_usd_per_gpu_hour",
                   "median_usd_per_gpu_hour"]].rename(columns={"latest_usd_per_gpu_hour": "latest",
                                                              "median_usd_per_gpu_hour": "median"})
    print(f"{gpu}: USD per GPU-hour (latest = median on the last day seen; median over all rows)")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    print(f"history: {span['rows']} rows ({span['reference_rows']} reference, {span['fetched_rows']} fetched) "
          f"from {span['first']} to {span['last']}, USD {span['min_usd_per_gpu_hour']:.2f}"
          f"-{span['max_usd_per_gpu_hour']:.2f} per GPU-hour")
    return 0


def _day(value: pd.Timestamp | None) -> str | None:
    import pandas as pd

    if value is None or pd.isna(value):
        return None
    return pd.Timestamp(value).strftime("%Y-%m-%d")
