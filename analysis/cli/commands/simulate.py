"""``cocoon-econ simulate``: a thin wrapper over :func:`analysis.sim.simulation.simulate`.

Random paths of a scenario in USD run without importing pandas (issue 20: about 0.3 s of the
command; :func:`analysis.sim.simulation.plain_route`); any other run imports it without pyarrow.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from analysis.cli.currency import add_currency_argument, printed_in
from analysis.cli.scenario_args import add_utilisation_argument, load_cli_scenario, print_scenario_notes

METHODS = ("historical", "rolling", "bootstrap", "gbm", "garch")


def register(commands: argparse._SubParsersAction, fetch_commands: argparse._SubParsersAction) -> None:
    """Add ``simulate``."""
    p = commands.add_parser(
        "simulate", help="treasury/hedging strategies of a scenario over simulated TON price paths",
        description="Run the scenario's treasury and hedging strategies over TON price paths and print, per "
                    "strategy, the distribution of net USD over the horizon (hardware at market resale), the "
                    "probability of a loss and of payback, CVaR 5%%, drawdown and days to payback.")
    p.add_argument("--scenario", required=True, type=Path, metavar="FILE", help="scenario TOML file")
    add_utilisation_argument(p)
    p.add_argument("--method", choices=METHODS, default="bootstrap",
                   help="price paths: the real path from [finance] start (historical), every historical start "
                        "date (rolling), stationary block bootstrap, GBM or GARCH(1,1)-t (default: bootstrap)")
    p.add_argument("--paths", type=_at_least_one("--paths"), default=2000, metavar="N",
                   help="number of random paths (bootstrap, gbm, garch; default 2000)")
    p.add_argument("--horizon-days", type=_at_least_one("--horizon-days"), default=None, metavar="D",
                   help="days simulated (default: [finance] horizon_days)")
    p.add_argument("--seed", type=_seed, default=None, metavar="S",
                   help="random seed (default: fresh entropy, printed so the run can be repeated)")
    p.add_argument("--strategies", type=_names, default=None, metavar="A,B,...",
                   help="comma-separated strategies (default: all): hold, sell_on_payout, sell_every, cover_costs, "
                        "stake, perp_hedge, put_protection, collar, usd_pegged")
    p.add_argument("--start-price", "--token-price", dest="start_price", type=_positive("--start-price"), default=None,
                   metavar="X",
                   help="the token's price at the start in the run's currency: TON/USD, or TON/EUR with --currency "
                        "EUR (default: the latest close; historical: the real price)")
    p.add_argument("--window-days", type=_at_least_one("--window-days"), default=None, metavar="N",
                   help="fit bootstrap/gbm/garch on the last N daily returns (default: all)")
    drift = p.add_mutually_exclusive_group()
    drift.add_argument("--drift", choices=("zero", "historical"), default="zero",
                       help="drift of the random paths (bootstrap, gbm, garch): zero, so E[price] stays at the start "
                            "price (default), or historical, estimated from the returns (opt-in: 4.5 years of TON "
                            "give +64%%/year with a standard error of about 47%%/year)")
    drift.add_argument("--drift-annual", type=_positive("--drift-annual", any_sign=True), default=None, metavar="X",
                       help="drift of the random paths as a fraction per year, E[S_t] = S_0 exp(X t) (e.g. 0.2)")
    p.add_argument("--vol-annual", type=_positive("--vol-annual", allow_zero=True), default=None, metavar="X",
                   help="GBM volatility per year (default: estimated)")
    p.add_argument("--option-vol", choices=("realised", "garch"), default="realised",
                   help="volatility options are priced at, before [treasury] vol_premium: each path's trailing "
                        "30-day realised volatility, or the GARCH forecast at the start (default: realised)")
    p.add_argument("--workers", type=_at_least_one("--workers"), default=None, metavar="N",
                   help="threads to run the chunks of paths on (default: every core; the numbers do not depend on it)")
    p.add_argument("--json", action="store_true", help="print one JSON object keyed by strategy")
    add_currency_argument(p)
    p.set_defaults(func=run_simulate)


def run_simulate(args: argparse.Namespace) -> int:
    from analysis.cli.jit_start import load_pandas_without_arrow, prepare_kernels
    from analysis.sim.simulation import plain_route

    prepare_kernels()   # before anything compiled is loaded
    scenario = load_cli_scenario(args)
    if not plain_route(scenario, args.method):   # random paths in USD read no frame (issue 20)
        load_pandas_without_arrow()
    with printed_in(scenario.currency):
        return _run_simulate(args, scenario)


def _run_simulate(args: argparse.Namespace, scenario) -> int:
    from analysis.cli.staleness import warn_if_stale
    from analysis.core.finite import check_finite
    from analysis.econ.scenario import price_asset
    from analysis.sim.simulation import simulate

    print_scenario_notes(scenario, args.json)
    from analysis.cli.commands.economics import throughput_info, throughput_text

    # Where the throughput came from (issue 15): on stderr with --json, so stdout stays one object.
    for line in throughput_text(throughput_info(scenario)):
        print(line, file=sys.stderr if args.json else sys.stdout)
    if args.method not in ("historical", "rolling"):  # say what a long run will cost before it starts
        from analysis.sim.budget import describe_estimate

        if estimate := describe_estimate(args.paths, args.horizon_days or scenario.finance.horizon_days,
                                         len(args.strategies or ()) or 9, args.workers):
            print(f"note: {estimate}", file=sys.stderr)
    sim = simulate(scenario, args.method, args.paths, args.horizon_days, args.seed, args.strategies,
                   start_price=args.start_price, window_days=args.window_days,
                   drift=args.drift if args.drift_annual is None else args.drift_annual,
                   vol_annual=args.vol_annual, option_vol=args.option_vol, workers=args.workers)
    summary = check_finite(sim.summary(workers=args.workers), "simulate")
    if args.start_price is None and args.method != "historical":
        warn_if_stale(price_asset(scenario))
    basis = _net_basis(scenario, sim.horizon_days)
    if args.json:
        shown = assumptions(sim, scenario)
        for entry in summary.values():   # which "net" net_usd is (docs/glossary.md) and every assumption
            entry.update(basis)
            entry["assumptions"] = shown
        print(json.dumps(summary, allow_nan=False))
        return 0
    print(_text(sim, summary, scenario.treasury.strategy, price_asset(scenario).upper(), basis))
    print(_assumption_lines(assumptions(sim, scenario)))
    return 0


def assumptions(sim, scenario) -> dict[str, object]:
    """Every assumption behind the numbers, defaults included (printed with the text, in the JSON)."""
    t = scenario.treasury
    notes = sim.notes
    out: dict[str, object] = {
        "method": sim.method,
        "drift": notes.get("drift"),
        "drift_annual": notes.get("drift_annual"),
        "funding": notes.get("funding"),
        "funding_mode": notes.get("funding_mode"),
        "funding_rate_annual": notes.get("funding_rate_annual"),
        "initial_margin_fraction": t.initial_margin_fraction,
        "maintenance_margin_fraction": t.maintenance_margin_fraction,
        "cost_of_capital_annual": t.cost_of_capital_annual,
        "max_collateral_usd": t.max_collateral_usd,
        "hedge_ratio": t.hedge_ratio,
        "trading_fee_bps": t.trading_fee_bps,
        "usd_pegged": notes.get("usd_pegged") or None,
    }
    if notes.get("usd_fx"):   # another currency: the network's dollar prices follow X/USD
        out["usd_fx"] = notes["usd_fx"]
    if "funding_note" in notes:
        out["funding_note"] = notes["funding_note"]
    return out


def _assumption_lines(a: dict[str, object]) -> str:
    cap = "no cap" if a["max_collateral_usd"] is None else f"cap {a['max_collateral_usd']:,.0f} USD"
    lines = [f"drift: {a['drift']}",
             f"perp funding: {a['funding']}; positive pays the short",
             f"perp margin: initial {a['initial_margin_fraction']:.0%} and maintenance "
             f"{a['maintenance_margin_fraction']:.0%} of the short's notional, collateral at "
             f"{a['cost_of_capital_annual']:.1%}/year cost of capital, {cap} (then liquidated at the close); "
             f"hedge ratio {a['hedge_ratio']:.0%}; trading fee {a['trading_fee_bps']:g} bps"]
    if a.get("funding_note"):
        lines.append(f"note: {a['funding_note']}")
    if a.get("usd_pegged"):
        lines.append(f"usd_pegged: {a['usd_pegged']}")
    if a.get("usd_fx"):
        lines.append(f"dollar prices: {a['usd_fx']}")
    return "\n".join(lines)


def _net_basis(scenario, horizon_days: int) -> dict:
    """What the simulation's net USD counts for the hardware (issue 14), for text and JSON."""
    from analysis.econ.costs import hardware_resale_usd, resale_forgone_usd
    from analysis.econ.ledger import NET_BASIS

    return {"net_basis": NET_BASIS["simulate"],
            "hardware_resale_end_usd": hardware_resale_usd(scenario.hardware, horizon_days),
            "hardware_resale_forgone_usd": resale_forgone_usd(scenario.hardware)}


def _text(sim, summary: dict[str, dict], chosen: str, token: str = "TON", basis: dict | None = None) -> str:
    seed = f"; seed {sim.seed_entropy}" if sim.seed_entropy is not None else ""
    hardware = "hardware at market resale"
    if basis is not None:
        hardware += f" {basis['hardware_resale_end_usd']:,.0f} USD"
        if basis["hardware_resale_forgone_usd"]:
            hardware += f" less {basis['hardware_resale_forgone_usd']:,.0f} USD resale forgone on day 0 (owned)"
    lines = [f"{sim.scenario}: {sim.method}, {sim.n_paths} path(s) x {sim.horizon_days} days from "
             f"{sim.start_price:.4f} USD/{token}{seed}",
             f"simulate net USD over the horizon (cash, {token} and hedges liquidated at the end, {hardware}; "
             "undiscounted; docs/glossary.md)",
             f"{'strategy':<16}{'mean':>11}{'P5':>11}{'P50':>11}{'P95':>11}{'P(loss)':>9}{'P(payback)':>11}"
             f"{'CVaR 5%':>11}{'drawdown P95':>14}{'payback P50':>12}"]
    for name, s in summary.items():
        mark = "*" if name == chosen else " "
        payback = "-" if s["payback_days_p50"] is None else f"{s['payback_days_p50']:.0f} d"
        lines.append(f"{mark}{name:<15}{s['mean_usd']:>11,.0f}{s['p5_usd']:>11,.0f}{s['p50_usd']:>11,.0f}"
                     f"{s['p95_usd']:>11,.0f}{s['prob_loss']:>9.1%}{s['prob_payback']:>11.1%}{s['cvar5_usd']:>11,.0f}"
                     f"{s['drawdown_p95_usd']:>14,.0f}{payback:>12}")
    from analysis.econ.currency import LITERAL_USD

    fx = sim.notes.get("fx")   # set in another currency only: then "USD" below is the dollar itself
    dollar = LITERAL_USD if fx else "USD"
    lines.append(f"* the scenario's [treasury] strategy. usd_pegged: the network prices in {dollar}, so it carries the "
                 f"{token} risk. Options are theoretical (no liquid listed {token} options market).")
    for name, s in summary.items():
        if s["peak_collateral_max_usd"] > 0:
            lines.append(f"{name}: collateral peak P50 {s['peak_collateral_p50_usd']:,.0f} / P95 "
                         f"{s['peak_collateral_p95_usd']:,.0f} / max {s['peak_collateral_max_usd']:,.0f} USD, cost of "
                         f"capital {s['cost_of_capital_mean_usd']:,.0f} USD (mean, in net USD), P(liquidation) "
                         f"{s['prob_liquidation']:.1%}")
    if fx:
        usd = LITERAL_USD   # the dollar itself, not the run's unit
        lines.append(f"FX: {token}/{fx['currency']} = {token}/{usd} close x {fx['currency']} per {usd} (ECB) of the "
                     f"same day; the paths carry both ({fx['days']} days: vol {token}/{usd} {fx['vol_ton_usd_annual']:.0%}, "
                     f"{usd}/{fx['currency']} {fx['vol_fx_annual']:.1%}, correlation {fx['correlation']:+.2f} -> "
                     f"{token}/{fx['currency']} {fx['vol_ton_fx_annual']:.0%} a year)")
    return "\n".join(lines)


def _at_least_one(flag: str):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{flag} = {text!r} is not a whole number") from None
        if value < 1:
            raise argparse.ArgumentTypeError(f"{flag} = {value} must be at least 1")
        return value
    return parse


def _positive(flag: str, allow_zero: bool = False, any_sign: bool = False):
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{flag} = {text!r} is not a number") from None
        if value != value or abs(value) == float("inf"):
            raise argparse.ArgumentTypeError(f"{flag} = {text} must be a finite number")
        if not (any_sign or value > 0 or (allow_zero and value == 0)):
            raise argparse.ArgumentTypeError(f"{flag} = {text} must be a positive number")
        return value
    return parse


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--seed = {text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"--seed = {value} must be 0 or more")
    return value


def _names(text: str) -> list[str]:
    from analysis.sim.strategies import STRATEGY_NAMES

    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise argparse.ArgumentTypeError("--strategies is empty; give comma-separated names")
    for name in names:
        if name not in STRATEGY_NAMES:
            raise argparse.ArgumentTypeError(f"--strategies: unknown strategy {name!r}; use some of "
                                             f"{', '.join(STRATEGY_NAMES)}")
    return names
