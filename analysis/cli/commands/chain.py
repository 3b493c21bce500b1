"""CLI: ``chain params``, ``chain payouts`` and ``reconcile`` (parsing and printing only)."""

from __future__ import annotations

import argparse
import json
import math
import sys

# Spelled out so that building the parser imports neither pandas nor pytoniq;
# tests/test_cli_startup.py checks they equal analysis.chain's.
APIS = ("toncenter", "tonapi")
OWNER_ENV = "COCOON_ECON_OWNER_ADDRESS"
MAINNET_ROOT = "EQCns7bYSp0igFvS1wpb5wsZjCKCV19MD5AVzI4EyxsnU73k"


def register(commands: argparse._SubParsersAction, fetch_commands: argparse._SubParsersAction) -> None:
    """Add ``chain params``, ``chain payouts`` and ``reconcile``."""
    group = commands.add_parser("chain", help="COCOON on-chain data: live parameters and a worker's payouts",
                                description="Read COCOON's root contract and a worker owner's payouts.")
    sub = group.add_subparsers(dest="chain_what", metavar="WHAT", parser_class=type(group))
    sub.required = True

    params = sub.add_parser("params", help="read COCOON's live parameters from the root contract",
                            description="Read the root contract's data cell and print the network parameters.")
    params.add_argument("--api", choices=APIS, default="toncenter",
                        help="toncenter (TONCENTER_API_KEY) or tonapi (TONAPI_KEY); default toncenter")
    params.add_argument("--base-url", help="API root (a mirror, a proxy or a test server)")
    params.add_argument("--root", default=MAINNET_ROOT, help="root contract (default: COCOON mainnet)")
    params.add_argument("--json", action="store_true", help="print one JSON object")
    params.add_argument("--save", action="store_true",
                        help="store the reading in the cache (chain/params.csv); scenarios then default to it")
    params.set_defaults(func=run_params)

    payouts = sub.add_parser("payouts", help="list a worker owner's COCOON payouts with their USD value",
                             description="List the COCOON payouts an owner wallet received (toncenter v3).")
    _owner_args(payouts)
    payouts.add_argument("--out", help="write the payouts as CSV to this file")
    payouts.add_argument("--tax", help="write a tax-style income ledger CSV to this file")
    payouts.add_argument("--json", action="store_true", help="print one JSON object")
    payouts.set_defaults(func=run_payouts)

    rec = commands.add_parser("reconcile", help="compare a worker's actual payouts with a scenario",
                              description="Actual COCOON payouts (cumulative TON and USD) against the scenario's "
                                          "ledger over the same days, with the implied utilisation and price.")
    rec.add_argument("--scenario", required=True, help="scenario TOML file (write one with: cocoon-econ init)")
    _owner_args(rec)
    rec.add_argument("--json", action="store_true", help="print one JSON object (summary and daily rows)")
    rec.set_defaults(func=run_reconcile)


def _owner_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--owner", help=f"the worker owner's wallet (default: ${OWNER_ENV})")
    parser.add_argument("--start", help="first UTC day, YYYY-MM-DD (payouts: the wallet's first transaction; "
                                        "reconcile: the scenario's [finance] start)")
    parser.add_argument("--end", help="last UTC day, YYYY-MM-DD (payouts: now; reconcile: the last TON close)")
    parser.add_argument("--base-url", help="toncenter API root (a mirror, a proxy or a test server)")
    parser.add_argument("--root", default=MAINNET_ROOT, help="root the proxies must belong to (default: mainnet)")
    parser.add_argument("--skip-origin-check", action="store_true",
                        help="do not look up the proxy transaction behind each payout (faster; only safe "
                             "if the wallet is not also a COCOON client or proxy owner)")


def _multiplier(value: int) -> str:
    return f"{value} ({value / 10000:g}x)"


def run_params(args: argparse.Namespace) -> int:
    from analysis.chain import readings as chain
    from analysis.chain.contracts import PARAMETER_UNITS

    params, meta = chain.read_root_params(api=args.api, root=args.root, base_url=args.base_url)
    saved = str(chain.save_chain_params(params, meta)) if args.save else None
    read_at = meta["read_at"].strftime("%Y-%m-%d %H:%M:%S UTC")
    if args.json:
        print(json.dumps({"root": meta["root"], "read_at": chain._iso(meta["read_at"]), "source": meta["source"],
                          "last_transaction_lt": meta["last_transaction_lt"], "params": params.as_dict(),
                          "cross_check": meta["cross_check"], "saved": saved}, indent=2))
        return 0
    print(f"COCOON root {meta['root']}: read {read_at} from {meta['source']}")
    values = params.as_dict()
    for name, (unit, _) in PARAMETER_UNITS.items():
        value = values[name]
        shown = _multiplier(value) if unit == "1/10000" else str(value).lower() if isinstance(value, bool) else value
        flag = "  (absent in this struct version: runner default)" if name in params.defaulted else ""
        print(f"  {name:<36} {shown!s:<18} {unit}{flag}")
    print(f"  {'owner':<36} {params.owner}")
    check = meta["cross_check"]
    if check["error"]:
        print(f"get_cur_params cross-check unavailable: {check['error']}")
    elif check["agrees"]:
        print("get_cur_params cross-check: agrees (it does not return the prompt/completion multipliers)")
    else:
        print("get_cur_params cross-check DISAGREES: " + "; ".join(check["differences"]))
    if saved:
        print(f"saved to {saved}; scenarios now default to this reading")
    return 0


def _money(value: float) -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:,.2f}"


def run_payouts(args: argparse.Namespace) -> int:
    from analysis.chain import readings as chain

    payouts, meta = chain.fetch_payouts(args.owner, start=args.start, end=args.end, root=args.root,
                                        check_origin=not args.skip_origin_check, base_url=args.base_url)
    if args.out:
        meta["out"] = str(chain.write_payouts_csv(payouts, args.out))
    if args.tax:
        meta["tax"] = str(chain.write_tax_csv(payouts, args.tax))
    totals = {"payouts": len(payouts), "ton": float(payouts["ton"].sum()),
              "adjusted_tokens": int(payouts["adjusted_tokens"].sum()) if len(payouts) else 0,
              "usd": float(payouts["usd"].sum(min_count=1)) if len(payouts) else 0.0}
    if args.json:
        rows = json.loads(payouts.assign(time=payouts["time"].dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
                                         date=payouts["date"].dt.strftime("%Y-%m-%d")).to_json(orient="records"))
        print(json.dumps({"meta": meta, "totals": totals, "payouts": rows}, indent=2, default=str))
        return 0
    window = f"{meta['start'] or 'first transaction'} .. {meta['end'] or 'now'}"
    print(f"COCOON payouts to {meta['owner']} ({window}), {meta['transactions']} transaction(s) read "
          f"from {meta['source']}")
    if len(payouts):
        print(f"  {'time (UTC)':<20} {'TON':>12} {'adjusted tokens':>16} {'USD':>10}  proxy")
        for row in payouts.itertuples(index=False):
            print(f"  {row.time:%Y-%m-%d %H:%M:%S}  {row.ton:>12.4f} {int(row.adjusted_tokens):>16,} "
                  f"{_money(row.usd):>10}  {row.proxy}")
    print(f"total: {totals['payouts']} payout(s), {totals['ton']:.4f} TON, {totals['adjusted_tokens']:,} adjusted "
          f"tokens, {_money(totals['usd'])} USD at each day's close")
    if meta["skipped"]:
        print("not counted: " + ", ".join(f"{n} {chain.REASONS[r]}" for r, n in sorted(meta["skipped"].items())))
    if meta["days_without_close"]:
        print(f"no TON/USD close for {', '.join(meta['days_without_close'])}: USD left blank "
              "(run 'cocoon-econ fetch prices' to extend the price series)")
    for key in ("out", "tax"):
        if meta.get(key):
            print(f"wrote {meta[key]}")
    return 0


def run_reconcile(args: argparse.Namespace) -> int:
    from analysis.chain import readings as chain
    from analysis.chain.reconcile import default_window, reconcile
    from analysis.econ.scenario import load_scenario
    from analysis.market.prices import daily_closes

    scenario = load_scenario(args.scenario)
    for note in scenario.notes:  # e.g. network defaults from a saved on-chain reading (issue 8)
        print(f"note: {note}", file=sys.stderr if args.json else sys.stdout)
    owner = chain.resolve_owner(args.owner)
    first, last = chain.parse_day(args.start, "--start"), chain.parse_day(args.end, "--end")
    closes = daily_closes("ton")
    start, end = default_window(scenario, closes, first, last)
    payouts, meta = chain.fetch_payouts(owner, start=start, end=end, root=args.root, base_url=args.base_url,
                                        check_origin=not args.skip_origin_check, closes=closes)
    result = reconcile(scenario, payouts, closes, start, end)
    s = result.summary
    if args.json:
        daily = result.daily.reset_index()
        daily["date"] = daily["date"].dt.strftime("%Y-%m-%d")
        print(json.dumps({"summary": s, "payouts_meta": meta,
                          "daily": json.loads(daily.to_json(orient="records"))}, indent=2, default=str))
        return 0
    print(f"{s['scenario']} against the payouts to {meta['owner']}, {s['start']} .. {s['end']} ({s['days']} days)")
    print(f"  {'':<34} {'actual':>16} {'scenario':>16}")
    lines = [
        ("payouts", f"{s['actual_payouts']}", f"{s['expected_payouts']}"),
        ("TON received (cumulative)", f"{s['actual_ton']:,.4f}", f"{s['expected_payout_ton']:,.4f}"),
        ("USD at each payout day's close", _money(s["actual_usd"]), _money(s["expected_usd"])),
        ("adjusted tokens", f"{s['actual_adjusted_tokens']:,.0f}", f"{s['expected_adjusted_tokens']:,.0f}"),
        ("utilisation", _pct(s["implied_utilisation"]) + " implied", _pct(s["scenario_utilisation"])),
        ("nanoTON per adjusted token", _num(s["implied_nanoton_per_adjusted_token"], ".3f"),
         _num(s["scenario_nanoton_per_adjusted_token"], ".3f")),
        ("USD per million adjusted tokens", _num(s["implied_usd_per_m_adjusted_tokens"], ".4f"),
         _num(s["scenario_usd_per_m_adjusted_tokens"], ".4f")),
    ]
    for label, actual, expected in lines:
        print(f"  {label:<34} {actual:>16} {expected:>16}")
    print(f"actual / expected TON: {_pct(s['ton_actual_over_expected'])}; the scenario also earned "
          f"{s['expected_earned_ton']:,.4f} TON, {s['expected_unpaid_ton_at_end']:,.4f} of it unpaid at the end "
          "(not on-chain yet)")
    print(f"implied utilisation = actual adjusted tokens / {s['full_load_adjusted_tokens']:,.0f} (the scenario's "
          f"throughput at full load over {s['days']} days, {s['gpus']} GPU(s))")
    if meta["days_without_close"]:
        print(f"no TON/USD close for {', '.join(meta['days_without_close'])}: their USD is unknown")
    return 0


def _pct(value: float) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{value:.1%}"


def _num(value: float, spec: str) -> str:
    return "n/a" if value is None or math.isnan(value) else format(value, spec)
