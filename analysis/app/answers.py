"""The page's answers, from the package's own functions (there is no second model).

- :func:`economics`: :func:`analysis.econ.metrics.breakeven_summary` (what ``cocoon-econ
  breakeven --json`` prints), the monthly profit (:func:`~analysis.econ.metrics.monthly_profit_at`),
  profit against the token price (:func:`~analysis.econ.metrics.monthly_profit_usd`) and the
  provider view of :mod:`analysis.econ.compare` (what ``cocoon-econ compare`` prints);
- :func:`simulation`: :func:`analysis.sim.simulation.simulate` with the CLI's arguments (what
  ``cocoon-econ simulate --seed S --json`` prints), plus the fan of the scenario's strategy;
- :func:`results_csv`: both as one CSV.

Every answer is plain numbers (JSON-ready, ``None`` for undefined), with notes saying where
the throughput, utilisation, prices, drift and funding came from. Nothing here imports Dash.
"""

from __future__ import annotations

import csv
import io
import math
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar, cast

import numpy as np

from analysis.core.errors import DataError
from analysis.core.plain import plain
from analysis.econ import compare as cmp
from analysis.econ import throughput as tp
from analysis.econ.costs import hardware_resale_usd, resale_forgone_usd
from analysis.econ.currency import LITERAL_USD, relabel_key, relabel_text
from analysis.econ.ledger import NET_BASIS
from analysis.econ.metrics import breakeven_summary, monthly_profit_at, monthly_profit_usd
from analysis.econ.scenario import Scenario, price_asset
from analysis.market import rates
from analysis.sim.risk import fan
from analysis.sim.simulation import simulate

CACHE_SECONDS = 60.0   # the latest close and rental prices are re-read at most this often (a fetch may add rows)
CURVE_POINTS = 121
_T = TypeVar("_T")
_cache: dict[tuple, tuple[float, Any]] = {}
_cache_lock = threading.Lock()


def _cached(key: tuple, load: Callable[[], _T]) -> _T:
    now = time.monotonic()
    with _cache_lock:
        hit = _cache.get(key)
    if hit is not None and now - hit[0] < CACHE_SECONDS:
        return hit[1]
    value = load()
    with _cache_lock:
        _cache[key] = (now, value)
    return value


def token_price(scenario: Scenario, ton_usd: float | None) -> dict[str, Any]:
    """The token price used, in the scenario's currency: the given one, or the latest daily close
    (as ``breakeven`` uses; TON/X = the TON/USD close x X per USD of its day in another currency).

    ``fx`` says how a close was converted (``None`` in USD or for a typed price): the rate, and the
    note of TON closes left out after the last ECB fixing known."""
    token, code = scenario.network.token, scenario.currency
    if ton_usd is not None:
        return {"token": token, "usd": float(ton_usd), "date": None, "origin": "typed on the page", "fx": None}
    asset = price_asset(scenario)
    usd, day, origin, fx = _cached(("close", asset, code), lambda: _latest_close(asset, code))
    return {"token": token, "usd": usd, "date": day, "origin": origin, "fx": fx}


def _latest_close(asset: str, code: str) -> tuple[float, str, str, dict[str, Any] | None]:
    from analysis.market.fx import fx_rate
    from analysis.market.prices import daily_closes

    usd, day, origin = cmp.latest_price(asset, currency=code)
    if code == "USD":
        return usd, day, origin, None
    cut = daily_closes(asset, currency=code).attrs.get("fx_note")
    return usd, day, origin, {"currency": code, "per_usd": fx_rate(day, code), "note": cut}


def _rate_history(gpu: str):
    def load():
        try:
            return rates.rate_history(gpu)
        except DataError:  # a damaged rates cache: the vendored reference table still answers (as compare does)
            reference = rates.all_rates(include_fetched=False)
            return reference[reference["gpu"] == gpu].reset_index(drop=True)
    return _cached(("rates", gpu), load)


def _rate_history_in(gpu: str, currency: str):
    """The rental prices of ``gpu`` in ``currency``, each at the ECB rate of its observed day (as ``compare``)."""
    if currency == "USD":
        return _rate_history(gpu)
    return _cached(("rates", gpu, currency), lambda: cmp.in_currency(_rate_history(gpu), currency))


def _alternatives(gpu: str, currency: str = "USD"):
    return _cached(("alternatives", gpu, currency),
                   lambda: cmp.provider_alternatives(gpu, history=_rate_history_in(gpu, currency)))


def throughput_rows(gpu: str | None = None) -> list[dict[str, Any]]:
    """The measured throughputs the scenario's own lookup uses (``inference_throughput_cocoon.csv``,
    :func:`analysis.econ.throughput.throughput_rows`), for ``gpu`` or all, to pick from."""
    rows = []
    for r in tp.throughput_rows():
        if gpu is not None and r.canonical_gpu != gpu:
            continue
        rows.append({"row": r.row, "gpu": r.canonical_gpu, "output_tokens_per_s": r.output_tokens_per_s,
                     "prompt_tokens_per_output_token": r.prompt_tokens_per_output_token,
                     "label": f"{r.model} on {r.gpu.split('(')[0].strip()}, {r.engine} {r.precision}, concurrency "
                              f"{r.concurrency}: {r.output_tokens_per_s:,.0f} tok/s ({r.confidence or 'unrated'})",
                     "source": tp.reference_source(r), "detail": r.label()})
    return rows


def throughput_info(scenario: Scenario) -> dict[str, Any] | None:
    """Where the throughput came from (:func:`analysis.econ.throughput.describe_throughput`), as
    ``breakeven --json`` reports it; None on Render without a throughput (it pays per GPU-hour)."""
    if scenario.network.name == "render" and not scenario.workload.output_tokens_per_s:
        return None
    return tp.describe_throughput(scenario.workload, scenario.hardware.gpu)


def provider_view(scenario: Scenario, token_usd: float, rental_occupancy: float = 1.0,
                  rental_fee: float = 0.0) -> dict[str, Any]:
    """The provider view of ``cocoon-econ compare``: the network's USD per GPU-hour, renting the
    GPU out (latest and median per provider) and the token price and utilisation to beat renting."""
    gpu, code = scenario.hardware.gpu, scenario.currency
    history = _rate_history_in(gpu, code)
    alternatives = _alternatives(gpu, code)
    market = _cached(("market", gpu, code), lambda: cmp.market_rental_rate(history))
    be = None if market is None else cmp.break_even_vs_rental(
        scenario, token_usd, market["usd_per_gpu_hour"], rental_occupancy=rental_occupancy, rental_fee=rental_fee)
    return plain({"gpu": gpu, "network_usd_per_gpu_hour": cmp.network_usd_per_gpu_hour(scenario, token_usd),
                   "power_usd_per_gpu_hour": cmp.power_usd_per_gpu_hour(scenario),
                   "utilisation": scenario.workload.utilisation, "rental_occupancy": rental_occupancy,
                   "rental_fee": rental_fee, "alternatives": alternatives.to_dict(orient="records"),
                  "alternative_columns": list(alternatives.columns),
                   "market_rental": market, "break_even": be})


def profit_curve(scenario: Scenario, token_usd: float, break_even: list[float | None]) -> dict[str, list]:
    """Monthly profit (all costs, and cash costs only) against the token price, from 0 to past
    the break-even prices and today's price."""
    marks = [token_usd] + [b for b in break_even if b is not None and math.isfinite(b)]
    top = max(2.0 * token_usd, 1.3 * max(marks))
    # Render converts its USD job pay at the price, so the price must be positive there
    low = 0.0 if scenario.network.name == "cocoon" else top / (CURVE_POINTS - 1)
    prices = np.linspace(low, top, CURVE_POINTS)
    u = np.array([scenario.workload.utilisation])
    full = monthly_profit_usd(scenario, prices, u, include_capex=True)[0]
    cash = monthly_profit_usd(scenario, prices, u, include_capex=False)[0]
    return {"token_usd": prices.tolist(), "profit_usd_per_month": full.tolist(),
            "cash_profit_usd_per_month": cash.tolist()}


def economics(scenario: Scenario, ton_usd: float | None = None, rental_occupancy: float = 1.0,
              rental_fee: float = 0.0, conversion: str | None = None) -> dict[str, Any]:
    """Break-even, monthly profit, payback, the profit curve and the provider view at one price.

    Every amount is in the scenario's currency (``summary["currency"]``) under the engine's
    ``usd`` names; the page and the CSV name it (:func:`analysis.econ.currency.relabel_text`).
    ``conversion`` is the note of the page's last change of currency (the first of the notes).

    ``summary`` is exactly :func:`~analysis.econ.metrics.breakeven_summary` (the CLI's
    ``breakeven --json`` numbers); ``monthly_profit_usd`` and ``monthly_cash_profit_usd`` the
    steady-state profit per month (365/12 days) with and without depreciation.
    """
    price = token_price(scenario, ton_usd)
    summary = breakeven_summary(scenario, price["usd"])
    observed = scenario.observed_utilisation
    summary.update(ton_usd_date=price["date"], ton_usd_origin=price["origin"], token=price["token"],
                   currency=scenario.currency,   # the unit of every money field, as breakeven --json says it
                   utilisation_origin=scenario.utilisation_origin,   # as breakeven --json says it
                   observed_utilisation=observed.as_dict() if observed is not None else None,
                   throughput=throughput_info(scenario))
    monthly = plain({"monthly_profit_usd": monthly_profit_at(scenario, price["usd"], include_capex=True),
                      "monthly_cash_profit_usd": monthly_profit_at(scenario, price["usd"], include_capex=False)})
    curve = profit_curve(scenario, price["usd"], [cast(float | None, summary["break_even_ton_usd"]),
                                                  cast(float | None, summary["break_even_ton_usd_cash"])])
    provider = provider_view(scenario, price["usd"], rental_occupancy, rental_fee)
    when = f"close of {price['date']} ({price['origin']})" if price["date"] else price["origin"]
    notes = [*([conversion] if conversion else []), f"{price['token']} price {price['usd']:.4f} USD: {when}",
             *_fx_lines(price),
             *(tp.throughput_lines(summary["throughput"]) if summary["throughput"] is not None else
               ["throughput: not used (Render pays per GPU-hour)"]),
             f"utilisation {scenario.workload.utilisation:.2%}: " + (
                 "observed, the COCOON network's paid demand (below)" if observed is not None else
                 "assumed, a number typed or from the scenario (or choose observed demand)")]
    if provider["market_rental"] is not None:
        notes.append(f"market rental rate {provider['market_rental']['usd_per_gpu_hour']:.2f} USD/GPU-h: "
                     f"{provider['market_rental']['source']}")
    else:
        notes.append(f"no rental prices on record for {scenario.hardware.gpu} "
                     f"(cocoon-econ fetch rates --source vastai --gpu {scenario.hardware.gpu})")
    return {"scenario": scenario.name, "summary": summary, **monthly, "curve": curve, "provider": provider,
            "price": price, "notes": notes + list(scenario.notes)}


def _fx_lines(price: dict[str, Any]) -> list[str]:
    """How a latest close was converted into the currency (nothing in USD or for a typed price)."""
    fx = price.get("fx")
    if not fx:
        return []
    token, code = price["token"], fx["currency"]
    usd = LITERAL_USD   # the dollar itself, not the unit of the page
    lines = [f"{token}/{code} = {token}/{usd} close x {code} per {usd} of the same day (ECB euro reference rates): "
             f"{fx['per_usd']:.6g} {code} per {usd} on {price['date']}"]
    return lines + ([f"note: {fx['note']}"] if fx.get("note") else [])


def simulation(scenario: Scenario, method: str = "bootstrap", paths: int = 2000, seed: int | None = 1,
               start_price: float | None = None) -> dict[str, Any]:
    """:func:`~analysis.sim.simulation.simulate` with the CLI's arguments; ``summary`` is what
    ``cocoon-econ simulate --method M --paths N --seed S [--start-price X] --json`` prints.

    Each strategy's entry carries the basis of its net USD (:func:`net_basis`), as the CLI's does.
    ``fan`` holds the P5/P25/P50/P75/P95 of the scenario's strategy's cumulative net USD on each
    day (the same paths, drawn again with the same seed, keeping that one strategy's positions);
    ``net_usd`` each strategy's per-path results (for the distribution chart).
    """
    sim = simulate(scenario, method, paths, None, seed, None, start_price=start_price)
    chosen = scenario.treasury.strategy
    seed_used = sim.seed_entropy if sim.seed_entropy is not None else seed
    kept = simulate(scenario, method, paths, None, seed_used, [chosen], start_price=start_price, keep_paths=True)
    assert kept.positions is not None  # keep_paths=True keeps them
    basis = net_basis(scenario, sim.horizon_days)
    summary = {name: {**metrics, **basis} for name, metrics in sim.summary().items()}
    notes = [_model_note(sim, price_asset(scenario).upper()), *_sim_fx_lines(sim, scenario.network.token),
             *_assumption_notes(sim, scenario)]
    return {"scenario": sim.scenario, "currency": scenario.currency, "method": sim.method, "paths": sim.n_paths, "horizon_days": sim.horizon_days,
            "start_price": sim.start_price, "token": scenario.network.token, "seed": sim.seed_entropy, "strategy": chosen,
            "summary": summary, "basis": basis, "fan": fan(kept.positions[chosen]),
            "net_usd": {name: sim.outcomes[name].net_usd for name in sim.strategies},
            "notes": [n for n in notes if n]}


def _sim_fx_lines(sim, token: str) -> list[str]:
    """The FX risk the paths carry (what ``simulate`` prints in another currency)."""
    fx = sim.notes.get("fx")
    if not fx:
        return []
    usd, code = LITERAL_USD, fx["currency"]   # the dollar itself, not the unit of the page
    return [f"FX: {token}/{code} = {token}/{usd} close x {code} per {usd} (ECB) of the same day; the paths carry "
            f"both ({fx['days']} days: vol {token}/{usd} {fx['vol_ton_usd_annual']:.0%}, {usd}/{code} "
            f"{fx['vol_fx_annual']:.1%}, correlation {fx['correlation']:+.2f} -> {token}/{code} "
            f"{fx['vol_ton_fx_annual']:.0%} a year)"]


def net_basis(scenario: Scenario, horizon_days: int) -> dict[str, Any]:
    """What the simulation's net USD counts for the hardware (docs/glossary.md): the keys
    ``simulate --json`` adds to each strategy."""
    return {"net_basis": NET_BASIS["simulate"],
            "hardware_resale_end_usd": hardware_resale_usd(scenario.hardware, horizon_days),
            "hardware_resale_forgone_usd": resale_forgone_usd(scenario.hardware)}


def _model_note(sim, token: str) -> str:
    model = sim.notes.get("model") or {}
    start = f"from {sim.start_price:.4f} USD/{token}"
    if sim.method == "historical":
        return f"price path: the real {token} closes from {sim.notes.get('start')} ({start})"
    if sim.method == "rolling":
        return (f"price paths: every historical start {sim.notes.get('first_start')} .. "
                f"{sim.notes.get('last_start')}, rescaled to start {start}")
    if sim.method == "bootstrap":
        return (f"price paths: stationary block bootstrap of {model.get('returns')} daily {token} returns "
                f"(mean block {model.get('block_length', float('nan')):.1f} days), {start}")
    if sim.method == "gbm":
        return f"price paths: GBM, volatility {model.get('vol_annual', float('nan')):.1%}/year, {start}"
    return f"price paths: GARCH(1,1)-t fitted on the {token} history (variance capped at the fitted maximum), {start}"


def _assumption_notes(sim, scenario: Scenario) -> list[str]:
    """What ``simulate`` prints under its table: drift, funding, the perp's margin terms."""
    t, notes = scenario.treasury, sim.notes
    cap = "no cap" if t.max_collateral_usd is None else f"cap {t.max_collateral_usd:,.0f} USD"
    out = [f"drift: {notes.get('drift')}", f"perp funding: {notes.get('funding')}; positive pays the short",
           f"perp margin: initial {t.initial_margin_fraction:.0%} and maintenance {t.maintenance_margin_fraction:.0%} "
           f"of the short's notional, collateral at {t.cost_of_capital_annual:.1%}/year cost of capital, {cap}; "
           f"hedge ratio {t.hedge_ratio:.0%}; trading fee {t.trading_fee_bps:g} bps"]
    out += [f"note: {notes[k]}" for k in ("funding_note", "usd_pegged", "usd_fx") if notes.get(k)]
    return out


def cli_commands(file: str, ton_usd: float | None, method: str, paths: int, seed: int | None,
                 rental_occupancy: float = 1.0, rental_fee: float = 0.0) -> list[str]:
    """The CLI runs that reproduce the page from the downloaded scenario ``file``."""
    price = "" if ton_usd is None else f" --ton-usd {ton_usd!r}"
    start = "" if ton_usd is None else f" --start-price {ton_usd!r}"
    seeded = "" if seed is None else f" --seed {seed}"
    rental = (f" --rental-occupancy {rental_occupancy!r}" if rental_occupancy != 1.0 else "") + (
        f" --rental-fee {rental_fee!r}" if rental_fee != 0.0 else "")
    return [f"cocoon-econ breakeven --scenario {file}{price}",
            f"cocoon-econ simulate --scenario {file} --method {method} --paths {paths}{seeded}{start}",
            f"cocoon-econ compare --scenario {file}{price}{rental}"]


def results_csv(econ: dict[str, Any] | None, sim: dict[str, Any] | None) -> str:
    """Every number on the page as CSV: ``section, item, value, unit``, the items and units named
    in the page's currency (``break_even_ton_eur``, ``EUR/TON``), as the CLI's outputs are."""
    code = ((econ or {}).get("summary") or {}).get("currency") or (sim or {}).get("currency") or "USD"
    out = io.StringIO()
    raw = csv.writer(out, lineterminator="\n")
    raw.writerow(["section", "item", "value", "unit"])

    class _Named:
        def writerow(self, row):
            section, item, value, unit = row
            raw.writerow([section, relabel_key(str(item), code), relabel_text(str(value), code),
                          relabel_text(str(unit), code)])

    writer = _Named()
    if econ is not None:
        s = econ["summary"]
        token = s.get("token", "TON")
        units = {"ton_usd": f"USD/{token}", "break_even_ton_usd": f"USD/{token}",
                 "break_even_ton_usd_cash": f"USD/{token}", "ton_per_day": f"{token}/day",
                 "ton_earned_per_day": f"{token}/day", "usd_income_per_day": "USD/day",
                 "usd_profit_per_day": "USD/day", "usd_cash_profit_per_day": "USD/day",
                 "usd_per_gpu_hour": "USD/GPU-hour", "break_even_utilisation": "fraction",
                 "break_even_utilisation_cash": "fraction", "utilisation": "fraction", "horizon_days": "days",
                 "payback_days": "days", "npv_usd": "USD", "capex_paid_usd": "USD", "irr": "per year"}
        for key, value in s.items():
            if isinstance(value, dict):
                for k, v in value.items():
                    writer.writerow(["breakeven", f"{key}.{k}", _cell(v), "USD/day" if key == "usd_costs_per_day" else ""])
            else:
                writer.writerow(["breakeven", key, _cell(value), units.get(key, "")])
        writer.writerow(["breakeven", "monthly_profit_usd", _cell(econ["monthly_profit_usd"]), "USD/month"])
        writer.writerow(["breakeven", "monthly_cash_profit_usd", _cell(econ["monthly_cash_profit_usd"]), "USD/month"])
        p = econ["provider"]
        writer.writerow(["provider", "network_usd_per_gpu_hour", _cell(p["network_usd_per_gpu_hour"]), "USD/GPU-hour"])
        writer.writerow(["provider", "power_usd_per_gpu_hour", _cell(p["power_usd_per_gpu_hour"]), "USD/GPU-hour"])
        if p["market_rental"] is not None:
            writer.writerow(["provider", "market_rental_usd_per_gpu_hour",
                             _cell(p["market_rental"]["usd_per_gpu_hour"]), "USD/GPU-hour"])
        for key, value in (p["break_even"] or {}).items():
            unit = f"USD/{token}" if key == "token_usd_to_beat" else "fraction" if key == "utilisation_to_beat" \
                else "USD/GPU-hour"
            writer.writerow(["provider", key, _cell(value), unit])
        for a in p["alternatives"]:
            writer.writerow(["rental", f"{a['provider']} {a['pricing']} {a['statistic']}",
                             _cell(a["usd_per_gpu_hour"]), "USD/GPU-hour"])
    if sim is not None:
        writer.writerow(["simulation", "currency", sim.get("currency", "USD"), ""])
        writer.writerow(["simulation", "method", sim["method"], ""])
        writer.writerow(["simulation", "paths", sim["paths"], ""])
        writer.writerow(["simulation", "seed", "" if sim["seed"] is None else sim["seed"], ""])
        writer.writerow(["simulation", "start_price", _cell(sim["start_price"]), "USD/" + sim.get("token", "TON")])
        for name, metrics in sim["summary"].items():
            for key, value in metrics.items():
                unit = "USD" if key.endswith("_usd") else "days" if "days" in key else "fraction" \
                    if key.startswith("prob") else ""
                writer.writerow([f"strategy {name}", key, _cell(value), unit])
    return out.getvalue()


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)
