"""``cocoon-econ compare``: a thin wrapper over :func:`analysis.econ.compare.compare`."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from analysis.cli.commands.economics import positive_price, util_text
from analysis.cli.currency import add_currency_argument, printed_in
from analysis.cli.scenario_args import (
    add_utilisation_argument,
    load_cli_scenario,
    print_scenario_notes,
    utilisation_text,
)


def register(commands: argparse._SubParsersAction, fetch_commands: argparse._SubParsersAction) -> None:
    """Add ``compare``."""
    p = commands.add_parser(
        "compare", help="a scenario's income per GPU-hour against renting the GPU out, and its customer price "
                        "against inference APIs and hyperscaler GPUs",
        description="Provider view: USD per GPU-hour on the network (COCOON or Render) against marketplaces, "
                    "neoclouds and hyperscalers (latest and median from the rates history), with the token price "
                    "and utilisation at which the network beats the market rental rate (compared net of power). "
                    "Customer view: USD per million tokens against inference APIs and renting a GPU.")
    p.add_argument("--scenario", required=True, type=Path, metavar="FILE", help="scenario TOML file")
    add_utilisation_argument(p)
    p.add_argument("--ton-usd", "--token-usd", "--token-price", dest="token_usd", type=positive_price, default=None,
                   metavar="X",
                   help="price of the network's token (TON, or RENDER for a Render scenario) in the run's currency: "
                        "USD, or the --currency / [finance] currency (default: the latest daily close)")
    p.add_argument("--rental-occupancy", type=_fraction("--rental-occupancy", open_low=True), default=1.0,
                   metavar="F", help="share of the time a rented-out GPU is rented (default 1.0)")
    p.add_argument("--rental-fee", type=_fraction("--rental-fee", open_high=True), default=0.0, metavar="F",
                   help="marketplace commission on the rental price (default 0: prices as listed)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    add_currency_argument(p)
    p.set_defaults(func=run_compare)


def run_compare(args: argparse.Namespace) -> int:
    scenario = load_cli_scenario(args)
    with printed_in(scenario.currency):
        return _run_compare(args, scenario)


def _run_compare(args: argparse.Namespace, scenario) -> int:
    from analysis.cli.staleness import warn_if_stale
    from analysis.core.finite import check_finite
    from analysis.econ.compare import compare
    from analysis.econ.scenario import price_asset

    print_scenario_notes(scenario, args.json)
    result = check_finite(compare(scenario, args.token_usd, rental_occupancy=args.rental_occupancy,
                                  rental_fee=args.rental_fee), "compare")
    if args.token_usd is None:
        warn_if_stale(price_asset(scenario))
    result["currency"] = scenario.currency
    if args.json:
        print(json.dumps(result, allow_nan=False))
        return 0
    print(_text(result))
    return 0


def _usd(value, digits=3) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def _text(r: dict) -> str:
    tok = r["token"]
    when = f"close of {r['token_usd_date']}, {r['token_usd_origin']}" if r["token_usd_date"] else "given"
    p, c = r["provider"], r["customer"]
    lines = [f"{r['scenario']} ({r['network']}): {tok} at {r['token_usd']:.4f} USD ({when})",
             "",
             f"Provider view, {p['gpu']}, USD per GPU-hour (wall clock)",
             f"  on {r['network']}: {_usd(p['network_usd_per_gpu_hour'])} at {utilisation_text(p['utilisation'])} utilisation, "
             f"payouts sold on arrival; power {_usd(p['power_usd_per_gpu_hour'])}"]
    alts = [a for a in p["alternatives"] if a["statistic"] == "latest"]
    if alts:
        lines.append(f"  {'kind':<23}{'provider':<19}{'pricing':<20}{'latest':>8}{'median':>8}  observed    source")
        medians = {(a["provider"], a["pricing"]): a for a in p["alternatives"] if a["statistic"] == "median"}
        for a in alts:
            m = medians.get((a["provider"], a["pricing"]), {})
            lines.append(f"  {a['kind']:<23}{a['provider'][:18]:<19}{a['pricing'][:19]:<20}"
                         f"{a['usd_per_gpu_hour']:>8.2f}{m.get('usd_per_gpu_hour', float('nan')):>8.2f}  "
                         f"{a['observed_at']}  {a['source'][:60]}")
    else:
        lines.append(f"  no rental prices on record for {p['gpu']}; fetch some with "
                     f"'cocoon-econ fetch rates --source vastai --gpu {p['gpu']}'")
    be, market = p["break_even"], p["market_rental"]
    if be is not None:
        lines += [f"  market rental rate: {market['usd_per_gpu_hour']:.2f} USD/GPU-h (median of {market['quotes']} "
                  f"providers' latest prices, up to {market['observed_at']})",
                  f"  net of power: {r['network']} {_usd(be['network_net_usd_per_gpu_hour'])} vs renting "
                  f"{_usd(be['rental_net_usd_per_gpu_hour'])} (rented {p['rental_occupancy']:.0%} of the time, "
                  f"fee {p['rental_fee']:.0%})",
                  f"  {r['network']} beats renting from a {tok} price of {_usd(be['token_usd_to_beat'], 4)} USD, "
                  f"or at this price from a utilisation of {util_text(be['utilisation_to_beat'])}"]
    lines += ["", "Customer view, USD per million tokens"]
    if r["network"] == "cocoon":
        lines.append(f"  COCOON: prompt {_usd(c['cocoon_usd_per_m_prompt'], 4)}, cached "
                     f"{_usd(c['cocoon_usd_per_m_cached_prompt'], 4)}, completion {_usd(c['cocoon_usd_per_m_completion'], 4)}; "
                     f"per million output tokens with this workload's prompts: {_usd(c['cocoon_usd_per_m_output_at_workload'], 4)}")
    else:
        lines.append(f"  Render: {c['render_usd_per_gpu_hour']:.2f} USD per GPU-hour; per million output tokens "
                     f"{_usd(c['render_usd_per_m_output'], 4)} (set [workload] output_tokens_per_s to see it)")
    lines.append(f"  {'alternative':<34}{'model':<44}{'prompt':>8}{'output':>8}  observed")
    for a in c["alternatives"]:
        lines.append(f"  {(a['kind'] + ': ' + a['provider'])[:33]:<34}{a['model'][:43]:<44}"
                     f"{_usd(a['usd_per_m_prompt'], 2):>8}{_usd(a['usd_per_m_completion'], 2):>8}  {a['observed_at']}")
    if r.get("history"):
        beat = sum(1 for h in r["history"] if h["beats"])
        lines += ["", f"History: {r['network']} beat the market rental rate in {beat} of {len(r['history'])} months "
                      "with rental prices on record (see the report for the chart)"]
    return "\n".join(lines)


def _fraction(flag: str, open_low: bool = False, open_high: bool = False):
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{flag} = {text!r} is not a number; give a fraction like 0.8") from None
        ok = math.isfinite(value) and (value > 0 if open_low else value >= 0) and (value < 1 if open_high else value <= 1)
        if not ok:
            raise argparse.ArgumentTypeError(f"{flag} = {text} is out of range; give a fraction between 0 and 1")
        return value
    return parse
