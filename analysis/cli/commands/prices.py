"""CLI: ``fetch prices``, ``fetch funding`` and ``data status`` (parsing, calling the library, printing)."""

from __future__ import annotations

import argparse
import datetime as dt

from analysis.core.errors import FetchError, InputError
from analysis.core.outputs import check_output, write_output

# The parser's choices, spelled out so that building it imports neither pandas nor the sources;
# tests/test_cli_startup.py checks they equal analysis.market.prices' tables.
PRICE_SOURCES = ("binance", "okx", "kraken", "coingecko", "bybit", "binance-futures")
ASSETS = ("ton", "render")
FUNDING_SOURCES = ("binance", "okx", "bybit")


def register(commands: argparse._SubParsersAction, fetch_commands: argparse._SubParsersAction) -> None:
    """Add ``fetch prices``, ``fetch funding`` and ``data status``."""
    p = fetch_commands.add_parser(
        "prices", help="fetch daily candles (TON/USD by default) into the cache or a CSV",
        description="Fetch daily closed candles. Without --out, merge them into the cache "
                    "(only days not stored yet are requested). Dates are UTC days, inclusive.")
    p.add_argument("--source", required=True, choices=PRICE_SOURCES,
                   help="coingecko, binance (spot), okx, kraken; also bybit and binance-futures (perpetuals)")
    p.add_argument("--asset", default="ton", choices=ASSETS, help="ton (default) or render")
    _range_args(p)
    p.set_defaults(func=run_fetch_prices)

    f = fetch_commands.add_parser(
        "funding", help="fetch TON perpetual funding history into the cache or a CSV",
        description="Fetch TON perpetual funding events (rate per funding interval). Without --out, "
                    "merge them into the cache.")
    f.add_argument("--source", required=True, choices=FUNDING_SOURCES)
    _range_args(f)
    f.set_defaults(func=run_fetch_funding, asset="ton")

    x = fetch_commands.add_parser(
        "fx", help="fetch ECB euro reference rates (for --currency) into the cache",
        description="Fetch the ECB's daily euro reference rates (data-api.ecb.europa.eu, EXR D.<CUR>.EUR.SP00.A) "
                    "that USD -> CUR needs (USD and CUR per euro) into the cache; only days neither embedded, "
                    "cached nor already asked for are requested.")
    x.add_argument("--currency", default="EUR", metavar="CODE", help="target currency (default EUR)")
    x.add_argument("--start", metavar="YYYY-MM-DD", help="first day (default: the day after the last fixing known)")
    x.add_argument("--end", metavar="YYYY-MM-DD", help="last day (default: yesterday)")
    x.add_argument("--base-url", metavar="URL", help="API root override (mirror, proxy, test server)")
    x.set_defaults(func=run_fetch_fx)

    data = commands.add_parser("data", help="what the cache and the embedded data hold")
    data_commands = data.add_subparsers(dest="data_what", metavar="WHAT", parser_class=type(data))
    data_commands.required = True
    s = data_commands.add_parser("status", help="spans, gaps and last update of the cache and the snapshot")
    s.set_defaults(func=run_data_status)


def _range_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--start", required=True, metavar="YYYY-MM-DD", help="first UTC day")
    p.add_argument("--end", metavar="YYYY-MM-DD", help="last UTC day (default: today; open days are skipped)")
    p.add_argument("--base-url", metavar="URL", help="API root override (mirror, proxy, test server)")
    p.add_argument("--out", metavar="FILE.csv", help="write this CSV instead of updating the cache")


def _date(value: str, name: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        raise InputError(f"{name}: {value!r} is not a date; use YYYY-MM-DD, e.g. 2024-01-31") from None


def _parse_range(args: argparse.Namespace) -> tuple[dt.date, dt.date]:
    from analysis.sources.common import today_utc

    today = today_utc()
    start = _date(args.start, "--start")
    end = _date(args.end, "--end") if args.end else today
    if start > end:
        raise InputError(f"--start {start} is after --end {end}; give the earlier day as --start")
    if start > today:
        raise InputError(f"--start {start} is in the future (today is {today} UTC); use a past day")
    if args.base_url and not args.base_url.startswith(("http://", "https://")):
        raise InputError(f"--base-url: {args.base_url!r} must start with http:// or https://")
    if args.out is not None:
        args.out_file = check_output("--out", args.out, "prices.csv")  # before any request (issue 13)
    return start, end


def run_fetch_prices(args: argparse.Namespace) -> int:
    from analysis.market import prices
    from analysis.market.store import prices_csv_text
    from analysis.sources.common import format_runs, today_utc

    start, end = _parse_range(args)
    name = f"{args.asset.upper()}/USD"
    if args.out:
        frame, meta = prices.fetch_prices(args.asset, args.source, start, end, base_url=args.base_url)
        if frame.empty:
            raise FetchError(f"{args.source}: no {name} candles for {start}..{end}; nothing written"
                             + (f" ({meta['note']})" if meta.get("note") else ""))
        write_output(args.out_file, prices_csv_text(frame))
        print(f"wrote {len(frame)} days of {name} from {meta['label']} to {args.out}: "
              f"{frame.index[0].date()}..{frame.index[-1].date()}; gaps: {format_runs(meta['gaps'])}")
        if meta.get("note"):
            print(f"note: {meta['note']}")
        return 0
    result = prices.refresh_prices(args.asset, args.source, start, end, base_url=args.base_url)
    if not result.requested:
        print(f"{args.source}: {name} cache already covers {start}..{min(end, today_utc() - dt.timedelta(days=1))}"
              f" ({result.path}); nothing requested")
        return 0
    print(f"{args.source}: +{result.new_rows} new days of {name}; {result.path} now holds {result.rows} days "
          f"({result.first}..{result.last}); gaps: {format_runs(result.gaps)}")
    for note in result.notes:
        print(f"note: {note}")
    return 0


def run_fetch_funding(args: argparse.Namespace) -> int:
    from analysis.market import prices
    from analysis.market.store import funding_csv_text

    start, end = _parse_range(args)
    if args.out:
        frame, meta = prices.fetch_funding(args.source, start, end, base_url=args.base_url)
        if frame.empty:
            raise FetchError(f"{args.source}: no TON funding events for {start}..{end}; nothing written")
        write_output(args.out_file, funding_csv_text(frame))
        hours = "/".join(sorted({f"{h:g}" for h in frame["interval_hours"].dropna()}))
        print(f"wrote {len(frame)} funding events from {meta['label']} to {args.out}: "
              f"{frame['time'].iloc[0]:%Y-%m-%dT%H:%MZ}..{frame['time'].iloc[-1]:%Y-%m-%dT%H:%MZ}; "
              f"interval {hours} h; missing events: {meta.get('missing_events', 0)}")
        return 0
    result = prices.refresh_funding(args.source, start, end, base_url=args.base_url)
    if not result.requested:
        print(f"{args.source}: funding cache already covers {start}..{end} ({result.path}); nothing requested")
        return 0
    print(f"{args.source}: +{result.new_rows} new funding events; {result.path} now holds {result.rows} "
          f"({result.first}..{result.last}); missing events in what was fetched: {result.missing_events}")
    return 0


def run_fetch_fx(args: argparse.Namespace) -> int:
    from analysis.market.fx import check_currency, refresh_fx

    currency = check_currency(args.currency)
    start = _date(args.start, "--start") if args.start else None
    end = _date(args.end, "--end") if args.end else None
    if start and end and start > end:
        raise InputError(f"--start {start} is after --end {end}; give the earlier day as --start")
    if args.base_url and not args.base_url.startswith(("http://", "https://")):
        raise InputError(f"--base-url: {args.base_url!r} must start with http:// or https://")
    for result in refresh_fx(currency, start, end, base_url=args.base_url):
        if not result.requested:
            print(f"ecb: {result.currency} per EUR already known for the days asked; nothing requested")
        else:
            print(f"ecb: +{result.new_rows} new {result.currency} per EUR fixings; {result.path} holds {result.rows} "
                  f"({result.first}..{result.last})")
        for note in result.notes:
            print(f"note: {note}")
    return 0


def run_data_status(args: argparse.Namespace) -> int:
    from analysis.market import prices
    from analysis.market.store import cache_dir
    from analysis.sources.common import format_runs

    rows = prices.data_status()
    root = cache_dir()
    files = sorted(p for p in root.rglob("*.csv")) if root.is_dir() else []
    print(f"cache: {root} ({len(files)} file{'s' if len(files) != 1 else ''}"
          f"{'' if files else '; fill it with cocoon-econ fetch prices/funding'})")
    current = None
    for row in rows:
        heading = (f"{row['asset'].upper()}/USD daily closes" if row["kind"] == "prices"
                   else f"{row['asset'].upper()} perpetual funding")
        if heading != current:
            print(heading)
            current = heading
        label = row["origin"] if not row.get("source") or row["origin"] != "cache" else f"cache {row['source']}"
        span = f"{row['first']}..{row['last']}" if row["rows"] else "empty"
        unit = "days" if row["kind"] == "prices" else "events"
        if row["kind"] == "prices":
            gaps = format_runs(row["gaps"])
        else:
            gaps = (f"{len(row['gaps'])} holes, {sum(g[2] for g in row['gaps'])} events missing"
                    f" (largest {max(row['gaps'], key=lambda g: g[2])[0]}..{max(row['gaps'], key=lambda g: g[2])[1]})"
                    if row["gaps"] else "none")
        where = f" {row['path']}" if row["path"] else ""
        extra = f"; {row['detail']}" if row.get("detail") else ""
        updated = f"; updated {row['updated']}" if row.get("updated") else ""
        print(f"  {label:<22}{span}  {row['rows']} {unit}; gaps: {gaps}{extra}{updated}{where and ';'}{where}")
        if row.get("problem"):
            print(f"    PROBLEM: {row['problem']}")
        if row.get("stale"):
            print(f"    stale: {row['stale']}")
        if row["origin"] == "canonical" and not row.get("problem"):
            table = prices.source_disagreement(row["asset"])
            for d in table.itertuples():
                print(f"    {d.source_a} vs {d.source_b}: {d.days} days, median {d.median_rel_diff:.2%}, "
                      f"max {d.max_rel_diff:.2%} ({d.max_date})")
    from analysis.market.fx import fx_status

    print("ECB euro reference rates (per EUR; for --currency)")
    for row in fx_status():
        where = f"; {row['path']}" if row["path"] else ""
        updated = f"; updated {row['updated']}" if row.get("updated") else ""
        print(f"  {row['origin'] + ' ' + row['currency']:<24}{row['first']}..{row['last']}  {row['rows']} fixings"
              f"{updated}{where}")
    return 0
