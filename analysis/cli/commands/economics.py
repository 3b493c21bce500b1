"""``cocoon-econ breakeven`` and ``cocoon-econ ledger``: thin wrappers over
:mod:`analysis.econ.metrics`, :mod:`analysis.econ.ledger` and :mod:`analysis.econ.tax`."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
from pathlib import Path

from analysis.cli.currency import add_currency_argument, printed_in
from analysis.cli.scenario_args import (
    add_utilisation_argument,
    load_cli_scenario,
    print_scenario_notes,
    utilisation_fields,
    utilisation_text,
)


def register(commands: argparse._SubParsersAction, fetch_commands: argparse._SubParsersAction) -> None:
    """Add ``breakeven`` and ``ledger``."""
    p = commands.add_parser("breakeven", help="break-even TON price, utilisation, NPV/IRR/payback of a scenario",
                            description="Break-even metrics of a scenario at a constant TON price.")
    p.add_argument("--scenario", required=True, type=Path, metavar="FILE", help="scenario TOML file")
    add_utilisation_argument(p)
    p.add_argument("--ton-usd", "--token-usd", "--token-price", dest="ton_usd", type=positive_price, default=None,
                   metavar="X",
                   help="price of the network's token (TON; RENDER for a Render scenario) to evaluate at, in the "
                        "run's currency: USD, or the --currency / [finance] currency (default: the latest daily close)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    add_currency_argument(p)
    p.set_defaults(func=run_breakeven)

    p = commands.add_parser("ledger", help="day-by-day ledger of a scenario on the historical TON price",
                            description="Daily ledger (sell each payout at that day's close) and optional tax CSV.")
    p.add_argument("--scenario", required=True, type=Path, metavar="FILE", help="scenario TOML file")
    add_utilisation_argument(p)
    p.add_argument("--start", type=_date("--start"), default=None, metavar="YYYY-MM-DD",
                   help="first day (default: [finance] start)")
    p.add_argument("--end", type=_date("--end"), default=None, metavar="YYYY-MM-DD",
                   help="last day (default: start + horizon_days - 1, at most the last close)")
    p.add_argument("--out", required=True, type=Path, metavar="CSV", help="ledger CSV to write")
    p.add_argument("--tax", type=Path, default=None, metavar="CSV",
                   help="also write a tax-style income ledger (income at receipt, FIFO sales and gains)")
    p.add_argument("--params-history", action="store_true",
                   help="pay each day at the worker fee in force that day, from the chain's parameter history "
                        "(cached by 'chain network') instead of the scenario's fee")
    add_currency_argument(p)
    p.set_defaults(func=run_ledger)


def run_breakeven(args: argparse.Namespace) -> int:
    scenario = load_cli_scenario(args)
    with printed_in(scenario.currency):
        return _run_breakeven(args, scenario)


def _run_breakeven(args: argparse.Namespace, scenario) -> int:
    from analysis.cli.staleness import warn_if_stale
    from analysis.core.finite import check_finite
    from analysis.econ.metrics import breakeven_summary
    from analysis.econ.scenario import price_asset
    from analysis.market.latest import latest_close  # csv, not pandas, for a USD close (issue 20)

    print_scenario_notes(scenario, args.json)
    price_note: dict[str, str | None]
    if args.ton_usd is None:
        latest = latest_close(price_asset(scenario), currency=scenario.currency)
        price, price_note = latest.close_usd, {"date": latest.day.isoformat(), "origin": latest.origin}
        warn_if_stale(price_asset(scenario))
    else:
        price, price_note = args.ton_usd, {"date": None, "origin": "--ton-usd"}
    summary = check_finite(breakeven_summary(scenario, price), "breakeven")
    summary["ton_usd_date"] = price_note["date"]
    summary["ton_usd_origin"] = price_note["origin"]
    summary["token"] = scenario.network.token  # what the ton_* fields count (TON, or RENDER on Render)
    summary["currency"] = scenario.currency    # the unit of every money field (keys named after it)
    summary.update(utilisation_fields(scenario))
    summary["throughput"] = throughput_info(scenario)  # where the throughput came from (issue 15)
    if args.json:
        print(json.dumps(summary, allow_nan=False))
        return 0
    print(_breakeven_text(summary, scenario.path))
    return 0


def run_ledger(args: argparse.Namespace) -> int:
    from analysis.core.outputs import check_outputs

    # Both outputs checked before any work, both computed before either is written (issue 13).
    outs = check_outputs({"--out": args.out, "--tax": args.tax}, {"--out": "ledger.csv", "--tax": "tax.csv"})
    scenario = load_cli_scenario(args)
    with printed_in(scenario.currency):
        return _run_ledger(args, scenario, outs)


def _run_ledger(args: argparse.Namespace, scenario, outs: dict) -> int:
    from analysis.econ.currency import relabel_frame
    from analysis.econ.ledger import daily_ledger
    from analysis.econ.scenario import price_asset
    from analysis.econ.tax import sell_on_payout_tax_ledger, tax_summary, write_tax_csv
    from analysis.market.prices import daily_closes
    from analysis.market.store import atomic_write_csv

    print_scenario_notes(scenario)
    closes = daily_closes(price_asset(scenario), currency=scenario.currency)
    if closes.attrs.get("fx_note"):
        print(f"note: {closes.attrs['fx_note']}")
    parameters = _parameters_in_force(scenario, closes) if args.params_history else None
    ledger = daily_ledger(scenario, closes, start=args.start, end=args.end, start_field="--start", end_field="--end",
                          parameters=parameters)
    if parameters is not None:
        fees = ledger["worker_nanoton_per_token"]
        changes = fees[fees.ne(fees.shift())]
        print("note: worker fee in force each day from the chain's parameter history (chain network): "
              + ", ".join(f"{v:g} nanoTON from {d:%Y-%m-%d}" for d, v in changes.items()))
    from analysis.core.finite import check_finite

    check_finite(ledger.select_dtypes("number").sum().to_dict(), "ledger")
    if "fx_per_usd" in closes.columns:   # the day's ECB rate and TON/USD close beside the TON/X close
        days = ledger.index
        ledger.insert(1, "fx_per_usd", closes["fx_per_usd"].reindex(days).to_numpy())
        ledger.insert(1, "ton_usd_close", closes["usd_close"].reindex(days).to_numpy())
    out = relabel_frame(ledger, scenario.currency).reset_index()
    out["date"] = out["date"].dt.strftime("%Y-%m-%d")
    tax = sell_on_payout_tax_ledger(ledger) if args.tax is not None else None
    out_path, tax_path = outs["--out"], outs["--tax"]
    assert out_path is not None  # --out is required
    atomic_write_csv(out, out_path)
    first, last = ledger.index[0].date(), ledger.index[-1].date()
    wanted = (args.start or scenario.finance.start) + dt.timedelta(days=scenario.finance.horizon_days - 1)
    clipped = args.end is None and last < wanted
    print(f"wrote {args.out}: {len(ledger)} days {first} .. {last}"
          + (f" (horizon cut at the last TON close; the scenario runs to {wanted})" if clipped else ""))
    if clipped:
        from analysis.cli.staleness import warn_if_stale

        warn_if_stale(price_asset(scenario))
    print(f"  {ledger['payout_ton'].sum():,.2f} TON received whole in {int(ledger['payouts'].sum())} payouts "
          f"(the proxy pays their gas; {ledger['node_gas_ton'].sum():,.2f} TON kept for the node wallet's own gas; "
          f"{ledger.attrs['unpaid_ton']:,.2f} TON unpaid at the end)")
    print(f"  sold for {ledger['sales_usd'].sum():,.2f} USD; costs {ledger[['power_usd', 'colocation_usd', 'fixed_usd']].sum().sum():,.2f} USD"
          f" + capex {ledger['capex_usd'].sum():,.2f} USD + node wallet {ledger.attrs['node_wallet_ton']:g} TON "
          f"{ledger['node_wallet_usd'].sum():,.2f} USD (capital, still held); "
          f"ledger net cash {ledger['cumulative_net_usd'].iloc[-1]:,.2f} USD")
    print(f"  ({ledger.attrs['net_basis']}; docs/glossary.md)")
    if tax is not None and tax_path is not None:
        write_tax_csv(relabel_frame(tax, scenario.currency), tax_path)
        totals = tax_summary(tax)
        print(f"wrote {args.tax}: income {totals['income_usd']:,.2f} USD at receipt, proceeds "
              f"{totals['proceeds_usd']:,.2f} USD, gain {totals['gain_usd']:,.2f} USD")
    return 0


# --------------------------------------------------------------------------- helpers


def _parameters_in_force(scenario, closes):
    from analysis.core.errors import InputError
    from analysis.market.network_demand import parameters_in_force, read_parameter_history

    if scenario.network.name != "cocoon":
        raise InputError("--params-history: only COCOON's parameters are read from the chain; drop the option")
    history = read_parameter_history()
    if history is None or history.empty:
        raise InputError("--params-history: no parameter history cached; run 'cocoon-econ chain network' first")
    return parameters_in_force(history, closes.index)


def throughput_info(scenario) -> dict | None:
    """Where the scenario's throughput came from; None on Render when no throughput is given
    (it pays per GPU-hour). Shared with simulate."""
    from analysis.econ.throughput import describe_throughput

    if scenario.network.name == "render" and not scenario.workload.output_tokens_per_s:
        return None
    return describe_throughput(scenario.workload, scenario.hardware.gpu)


def positive_price(text: str) -> float:
    """argparse type of --ton-usd/--token-usd (shared with compare)."""
    # parsed before the run's currency is known: the hint names no currency pair
    hint = "give the token's price in the run's currency (USD unless --currency or [finance] currency), like 1.5"
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number; {hint}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive price; {hint}")
    from analysis.econ.bounds import ARGUMENT_BOUNDS

    bound = ARGUMENT_BOUNDS["--ton-usd"]
    if not bound.lo <= value <= bound.hi:
        raise argparse.ArgumentTypeError(f"{text!r} is out of range; use {bound.lo:g} to {bound.hi:g} {bound.unit} "
                                         f"({bound.why})")
    return value


def _date(flag: str):
    def parse(text: str) -> dt.date:
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a date; use YYYY-MM-DD") from None
    parse.__name__ = flag
    return parse


def _money(value, unit="USD", digits=2) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f} {unit}"


def _breakeven_text(s: dict, path) -> str:
    when = f"close of {s['ton_usd_date']}, {s['ton_usd_origin']}" if s["ton_usd_date"] else "from --ton-usd"
    costs = s["usd_costs_per_day"]
    tok = s.get("token", "TON")
    render = tok != "TON"
    lines = [
        f"{s['scenario']}  ({path})",
        f"{tok} price used: {s['ton_usd']:.4f} USD ({when})",
        ("Render Network (jobs priced in USD, paid in RENDER; epoch rewards in RENDER)" if render
         else f"Pricing mode: {s['pricing_mode']}") + f"; {s['gpus']} GPU(s) at {utilisation_text(s['utilisation'])} utilisation"
        + (" (observed on the network)" if s.get("utilisation_origin") == "observed" else ""),
        *throughput_text(s.get("throughput")),
        f"{tok} per day to sell (payouts whole, less the node wallet's gas): {s['ton_per_day']:,.3f} {tok}",
        f"Income: {_money(s['usd_income_per_day'])} a day = {_money(s['usd_per_gpu_hour'], digits=3)} per GPU-hour",
        "Costs per day: " + ", ".join(f"{k} {v:,.2f}" for k, v in costs.items()) + " USD",
        f"Profit per day after straight-line depreciation (accounting view): {_money(s['usd_profit_per_day'])} "
        f"(cash: {_money(s['usd_cash_profit_per_day'])})",
    ]
    if render:
        lines.append(f"Break-even RENDER price: {_money(s['break_even_ton_usd'], digits=4)} incl. depreciation; "
                     f"{_money(s['break_even_ton_usd_cash'], digits=4)} cash costs only (0 = the USD job pay alone "
                     "covers the costs)")
    elif s["pricing_mode"] == "fixed_token":
        lines.append(f"Break-even TON price: {_money(s['break_even_ton_usd'], digits=4)} incl. depreciation; "
                     f"{_money(s['break_even_ton_usd_cash'], digits=4)} cash costs only")
    else:
        lines.append("Break-even TON price: none (USD income does not depend on the TON price in this mode)")
    lines.append(f"Break-even utilisation at this price: {util_text(s['break_even_utilisation'])} incl. depreciation; "
                 f"{util_text(s['break_even_utilisation_cash'])} cash costs only")
    payback = "never" if s["payback_days"] is None else f"day {s['payback_days']:.0f}"
    irr = "n/a" if s["irr"] is None else f"{s['irr']:.1%}"
    lines.append(f"Over {s['horizon_days']} days at this price: NPV {_money(s['npv_usd'])}, IRR {irr}, "
                 f"payback {payback} (capex paid {_money(s['capex_paid_usd'])})")
    if "initial_outlay_usd" in s:   # what NPV counts at both ends (docs/glossary.md)
        owned = f"resale forgone {_money(s['resale_forgone_usd'])}, " if s["resale_forgone_usd"] else ""
        wallet = (f"node wallet {s['node_wallet_ton']:g} {tok} = {_money(s['node_wallet_usd'])}"
                  if s["node_wallet_ton"] else "no node wallet")
        held = f"unpaid and node-wallet {tok}" if s["node_wallet_ton"] else f"unpaid {tok}"
        lines.append(f"  NPV basis: day-0 outlay {_money(s['initial_outlay_usd'])} (capex paid {_money(s['capex_paid_usd'])}, "
                     f"{owned}{wallet}); at the horizon the hardware at market resale "
                     f"{_money(s['hardware_resale_end_usd'])} (age {s['hardware_age_years']:g} y at start; straight-line "
                     f"book value {_money(s['hardware_book_end_usd'])}, not used), {held} at the last price; discounted")
    return "\n".join(lines)


def throughput_text(info: dict | None) -> list[str]:
    """:func:`throughput_info` as text lines (none for None). Shared with simulate."""
    from analysis.econ.throughput import throughput_lines

    return [] if info is None else throughput_lines(info)


def util_text(u) -> str:
    """A break-even utilisation as text (shared with compare)."""
    if u is None:
        return "never"
    return f"{u:.1%}" + (" (not reachable)" if u > 1 else "")
