"""CLI: ``chain params``, ``chain payouts`` and ``reconcile`` (parsing and printing only)."""

from __future__ import annotations

import argparse
import json
import math

from analysis.cli.currency import add_currency_argument, checked_currency, printed_in
from analysis.cli.scenario_args import load_cli_scenario, print_scenario_notes

# Spelled out so that building the parser imports neither pandas nor pytoniq;
# tests/test_cli_startup.py checks they equal analysis.chain's.
APIS = ("toncenter", "tonapi")
OWNER_ENV = "COCOON_ECON_OWNER_ADDRESS"
MAINNET_ROOT = "EQCns7bYSp0igFvS1wpb5wsZjCKCV19MD5AVzI4EyxsnU73k"


def register(commands: argparse._SubParsersAction, fetch_commands: argparse._SubParsersAction) -> None:
    """Add ``chain params``, ``chain payouts`` and ``reconcile``."""
    group = commands.add_parser("chain", help="COCOON on-chain data: live parameters, a worker's payouts, what the network pays",
                                description="Read COCOON's root contract, a worker owner's payouts and the whole network's activity.")
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
    add_currency_argument(payouts)
    payouts.set_defaults(func=run_payouts)

    net = sub.add_parser("network", help="observed demand: what the whole COCOON network pays, day by day",
                         description="Discover COCOON's proxies, workers and clients from the root contract "
                                     "(code-cell hashes), read their transactions from toncenter v3 (incremental, "
                                     "cached) and print the daily client spend, worker payouts, commission and "
                                     "active workers, with each worker's paid adjusted tokens per day.")
    net.add_argument("--start", help="first UTC day of the table, YYYY-MM-DD (default: the first event)")
    net.add_argument("--end", help="last UTC day of the table, YYYY-MM-DD (default: the last event)")
    net.add_argument("--proxy", action="append", default=[], metavar="ADDR",
                     help="a known proxy address to add to the candidates (repeatable)")
    net.add_argument("--base-url", help="toncenter API root (a mirror, a proxy or a test server)")
    net.add_argument("--root", default=MAINNET_ROOT, help="root contract (default: COCOON mainnet)")
    net.add_argument("--window", type=int, default=30, metavar="DAYS",
                     help="trailing window of the per-worker demand and implied utilisation (default 30)")
    net.add_argument("--offline", action="store_true", help="use the cached reading only (no request)")
    net.add_argument("--scenario", help="a scenario TOML: add each worker's implied utilisation of its GPU "
                                        "(paid adjusted tokens per day / the scenario's full-load tokens per day)")
    net.add_argument("--json", action="store_true",
                     help='print {"days": [...], "totals": {...}, "workers": [...], "proxies": [...]}')
    net.add_argument("--out", help="write the daily table as CSV to this file")
    net.set_defaults(func=run_network)

    rec = commands.add_parser("reconcile", help="compare a worker's actual payouts with a scenario",
                              description="Actual COCOON payouts (cumulative TON and USD) against the scenario's "
                                          "ledger over the same days, with the implied utilisation and price.")
    rec.add_argument("--scenario", required=True, help="scenario TOML file (write one with: cocoon-econ init)")
    _owner_args(rec)
    rec.add_argument("--json", action="store_true", help="print one JSON object (summary and daily rows)")
    add_currency_argument(rec)
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
    from analysis.core.outputs import check_outputs

    outs = check_outputs({"--out": args.out, "--tax": args.tax}, {"--out": "payouts.csv", "--tax": "tax.csv"})
    currency = checked_currency(args.currency)
    closes = None
    if currency != "USD":   # each payout valued at the TON/X close of its day
        from analysis.market.prices import daily_closes

        closes = daily_closes("ton", currency=currency)
    with printed_in(currency):
        return _run_payouts(args, outs, currency, closes)


def _run_payouts(args: argparse.Namespace, outs: dict, currency: str, closes) -> int:
    from analysis.chain import readings as chain

    payouts, meta = chain.fetch_payouts(args.owner, start=args.start, end=args.end, root=args.root,
                                        check_origin=not args.skip_origin_check, base_url=args.base_url)
    if closes is not None:   # the cache keeps USD values; the output is valued in the chosen currency
        from analysis.chain.payouts import value_payouts

        payouts = value_payouts(payouts, closes)
        meta["days_without_close"] = sorted({str(d.date()) for d in payouts.loc[payouts["close_usd"].isna(), "date"]})
    if (out_path := outs["--out"]) is not None:
        chain.write_payouts_csv(payouts, out_path, currency)
        meta["out"] = str(args.out)
    if (tax_path := outs["--tax"]) is not None:
        chain.write_tax_csv(payouts, tax_path, currency)
        meta["tax"] = str(args.tax)
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
    scenario = load_cli_scenario(args)
    with printed_in(scenario.currency):
        return _run_reconcile(args, scenario)


def _run_reconcile(args: argparse.Namespace, scenario) -> int:
    from analysis.chain import readings as chain
    from analysis.chain.reconcile import default_window, reconcile
    from analysis.market.prices import daily_closes

    print_scenario_notes(scenario, args.json)
    owner = chain.resolve_owner(args.owner)
    first, last = chain.parse_day(args.start, "--start"), chain.parse_day(args.end, "--end")
    closes = daily_closes("ton", currency=scenario.currency)
    start, end = default_window(scenario, closes, first, last)
    payouts, meta = chain.fetch_payouts(owner, start=start, end=end, root=args.root, base_url=args.base_url,
                                        check_origin=not args.skip_origin_check,
                                        closes=closes if scenario.currency == "USD" else None)
    if scenario.currency != "USD":   # the cache keeps USD values; reconciled in the scenario's currency
        from analysis.chain.payouts import value_payouts

        payouts = value_payouts(payouts, closes)
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


def run_network(args: argparse.Namespace) -> int:
    from analysis.chain import network
    from analysis.chain import readings as chain
    from analysis.core.outputs import check_output
    from analysis.market.store import atomic_write_csv

    out_file = check_output("--out", args.out, "network.csv") if args.out is not None else None  # before the crawl
    first, last = chain.parse_day(args.start, "--start"), chain.parse_day(args.end, "--end")
    if first and last and first > last:
        raise chain.InputError(f"--start {first} is after --end {last}; swap them")
    if args.window < 1:
        raise chain.InputError(f"--window: {args.window} days; use at least 1")
    reading = network.read_network(root=args.root, proxies=args.proxy, base_url=args.base_url,
                                   refresh=not args.offline, window_days=args.window)
    summary = network.network_summary(reading, window_days=args.window)
    days = network.daily_network(reading.events, first, last)
    totals = network.network_totals(reading.events, first, last)
    workers = network.worker_demand(reading.events, reading.contracts, pd_date(summary["window_end"]), args.window)
    proxies = network.proxy_table(reading, first, last)
    implied = None
    if args.scenario:
        from analysis.econ.demand import full_load_adjusted_tokens_per_day, implied_utilisation
        from analysis.econ.scenario import load_scenario

        scenario = load_scenario(args.scenario)
        if scenario.network.name != "cocoon":
            raise chain.InputError(f"--scenario {args.scenario}: a Render scenario; COCOON's demand needs a COCOON one")
        full = full_load_adjusted_tokens_per_day(scenario.workload, scenario.network)
        workers["implied_utilisation"] = implied_utilisation(workers["adjusted_tokens_per_day"].to_numpy(float),
                                                             scenario.workload, scenario.network)
        implied = {"scenario": scenario.name, "full_load_adjusted_tokens_per_day": full,
                   "median": implied_utilisation(summary["median_adjusted_tokens_per_worker_day"],
                                                 scenario.workload, scenario.network),
                   "assumed": scenario.workload.utilisation}
    window = {k: summary[k] for k in ("window_days", "window_start", "window_end", "workers_paid_in_window",
                                      "median_adjusted_tokens_per_worker_day", "p10_adjusted_tokens_per_worker_day",
                                      "p90_adjusted_tokens_per_worker_day")}
    if out_file is not None:
        out = days.reset_index()
        out["date"] = out["date"].dt.strftime("%Y-%m-%d")
        atomic_write_csv(out, out_file)
    if args.json:
        rows = days.reset_index()
        rows["date"] = rows["date"].dt.strftime("%Y-%m-%d")
        params = reading.params.assign(time=reading.params["time"].dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
                                       date=reading.params["date"].dt.strftime("%Y-%m-%d"))
        print(json.dumps({"days": json.loads(rows.to_json(orient="records")), "totals": {**totals, **window},
                          "workers": json.loads(workers.to_json(orient="records")),
                          "proxies": json.loads(proxies.to_json(orient="records")),
                          "params": json.loads(params.to_json(orient="records")),
                          "implied_utilisation": implied,
                          "meta": {k: v for k, v in summary.items() if k not in ("workers", "totals")}},
                         indent=2, default=str))
        return 0
    counts = summary["contracts"]
    print(f"COCOON network from root {network._friendly(summary['root'])}: {counts['proxy']} proxies, "
          f"{counts['worker']} workers, {counts['client']} clients; read {summary['read_at']} "
          f"({summary.get('requests', 0)} requests, {summary.get('new_transactions', 0)} new transactions)")
    shown = days[(days["payouts"] > 0) | (days["client_spend_ton"] > 0)]
    if len(shown):
        print(f"  {'day (UTC)':<10} {'client TON':>11} {'payouts TON':>12} {'commission':>11} {'adj. tokens':>14} "
              f"{'workers':>7} {'clients':>7} {'P50 tokens/worker':>18}")
        for day, r in shown.iterrows():
            p50 = "" if math.isnan(r["worker_adjusted_tokens_p50"]) else f"{r['worker_adjusted_tokens_p50']:,.0f}"
            print(f"  {day:%Y-%m-%d} {r['client_spend_ton']:>11.4f} {r['worker_payouts_ton']:>12.4f} "
                  f"{r['commission_ton']:>11.4f} {r['adjusted_tokens_paid']:>14,.0f} {int(r['active_workers']):>7} "
                  f"{int(r['active_clients']):>7} {p50:>18}")
        quiet = len(days) - len(shown)
        if quiet:
            print(f"  ({quiet} day(s) without charges or payouts not shown; --out writes every day)")
    span = f"{days.index[0]:%Y-%m-%d} .. {days.index[-1]:%Y-%m-%d}" if len(days) else "no events"
    print(f"totals ({span}): client spend {totals['client_spend_ton']:.4f} TON in {totals['charges']} charge(s); "
          f"worker payouts {totals['worker_payouts_ton']:.4f} TON in {totals['payouts']} payout(s) to "
          f"{totals['workers_paid']} worker(s), {totals['adjusted_tokens_paid']:,} adjusted tokens; commission "
          f"{totals['commission_ton']:.4f} TON")
    print(f"kept apart (not income): refunds {totals['refunds_ton']:.4f} TON, proxy-owner withdrawals "
          f"{totals['withdrawals_ton']:.4f} TON, top-ups {totals['top_ups_ton']:.4f} TON")
    print(f"demand over the {window['window_days']} days {window['window_start']} .. {window['window_end']}: "
          f"median {window['median_adjusted_tokens_per_worker_day']:,.0f} paid adjusted tokens per worker per day "
          f"(P10 {window['p10_adjusted_tokens_per_worker_day']:,.0f}, P90 {window['p90_adjusted_tokens_per_worker_day']:,.0f}) "
          f"over {window['workers_paid_in_window']} worker(s) paid; scenarios with utilisation = \"observed\" use "
          "the median")
    if implied is not None:
        print(f"implied utilisation of {implied['scenario']}'s GPU ({implied['full_load_adjusted_tokens_per_day']:,.0f} "
              f"adjusted tokens a day at full load): network median {implied['median']:.3%}, against the "
              f"{implied['assumed']:.0%} it assumes; per worker: "
              + (", ".join(f"{network._friendly(w)[:6]}…{network._friendly(w)[-4:]} {u:.3%}"
                           for w, u in zip(workers["worker"], workers["implied_utilisation"])) or "none paid"))
    changes = reading.params[reading.params["price_per_token"].notna()]
    if len(changes):
        print("parameters (price / worker fee, nanoTON per adjusted token): " + "; ".join(
            f"{int(r.price_per_token)} / {int(r.worker_fee_per_token)} from {r.date:%Y-%m-%d} "
            f"({'proxy ' + network._friendly(r.address) if r.scope == 'proxy' else r.source.split(' in ')[0]})"
            for r in changes.itertuples(index=False)))
    if totals["skipped"]:
        print("not counted: " + ", ".join(f"{n} {network.SKIP_REASONS.get(r, r)}" for r, n in
                                          sorted(totals["skipped"].items())))
    if summary.get("capped_wallets"):
        print(f"note: {len(summary['capped_wallets'])} busy wallet(s) read only in part for counterparties "
              f"({network.MAX_WALLET_PAGES} pages each); pass --proxy for a proxy you know of")
    if args.out:
        print(f"wrote {args.out}")
    return 0


def pd_date(text: str):
    import datetime as dt

    return dt.date.fromisoformat(str(text))


def _pct(value: float) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{value:.1%}"


def _num(value: float, spec: str) -> str:
    return "n/a" if value is None or math.isnan(value) else format(value, spec)
