"""Compare serving on COCOON (or Render) with renting the GPU out, and with what customers pay.

**Provider view** -- what the GPU earns per GPU-hour (wall clock, USD):

- on the network: :func:`analysis.econ.metrics.usd_per_gpu_hour` at the scenario's throughput,
  utilisation and token price, every payout sold when it arrives (``sell_on_payout``: net of
  on-chain and trading fees, steady state);
- renting it out instead: the latest and the median price of each provider and pricing kind in
  the rates history (:func:`analysis.market.rates.rate_history`: the vendored reference table plus
  fetched snapshots) -- marketplaces (Vast.ai, RunPod community), neoclouds (Lambda, Nebius,
  RunPod secure ...), price indexes -- and hyperscaler on-demand and reserved prices (the
  customer's alternative, an upper bound for a host). Each alternative carries its
  ``usd_per_gpu_hour``, ``source`` and ``observed_at`` (UTC day).

**Break-even against rental.** The *market rental rate* is the median, over the rental
providers (kinds :data:`RENTAL_KINDS`), of each one's latest price. Assumptions (stated in the
report and docs/models.md):

- marketplace and neocloud prices are what the renter pays for the GPU, not all-in for the
  host: the owner pays the electricity either way, so both sides are compared **net of power**;
  colocation, fixed costs and depreciation are the same whichever way the GPU is used, so they
  cancel;
- a rented GPU is busy ``rental_occupancy`` of the time (default 1.0: always rented, the
  best case for renting) at the scenario's power draw; any marketplace commission is
  ``rental_fee`` (default 0: prices as listed).

So, per GPU-hour, with ``u`` the scenario's utilisation and ``power(u)`` its power cost::

    network_net = usd_per_gpu_hour(price) - power(u) / 24
    rental_net  = rate * occupancy * (1 - rental_fee) - power(occupancy) / 24

Income is linear in the token price (``a + b * price``: ``a = 0`` on COCOON with fixed nanoTON
prices, ``b = 0`` when the price is pegged to USD, both on Render), and linear in utilisation, so
the token price and the utilisation at which ``network_net = rental_net`` are closed forms
(:func:`solve_token_price`, :func:`solve_utilisation`). :func:`beat_market_history` repeats the
token price for each month, against the market rental rate of that month (the median of each
rental provider's latest price in the 365 days up to the month's end) -- both move.

**Customer view** -- USD per million tokens:

- COCOON: ``price_per_token [nanoTON] * coefficient * multiplier / 10000 * 1e6 / 1e9 * TON/USD``
  (e.g. 20 nanoTON x 1.0 x 1.0 x 1e6 / 1e9 = 0.02 TON per million prompt tokens, 0.16 TON per
  million completion tokens at 8x);
- centralised inference APIs (``data/reference/api_token_prices.csv``);
- renting a hyperscaler GPU at a measured throughput (``inference_throughput.csv``):
  ``usd_per_gpu_hour / (output_tokens_per_s * 3600) * 1e6`` per million output tokens.
- Render: the customer pays ``job_usd_per_gpu_hour``; per million output tokens at the
  scenario's ``output_tokens_per_s`` when it is given.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.core.errors import DataError, InputError
from analysis.core.plain import plain
from analysis.core.units import NANOTON_PER_TON
from analysis.econ.costs import HOURS_PER_DAY, power_usd_per_gpu_day
from analysis.econ.metrics import usd_income_per_day, usd_per_gpu_hour
from analysis.econ.networks import MULTIPLIER_SCALE, daily_tokens_per_gpu
from analysis.econ.scenario import Scenario, price_asset, reference_table
from analysis.market import rates
from analysis.market.prices import daily_closes, latest_close

#: Kinds (:func:`analysis.market.rates.provider_kind`) that are "renting the GPU out".
RENTAL_KINDS = ("marketplace", "neocloud", "market index")
#: Kinds shown as the customer's hyperscaler alternative.
HYPERSCALER_KINDS = ("hyperscaler on demand", "hyperscaler reserved")
#: Rental quotes older than this (days before a month's end) are not used for that month.
HISTORY_WINDOW_DAYS = 365
SECONDS_PER_HOUR = 3600.0
TOKENS_PER_MILLION = 1e6


# --------------------------------------------------------------------------- token price


def latest_price(asset: str, cache_dir: str | Path | None = None, currency: str = "USD") -> tuple[float, str, str]:
    """The latest daily close of ``asset`` (``"ton"``/``"render"``): ``(price in currency, ISO day, origin)``."""
    latest = latest_close(asset, cache_dir, currency=currency)
    return latest.close_usd, latest.day.isoformat(), latest.origin


def in_currency(frame: pd.DataFrame, currency: str, cache_dir: str | Path | None = None) -> pd.DataFrame:
    """A reference table's USD prices (columns named ``usd_*``) in ``currency``, each row at the ECB
    rate of its ``observed_at`` day (the names keep ``usd``: the engine's fiat unit)."""
    if currency == "USD" or frame.empty:
        return frame
    from analysis.market.fx import daily_fx

    days = pd.to_datetime(frame["observed_at"], utc=True).dt.tz_localize(None).dt.normalize()
    rate = daily_fx(currency, pd.DatetimeIndex(days), cache_dir, field="reference price observed_at").to_numpy()
    from analysis.econ.currency import LITERAL_USD

    out = frame.copy()
    for col in out.columns:
        if str(col).startswith("usd_") and pd.api.types.is_numeric_dtype(out[col]):
            out[col] = out[col] * rate
        elif col == "source":   # a source's own words ("... reservation 1109592 USD") stay in dollars
            out[col] = out[col].astype(str).str.replace("USD", LITERAL_USD, regex=False)
    return out


def _check_price(value: float, field: str) -> float:
    value = float(value)
    if not (math.isfinite(value) and value > 0):
        raise InputError(f"{field} = {value!r} is not valid; use a positive USD price, e.g. 1.5")
    return value


# --------------------------------------------------------------------------- provider view


def network_usd_per_gpu_hour(scenario: Scenario, token_usd: float, utilisation: float | None = None) -> float:
    """USD earned per GPU per wall-clock hour (sell on payout, net of on-chain and trading fees)."""
    if utilisation is None:
        return usd_per_gpu_hour(scenario, token_usd)
    return usd_income_per_day(scenario, token_usd, utilisation) / scenario.hardware.gpus / HOURS_PER_DAY


def power_usd_per_gpu_hour(scenario: Scenario, utilisation: float | None = None) -> float:
    """Electricity per GPU per wall-clock hour at ``utilisation`` (idle draw the rest of the time)."""
    u = scenario.workload.utilisation if utilisation is None else utilisation
    return power_usd_per_gpu_day(scenario.operations, u) / HOURS_PER_DAY


def rental_net_usd_per_gpu_hour(scenario: Scenario, rate_usd_per_gpu_hour: float, occupancy: float = 1.0,
                                rental_fee: float = 0.0) -> float:
    """What renting the GPU out leaves per GPU-hour after the owner's electricity:
    ``rate * occupancy * (1 - rental_fee) - power(occupancy) / 24``."""
    return rate_usd_per_gpu_hour * occupancy * (1.0 - rental_fee) - power_usd_per_gpu_hour(scenario, occupancy)


def network_net_usd_per_gpu_hour(scenario: Scenario, token_usd: float, utilisation: float | None = None) -> float:
    """Network income per GPU-hour less the electricity at the scenario's (or the given) utilisation."""
    return network_usd_per_gpu_hour(scenario, token_usd, utilisation) - power_usd_per_gpu_hour(scenario, utilisation)


def solve_token_price(scenario: Scenario, target_net_usd_per_gpu_hour: float) -> float:
    """The token price (TON/USD, or RENDER/USD) at which the network's net income per GPU-hour
    equals ``target_net_usd_per_gpu_hour``.

    Income is ``a + b * price`` (see the module docstring), read off at prices 1 and 2.
    Returns 0.0 when the network beats the target at any price, NaN when its income does not
    depend on the price (USD-pegged pricing) and never reaches the target.
    """
    g1 = network_usd_per_gpu_hour(scenario, 1.0)
    g2 = network_usd_per_gpu_hour(scenario, 2.0)
    slope = g2 - g1
    intercept = g1 - slope
    need = target_net_usd_per_gpu_hour + power_usd_per_gpu_hour(scenario)
    if need <= intercept:
        return 0.0
    if not slope > 1e-12 * max(abs(g1), 1e-300):
        return math.nan
    return (need - intercept) / slope


def solve_utilisation(scenario: Scenario, token_usd: float, target_net_usd_per_gpu_hour: float) -> float:
    """The utilisation at which the network's net income per GPU-hour (at ``token_usd``) equals
    the target. Both income and power are linear in utilisation. 0.0 when reached at any
    utilisation; NaN when more work never helps; above 1 means not reachable."""
    net0 = network_net_usd_per_gpu_hour(scenario, token_usd, 0.0)
    net1 = network_net_usd_per_gpu_hour(scenario, token_usd, 1.0)
    if target_net_usd_per_gpu_hour <= net0:
        return 0.0
    if net1 <= net0:
        return math.nan
    return (target_net_usd_per_gpu_hour - net0) / (net1 - net0)


def _day(ts) -> str:
    return pd.Timestamp(ts).strftime("%Y-%m-%d")


def provider_alternatives(gpu: str, cache_dir: str | Path | None = None,
                          history: pd.DataFrame | None = None) -> pd.DataFrame:
    """Renting ``gpu`` elsewhere: per provider and pricing kind, its latest price and its median
    over the history, each with ``source`` and ``observed_at``.

    Returns
    -------
    DataFrame with ``kind, provider, pricing, statistic`` (``latest``/``median``),
    ``usd_per_gpu_hour, source, observed_at`` (UTC day, ``YYYY-MM-DD``: the day of the latest
    price; for a median, the last day of the prices it summarises), ``first_observed``, ``n``.
    Only kinds in :data:`RENTAL_KINDS` and :data:`HYPERSCALER_KINDS`.
    """
    columns = ["kind", "provider", "pricing", "statistic", "usd_per_gpu_hour", "source", "observed_at",
               "first_observed", "n"]
    frame = rates.rate_history(gpu, cache_dir) if history is None else history
    summary = rates.summarise_rates(frame)
    rows = []
    for r in summary.itertuples():
        if r.kind not in RENTAL_KINDS + HYPERSCALER_KINDS:
            continue
        group = frame[(frame["provider"] == r.provider) & (frame["pricing"] == r.pricing)]
        sources = "; ".join(dict.fromkeys(str(x) for x in group["source"]))
        rows.append({"kind": r.kind, "provider": r.provider, "pricing": r.pricing, "statistic": "latest",
                     "usd_per_gpu_hour": r.latest_usd_per_gpu_hour, "source": str(r.latest_source),
                     "observed_at": _day(r.last), "first_observed": _day(r.last), "n": int(r.n)})
        rows.append({"kind": r.kind, "provider": r.provider, "pricing": r.pricing, "statistic": "median",
                     "usd_per_gpu_hour": r.median_usd_per_gpu_hour, "source": sources,
                     "observed_at": _day(r.last), "first_observed": _day(r.first), "n": int(r.n)})
    return pd.DataFrame(rows, columns=columns)


def market_rental_rate(frame: pd.DataFrame, as_of=None, window_days: int | None = None) -> dict[str, Any] | None:
    """The market rental rate: the median over rental providers (:data:`RENTAL_KINDS`) of each
    one's latest price (per provider and pricing kind; the median of that day's rows).

    ``as_of`` (a day) and ``window_days`` restrict it to prices observed in
    ``(as_of - window_days, as_of]``. ``None`` when no rental price is in range.
    Returns ``usd_per_gpu_hour``, ``quotes`` (providers used), ``observed_at`` (latest day used),
    ``source`` (which providers and where their prices come from).
    """
    if frame.empty:
        return None
    priced = _rental_rows(frame)
    day = priced["observed_at"].dt.floor("D")
    if as_of is not None:
        end = pd.Timestamp(as_of)
        end = end.tz_localize("UTC") if end.tzinfo is None else end
        keep = day <= end
        if window_days is not None:
            keep &= day > end - pd.Timedelta(days=window_days)
        priced, day = priced[keep], day[keep]
    if priced.empty:
        return None
    priced = priced.assign(day=day)
    latest = []
    for (provider, pricing), group in priced.groupby(["provider", "pricing"], sort=True):
        last = group[group["day"] == group["day"].max()]
        latest.append((provider, pricing, float(last["usd_per_gpu_hour"].median()), last["day"].iloc[0],
                       last["source"].mode().iloc[0]))
    values = np.array([x[2] for x in latest])
    return {"usd_per_gpu_hour": float(np.median(values)), "quotes": len(latest),
            "observed_at": _day(max(x[3] for x in latest)),
            "source": "median of the latest price of " + ", ".join(f"{p} {q} ({s})" for p, q, _, _, s in latest)}


def _rental_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """The priced rows of rental providers (:data:`RENTAL_KINDS`); each (provider, pricing) pair
    classified once, not each row."""
    priced = frame.dropna(subset=["usd_per_gpu_hour"])
    pairs = priced[["provider", "pricing"]].drop_duplicates()
    rental = {(p, q) for p, q in zip(pairs["provider"], pairs["pricing"], strict=True)
              if rates.provider_kind(p, q) in RENTAL_KINDS}
    keep = [(p, q) in rental for p, q in zip(priced["provider"], priced["pricing"], strict=True)]
    return priced[np.asarray(keep, dtype=bool)]


def _market_rates_as_of(frame: pd.DataFrame, ends: pd.DatetimeIndex,
                        window_days: int | None) -> list[dict[str, Any] | None]:
    """:func:`market_rental_rate`'s ``usd_per_gpu_hour`` and ``quotes`` as of each day of ``ends``,
    in one grouped pass: the median per (provider, pricing, day) once, then for each end the
    latest day of each pair inside the window (a binary search), then the median over pairs.
    Linear in the rows (a loop over months of a full scan was quadratic as the history grows)."""
    if frame.empty or not len(ends):
        return [None] * len(ends)
    priced = _rental_rows(frame)
    if priced.empty:
        return [None] * len(ends)
    daily = (priced.assign(day=priced["observed_at"].dt.floor("D"))
             .groupby(["provider", "pricing", "day"], sort=True)["usd_per_gpu_hour"].median())
    ends = ends.tz_localize("UTC") if ends.tz is None else ends
    end_ns = ends.as_unit("ns").asi8
    columns = []
    for _, series in daily.groupby(level=["provider", "pricing"], sort=True):
        days = pd.DatetimeIndex(series.index.get_level_values("day")).as_unit("ns").asi8
        at = np.searchsorted(days, end_ns, side="right") - 1
        ok = at >= 0
        if window_days is not None:
            ok &= days[np.maximum(at, 0)] > end_ns - window_days * 86_400 * 10 ** 9
        columns.append(np.where(ok, series.to_numpy()[np.maximum(at, 0)], np.nan))
    medians = np.column_stack(columns)
    quotes = np.isfinite(medians).sum(axis=1)
    out: list[dict[str, Any] | None] = []
    for row, n in zip(medians, quotes, strict=True):
        out.append({"usd_per_gpu_hour": float(np.median(row[np.isfinite(row)])), "quotes": int(n)} if n else None)
    return out


def break_even_vs_rental(scenario: Scenario, token_usd: float, rate_usd_per_gpu_hour: float, *,
                         rental_occupancy: float = 1.0, rental_fee: float = 0.0) -> dict[str, float]:
    """Network vs renting at ``rate``: both net incomes per GPU-hour, the token price and the
    utilisation at which they are equal (see :func:`solve_token_price`, :func:`solve_utilisation`)."""
    rental_net = rental_net_usd_per_gpu_hour(scenario, rate_usd_per_gpu_hour, rental_occupancy, rental_fee)
    return {
        "rental_usd_per_gpu_hour": rate_usd_per_gpu_hour,
        "rental_net_usd_per_gpu_hour": rental_net,
        "network_net_usd_per_gpu_hour": network_net_usd_per_gpu_hour(scenario, token_usd),
        "token_usd_to_beat": solve_token_price(scenario, rental_net),
        "utilisation_to_beat": solve_utilisation(scenario, token_usd, rental_net),
    }


def beat_market_history(scenario: Scenario, closes: pd.DataFrame | pd.Series | None = None,
                        rates_frame: pd.DataFrame | None = None, *, rental_occupancy: float = 1.0,
                        rental_fee: float = 0.0, window_days: int = HISTORY_WINDOW_DAYS,
                        cache_dir: str | Path | None = None) -> pd.DataFrame:
    """Month by month: the token's last close of the month against the token price needed to
    beat the market rental rate of that month (both move).

    Returns
    -------
    DataFrame indexed by ``month`` (the month's last day with a close) with ``close_usd``,
    ``rental_usd_per_gpu_hour`` and ``rental_quotes`` (NaN/0 when no rental price was observed in
    the ``window_days`` before), ``token_usd_to_beat``, ``network_usd_per_gpu_hour`` (at the
    close), ``rental_net_usd_per_gpu_hour``, ``network_net_usd_per_gpu_hour`` and ``beats``
    (the network's net income per GPU-hour at that close is at least the rental's).
    """
    if closes is None:
        closes = daily_closes(price_asset(scenario), cache_dir=None if cache_dir is None else str(cache_dir),
                              currency=scenario.currency)
    series = closes["close_usd"] if isinstance(closes, pd.DataFrame) else closes
    frame = rates.rate_history(scenario.hardware.gpu, cache_dir) if rates_frame is None else rates_frame
    series = series.sort_index()
    monthly = series.groupby(series.index.to_period("M")).tail(1)
    rows = []
    markets = _market_rates_as_of(frame, pd.DatetimeIndex(monthly.index), window_days)
    for (day, close), market in zip(monthly.items(), markets, strict=True):
        if market is None:
            rows.append({"month": day, "close_usd": close, "rental_usd_per_gpu_hour": np.nan, "rental_quotes": 0,
                         "token_usd_to_beat": np.nan, "network_usd_per_gpu_hour": network_usd_per_gpu_hour(
                             scenario, close), "rental_net_usd_per_gpu_hour": np.nan,
                         "network_net_usd_per_gpu_hour": network_net_usd_per_gpu_hour(scenario, close),
                         "beats": False})
            continue
        be = break_even_vs_rental(scenario, close, market["usd_per_gpu_hour"], rental_occupancy=rental_occupancy,
                                  rental_fee=rental_fee)
        rows.append({"month": day, "close_usd": close, "rental_usd_per_gpu_hour": market["usd_per_gpu_hour"],
                     "rental_quotes": market["quotes"], "token_usd_to_beat": be["token_usd_to_beat"],
                     "network_usd_per_gpu_hour": network_usd_per_gpu_hour(scenario, close),
                     "rental_net_usd_per_gpu_hour": be["rental_net_usd_per_gpu_hour"],
                     "network_net_usd_per_gpu_hour": be["network_net_usd_per_gpu_hour"],
                     "beats": bool(be["network_net_usd_per_gpu_hour"] >= be["rental_net_usd_per_gpu_hour"])})
    out = pd.DataFrame(rows).set_index("month")
    out.index = pd.DatetimeIndex(out.index, name="month")
    out.attrs["token"] = scenario.network.token
    return out


# --------------------------------------------------------------------------- customer view


def cocoon_usd_per_m_tokens(scenario: Scenario, ton_usd: float) -> dict[str, float]:
    """What a COCOON client pays per million tokens of each type, in USD.

    ``price_per_token * coefficient * multiplier / 10000 * 1e6 / 1e9 * ton_usd`` (the
    runner's ``adjust_tokens`` without truncation, times ``price_per_token``; analysis/networks.py).
    Keys ``prompt``, ``cached_prompt``, ``completion``, ``reasoning``.
    """
    net = scenario.network
    ton_per_token = net.price_per_token_nanoton * net.coefficient / NANOTON_PER_TON
    per_m = {
        "prompt": net.prompt_tokens_price_multiplier,
        "cached_prompt": net.cached_tokens_price_multiplier,
        "completion": net.completion_tokens_price_multiplier,
        "reasoning": net.reasoning_tokens_price_multiplier,
    }
    return {k: ton_per_token * m / MULTIPLIER_SCALE * TOKENS_PER_MILLION * ton_usd for k, m in per_m.items()}


def cocoon_usd_per_m_output_at_workload(scenario: Scenario, ton_usd: float) -> float:
    """A COCOON client's cost per million OUTPUT tokens with the scenario's token mix (its
    prompt, cached and reasoning tokens included): client price of a day's adjusted tokens
    over the day's output tokens."""
    tokens = daily_tokens_per_gpu(scenario.workload, scenario.network, 1.0)
    if tokens.output <= 0:
        return math.nan
    usd = tokens.adjusted * scenario.network.price_per_token_nanoton / NANOTON_PER_TON * ton_usd
    return usd / tokens.output * TOKENS_PER_MILLION


def usd_per_m_output_at_throughput(usd_per_gpu_hour_: float, output_tokens_per_s: float) -> float:
    """``usd_per_gpu_hour / (output_tokens_per_s * 3600) * 1e6``: renting a GPU that serves
    ``output_tokens_per_s``, per million output tokens."""
    if not output_tokens_per_s > 0:
        return math.nan
    return usd_per_gpu_hour_ / (output_tokens_per_s * SECONDS_PER_HOUR) * TOKENS_PER_MILLION


def api_alternatives() -> pd.DataFrame:
    """Centralised inference APIs (``api_token_prices.csv``, COCOON's own row left out):
    ``kind, provider, model, usd_per_m_prompt, usd_per_m_completion, source, observed_at``."""
    rows = []
    for r in reference_table("api_token_prices.csv"):
        if r["provider"] == "cocoon":
            continue
        rows.append({"kind": "inference API", "provider": r["provider"], "model": r["model"],
                     "usd_per_m_prompt": float(r["usd_per_m_input"]),
                     "usd_per_m_completion": float(r["usd_per_m_output"]),
                     "source": r["source"], "observed_at": r["observed"]})
    return pd.DataFrame(rows)


def gpu_rental_token_alternatives(cache_dir: str | Path | None = None,
                                  all_rates: pd.DataFrame | None = None) -> pd.DataFrame:
    """Renting a hyperscaler GPU and serving a model at a measured throughput
    (``inference_throughput.csv``): for each measurement and each of on-demand and reserved,
    the cheapest hyperscaler's latest price of that GPU, per million output tokens.

    Columns as :func:`api_alternatives` (``usd_per_m_prompt`` NaN: the benchmark's prompts are
    included in the GPU-hour) plus ``gpu``, ``usd_per_gpu_hour``, ``output_tokens_per_s`` and
    ``throughput_source``/``throughput_observed_at``.
    """
    frame = rates.all_rates(cache_dir) if all_rates is None else all_rates
    rows = []
    summaries: dict[str, pd.DataFrame] = {}  # one summary per GPU, not per throughput measurement
    for t in reference_table("inference_throughput.csv"):
        gpu, tps = t["gpu"], float(t["output_tokens_per_s_per_gpu"])
        if gpu not in summaries:
            summaries[gpu] = rates.summarise_rates(frame[frame["gpu"] == gpu])
        summary = summaries[gpu]
        for kind in HYPERSCALER_KINDS:
            options = summary[summary["kind"] == kind]
            if options.empty:
                continue
            best = options.sort_values("latest_usd_per_gpu_hour").iloc[0]
            price = float(best["latest_usd_per_gpu_hour"])
            rows.append({"kind": f"rent GPU ({kind})", "provider": f"{best['provider']} {best['pricing']}",
                         "model": f"{t['model']} ({t['engine']} {t['precision']}, {t['workload']})", "gpu": gpu,
                         "usd_per_m_prompt": math.nan,
                         "usd_per_m_completion": usd_per_m_output_at_throughput(price, tps),
                         "usd_per_gpu_hour": price, "output_tokens_per_s": tps,
                         "source": str(best["latest_source"]), "observed_at": _day(best["last"]),
                         "throughput_source": t["source"], "throughput_observed_at": t["observed"]})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- everything


def compare(scenario: Scenario, token_usd: float | None = None, *, rental_occupancy: float = 1.0,
            rental_fee: float = 0.0, cache_dir: str | Path | None = None,
            with_history: bool = True, with_customer: bool = True,
            all_rates: pd.DataFrame | None = None) -> dict[str, Any]:
    """The provider and customer comparison of ``scenario`` as plain numbers (JSON-ready).

    Parameters
    ----------
    token_usd : price of the network's token (TON, or RENDER for a Render scenario); default
        the latest daily close.
    rental_occupancy : share of the time a rented-out GPU is rented (default 1.0).
    rental_fee : marketplace commission on the rental price (default 0: listed prices).
    with_history : add the month-by-month beat-the-market history.
    with_customer : add the customer's side (:func:`customer_view`; ``"customer"`` is None without
        it): the report shows it once, not per scenario, and it summarises every GPU's rates.
    all_rates : the rates history (:func:`analysis.market.rates.all_rates`) read before, instead of
        reading it again (a report reads it once for every scenario).
    """
    if not 0.0 < rental_occupancy <= 1.0:
        raise InputError(f"rental_occupancy = {rental_occupancy!r} is out of range; use a fraction in (0, 1]")
    if not 0.0 <= rental_fee < 1.0:
        raise InputError(f"rental_fee = {rental_fee!r} is out of range; use a fraction in [0, 1)")
    asset = price_asset(scenario)
    token = scenario.network.token
    if token_usd is None:
        price, price_day, price_origin = latest_price(asset, cache_dir, scenario.currency)
    else:
        price, price_day, price_origin = _check_price(token_usd, "token_usd"), None, "given"
    try:
        history = (rates.rate_history(scenario.hardware.gpu, cache_dir) if all_rates is None
                   else rates.gpu_rows(all_rates, scenario.hardware.gpu))
    except DataError:  # a damaged rates cache: the vendored reference table still answers
        reference = rates.all_rates(cache_dir, include_fetched=False)
        history = reference[reference["gpu"] == scenario.hardware.gpu].reset_index(drop=True)
    history = in_currency(history, scenario.currency, cache_dir)
    alternatives = provider_alternatives(scenario.hardware.gpu, history=history)
    market = market_rental_rate(history)
    gross = network_usd_per_gpu_hour(scenario, price)
    provider: dict[str, Any] = {
        "gpu": scenario.hardware.gpu,
        "cocoon_usd_per_gpu_hour": gross,  # the network's income per GPU-hour (Render too)
        "network_usd_per_gpu_hour": gross,
        "treasury": "sell_on_payout",
        "utilisation": scenario.workload.utilisation,
        "power_usd_per_gpu_hour": power_usd_per_gpu_hour(scenario),
        "rental_occupancy": rental_occupancy,
        "rental_fee": rental_fee,
        "alternatives": alternatives.to_dict(orient="records"),
        "market_rental": market,
        "break_even": None if market is None else break_even_vs_rental(
            scenario, price, market["usd_per_gpu_hour"], rental_occupancy=rental_occupancy, rental_fee=rental_fee),
    }
    customer = customer_view(scenario, price, cache_dir, all_rates=all_rates) if with_customer else None
    out = {"scenario": scenario.name, "network": scenario.network.name, "token": token, "token_usd": price,
           "token_usd_date": price_day, "token_usd_origin": price_origin, "provider": provider,
           "customer": customer}
    if with_history:
        hist = beat_market_history(scenario, rates_frame=history, rental_occupancy=rental_occupancy,
                                   rental_fee=rental_fee, cache_dir=cache_dir)
        hist = hist[hist["rental_quotes"] > 0]
        out["history"] = [{"month": m.strftime("%Y-%m-%d"), **{k: plain(v) for k, v in row.items()}}
                          for m, row in hist.iterrows()]
    return plain(out)


def customer_view(scenario: Scenario, token_usd: float, cache_dir: str | Path | None = None, *,
                  all_rates: pd.DataFrame | None = None) -> dict[str, Any]:
    """The customer's side: the network's price per million tokens (COCOON) or per GPU-hour
    (Render), against inference APIs and renting a hyperscaler GPU (``all_rates``: the rates
    history read before, as :func:`gpu_rental_token_alternatives` takes it)."""
    apis = in_currency(api_alternatives(), scenario.currency, cache_dir)
    gpus = in_currency(gpu_rental_token_alternatives(cache_dir, all_rates=all_rates), scenario.currency, cache_dir)
    alternatives = pd.concat([apis, gpus], ignore_index=True) if not gpus.empty else apis
    view: dict[str, Any] = {}
    if scenario.network.name == "cocoon":
        per_m = cocoon_usd_per_m_tokens(scenario, token_usd)
        view.update(cocoon_usd_per_m_prompt=per_m["prompt"], cocoon_usd_per_m_cached_prompt=per_m["cached_prompt"],
                    cocoon_usd_per_m_completion=per_m["completion"], cocoon_usd_per_m_reasoning=per_m["reasoning"],
                    cocoon_usd_per_m_output_at_workload=cocoon_usd_per_m_output_at_workload(scenario, token_usd))
    else:
        rate = scenario.network.job_usd_per_gpu_hour
        view.update(render_usd_per_gpu_hour=rate,
                    render_usd_per_m_output=usd_per_m_output_at_throughput(rate, scenario.workload.served_output_tokens_per_s))
    view["alternatives"] = alternatives.to_dict(orient="records")
    return view
