"""The page's state: every input as text, the scenario it describes, the URL that holds it.

The state is one flat ``dict[str, str]``: the scenario's keys, dotted (``hardware.gpu``,
``workload.utilisation`` ..., every key of every table, so a link carries the whole scenario
and not only what the page shows), plus the page's own inputs (:data:`PAGE_DEFAULTS`: TON
price, simulation method, paths and seed, rental occupancy and fee). The URL's query string is
that dict (:func:`to_query`, :func:`from_query`); the inputs show the text of their key.

Money is in ``finance.currency`` (the scenario's currency); the cost keys carry the scenario
file's currency-neutral names (``hardware.capex``: an amount in that currency), and
:func:`convert_state` converts them when the page's currency changes (docs/currency.md).

:func:`read_state` turns the text into a validated :class:`~analysis.econ.scenario.Scenario`
with the package's own validator (:func:`analysis.econ.scenario.parse_scenario`), and collects
one message per bad field, keyed by the field, so the page shows it beside the input. Nothing
here imports Dash.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

from analysis.core.errors import CocoonEconError, DataError, InputError
from analysis.core.gpus import GPUS
from analysis.econ import scenario as scen
from analysis.econ.scenario import Scenario
from analysis.sim.paths import METHODS
from analysis.sim.strategies import STRATEGY_NAMES, TreasuryParams

ORIGIN = "page"            # how the validator names the scenario in its messages
MAX_PATHS = 20_000         # the page keeps the chosen strategy's [P, D+1] positions for its fan chart
UTILISATION_KEY = "workload.utilisation"

#: The page's own inputs (not scenario keys) and their defaults, as text.
PAGE_DEFAULTS: dict[str, str] = {
    "ton_usd": "latest",             # "latest" (the latest daily close) or a USD price
    "utilisation_source": "number",  # "number" or "observed" (COCOON's paid demand, analysis.econ.demand)
    "sim.method": "bootstrap",
    "sim.paths": "2000",
    "sim.seed": "1",                 # a fixed seed: the same page shows the same simulation
    "rental.occupancy": "1",
    "rental.fee": "0",
}
#: The page's last change of currency (not inputs; in the link when set, docs/app.md): the currency
#: the cost inputs and a typed token price were converted from, and the day of the ECB rate used.
CONVERSION_KEYS = ("fx.costs_from", "fx.costs_day")
#: Set while the currency chosen cannot be had (no rate): the currency the amounts are still in.
AMOUNTS_IN_KEY = "fx.amounts_in"


@dataclass(frozen=True)
class Field:
    """One input on the page: its state key, label, widget and the fix its message suggests."""

    key: str
    label: str
    widget: str = "text"       # text | dropdown | radio | check
    unit: str = ""
    choices: tuple[tuple[str, str], ...] = ()  # (value, label) for dropdown and radio
    help: str = ""
    money: bool = False        # the unit names the page's currency (relabelled when it changes)

    @property
    def id(self) -> str:
        """The component id (Dash ids cannot hold dots)."""
        return "f-" + self.key.replace(".", "-").replace("_", "-")


def _pairs(values) -> tuple[tuple[str, str], ...]:
    return tuple((v, v) for v in values)


CURRENCY_KEY = "finance.currency"
#: The cost inputs under their currency-neutral names (amounts in ``[finance] currency``, as in a
#: scenario file), each with the ``*_usd`` name an older link may use (docs/currency.md).
COST_KEYS: dict[str, str] = {f"{table}.{neutral}": f"{table}.{usd}"
                             for table, names in scen.NEUTRAL_COST_KEYS.items() for neutral, usd in names.items()}


def _currencies() -> tuple[tuple[str, str], ...]:
    from analysis.market.fx import ecb_currencies

    names = {"USD": "USD (US dollar)", "EUR": "EUR (euro)", "GBP": "GBP (pound sterling)", "CHF": "CHF (Swiss franc)",
             "JPY": "JPY (yen)"}
    return tuple((c, names.get(c, c)) for c in sorted(ecb_currencies()))


#: The inputs, in page order, grouped by section.
SECTIONS: tuple[tuple[str, tuple[Field, ...]], ...] = (
    ("Set-up", (
        Field("network.name", "Network", "radio", choices=(("cocoon", "COCOON (TON)"), ("render", "Render (RENDER)"))),
        Field(CURRENCY_KEY, "Currency", "dropdown", choices=_currencies(),
              help="of the costs and every answer (ECB reference currencies); changing it converts the costs "
                   "at the ECB rate of the start day"),
        Field("hardware.gpu", "GPU", "dropdown", choices=_pairs(GPUS)),
        Field("hardware.gpus", "GPUs", unit="count"),
        Field("hardware.capex", "Capex, all GPUs", unit="USD", money=True,
              help="price of the set-up, or its market value when already owned"),
        Field("hardware.already_owned", "Already owned (no cash at the start; capex is its market value)", "check"),
    )),
    ("Costs", (
        Field("operations.power_kw", "Power per GPU", unit="kW", help="at full load, incl. its share of the host"),
        Field("operations.electricity_per_kwh", "Electricity", unit="USD/kWh", money=True),
        Field("operations.pue", "PUE", unit="ratio"),
        Field("operations.colocation_per_kw_month", "Colocation", unit="USD per kW-month", money=True),
    )),
    ("Workload", (
        Field("workload.output_tokens_per_s", "Throughput per GPU", unit="output tokens/s",
              help="at full load; pick a measured row below"),
        Field("utilisation_source", "Utilisation from", "radio",
              choices=(("number", "a number"), ("observed", "observed demand"))),
        Field(UTILISATION_KEY, "Utilisation", unit="fraction 0-1"),
    )),
    ("Market and horizon", (
        Field("ton_usd", "Token price", unit="USD", money=True, help='"latest" = the latest daily close, or a price'),
        Field("finance.horizon_days", "Horizon", unit="days"),
    )),
    ("Treasury", (
        Field("treasury.strategy", "Strategy", "dropdown", choices=_pairs(STRATEGY_NAMES)),
        Field("treasury.every_days", "Sell every", unit="days", help="sell_every"),
        Field("treasury.hedge_ratio", "Hedge ratio", unit="fraction", help="perp_hedge, put_protection, collar"),
        Field("treasury.trading_fee_bps", "Trading fee", unit="bps"),
        Field("treasury.funding", "Perp funding", "dropdown",
              choices=(("historical", "historical record (rate below where none)"),
                       ("fixed", "fixed: the rate below every day"),
                       ("bootstrap", "bootstrap with the TON returns"))),
        Field("treasury.funding_rate_annual", "Funding rate", unit="per year",
              help="days without a record, or every day when fixed (positive pays the short)"),
        Field("treasury.put_strike", "Put strike", unit="x spot"),
        Field("treasury.call_strike", "Call strike", unit="x spot"),
        Field("treasury.vol_premium", "Option vol premium", unit="fraction"),
        Field("treasury.staking_apy", "Staking APY", unit="fraction"),
    )),
    ("Simulation", (
        Field("sim.method", "Method", "dropdown", choices=_pairs(METHODS)),
        Field("sim.paths", "Paths", unit="count"),
        Field("sim.seed", "Seed", help="empty: fresh entropy (shown with the results)"),
    )),
    ("Renting instead", (
        Field("rental.occupancy", "Rented share of the time", unit="fraction"),
        Field("rental.fee", "Marketplace fee", unit="fraction"),
    )),
)
FIELDS: tuple[Field, ...] = tuple(f for _, fields in SECTIONS for f in fields)
FIELD_BY_KEY: dict[str, Field] = {f.key: f for f in FIELDS}
SIM_KEYS = ("sim.method", "sim.paths", "sim.seed")
RENTAL_KEYS = ("rental.occupancy", "rental.fee")


# --------------------------------------------------------------------------- scenario <-> state


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


#: Keys whose absence from a scenario means "derived when it runs" (the USD-pegged network's price
#: per token is pegged at the start price unless the file sets it): left out unless the file sets them.
DERIVED_WHEN_ABSENT = ("pricing.usd_per_m_adjusted_tokens",)


def scenario_mapping(scenario: Scenario) -> dict[str, Any]:
    """:func:`analysis.econ.scenario.to_mapping` without the :data:`DERIVED_WHEN_ABSENT` keys the
    scenario did not set, so that it parses back to the same numbers."""
    mapping = scen.to_mapping(scenario)
    given = getattr(scenario, "given_keys", None)
    for key in DERIVED_WHEN_ABSENT:
        table, _, name = key.partition(".")
        if given is not None and key not in given and isinstance(mapping.get(table), dict):
            mapping[table].pop(name, None)
    return mapping


def state_from_scenario(scenario: Scenario, page: Mapping[str, str] | None = None) -> dict[str, str]:
    """The page state showing ``scenario``: its keys dotted, as text, plus the page defaults."""
    state = dict(PAGE_DEFAULTS)
    state.update(page or {})
    usd_names = {usd: neutral for neutral, usd in COST_KEYS.items()}
    for key, value in scenario_mapping(scenario).items():
        if isinstance(value, Mapping):
            # a cost under its neutral name: the amount in the scenario's currency (a USD file's capex_usd too)
            state.update({usd_names.get(f"{key}.{k}", f"{key}.{k}"): _text(v) for k, v in value.items()})
        else:
            state[key] = _text(value)
    if state.get(UTILISATION_KEY) == scen.OBSERVED:  # the field shows the number observed
        state["utilisation_source"] = scen.OBSERVED
        state[UTILISATION_KEY] = _text(scenario.workload.utilisation)
    return state


def to_query(state: Mapping[str, str]) -> str:
    """The URL query string (``?key=value&...``) holding ``state``."""
    return "?" + urlencode(list(state.items()))


def from_query(search: str | None, base: Mapping[str, str]) -> dict[str, str]:
    """The state a URL's query string describes, over ``base`` for the keys it leaves out.

    A link made by the page carries every key; one written by hand may leave some out, which
    keep the base's values. A key the scenario does not know stays in the state, so the
    validator names it (with a suggestion) instead of it being dropped silently.
    """
    pairs = parse_qsl((search or "").lstrip("?"), keep_blank_values=True)
    state = dict(base)
    linked = dict(pairs)
    for key in (CURRENCY_KEY, "currency"):   # a code as the dropdown offers it: "eur" is EUR
        if key in linked:
            linked[key] = linked[key].strip().upper()
    if linked.get("network.name", base.get("network.name")) != base.get("network.name"):
        # the base's network parameters are the other network's (the validator would reject them)
        state = {k: v for k, v in state.items() if not k.startswith(("network.", "pricing."))}
    if linked.get(CURRENCY_KEY, base.get(CURRENCY_KEY, "USD")).strip().upper() == "USD":
        # a link from before the currency input names the costs *_usd: in USD, the same amounts
        for neutral, usd in COST_KEYS.items():
            if usd in linked and neutral not in linked:
                linked[neutral] = linked.pop(usd)
    alias = linked.pop("currency", None)   # ?currency=EUR: like --currency, the costs converted
    state.update(linked)
    if alias is not None:
        state = convert_state(state, alias)
    return state


def _amount(value: float) -> str:
    # 12 significant digits: a conversion there and back gives the typed amount again, not 29999.999999999996
    return _text(float(f"{value:.12g}"))


def convert_state(state: Mapping[str, str], code: str) -> dict[str, str]:
    """``state`` in the currency ``code``: every cost input (and a typed token price) converted at
    the ECB rate of ``[finance] start``, as :func:`analysis.econ.currency.scenario_in_currency`
    converts a scenario's costs (the same factor, :func:`analysis.econ.currency.cost_conversion`),
    and the conversion recorded in :data:`CONVERSION_KEYS` for the notes.

    Works on the text, so a page with a bad field elsewhere converts too (a bad amount stays as
    typed). When no rate can be had (an unknown code, a start day without an ECB rate) only the
    code changes, and :data:`AMOUNTS_IN_KEY` keeps the currency the amounts are still in (the
    next change converts from it); the validator names the problem at the currency field.
    """
    from analysis.econ.currency import cost_conversion
    from analysis.market.fx import check_currency

    code = str(code or "")
    out = {k: v for k, v in state.items() if k != AMOUNTS_IN_KEY}
    out[CURRENCY_KEY] = code.strip().upper() if code.strip() else code
    try:
        source = check_currency(state.get(AMOUNTS_IN_KEY) or state.get(CURRENCY_KEY, "USD"), field="Currency")
    except InputError:
        return out   # amounts in an unknown currency (a link's): nothing to convert from
    try:
        target = check_currency(code, field="Currency")
        day = dt.date.fromisoformat(state.get("finance.start", "").strip())
        factor, _ = cost_conversion(day, source, target, field=f"Currency {target} at [finance] start = {day}")
    except (CocoonEconError, ValueError):
        return {**out, AMOUNTS_IN_KEY: source} if code.strip().upper() != source else out
    if source == target:
        return out
    for key in (*COST_KEYS, "ton_usd"):
        try:
            value = float(state[key].replace(",", "").strip())
        except (KeyError, ValueError):
            continue   # left out, "latest", or not a number (its field says so)
        if math.isfinite(value):
            out[key] = _amount(value * factor)
    out.update({"fx.costs_from": source, "fx.costs_day": day.isoformat()})
    return out


def _annotations() -> dict[str, str]:
    out = {}
    for table, cls in scen._TABLES.items():
        for f in dataclasses.fields(cls):
            out[f"{table}.{f.name}"] = str(f.type)
    for table, names in scen.NEUTRAL_COST_KEYS.items():   # a neutral cost name takes its field's type
        out.update({f"{table}.{neutral}": out[f"{table}.{usd}"] for neutral, usd in names.items()})
    out["name"] = out["description"] = "str"
    return out


_TYPES = _annotations()


class _FieldError(Exception):
    pass


def _number(text: str, label: str) -> float:
    if not text.strip():
        raise _FieldError(f"{label} is empty; give a number")
    try:
        value = float(text.replace(",", "").strip())
    except ValueError:
        raise _FieldError(f"{label} = {text.strip()!r} is not a number; type digits, e.g. 2 or 0.5") from None
    if not math.isfinite(value):
        raise _FieldError(f"{label} = {text.strip()!r} is not a finite number")
    return value


def _typed(key: str, text: str) -> Any:
    """A scenario key's text as the value its TOML key takes (the validator checks the range)."""
    kind = _TYPES.get(key, "str")
    label = FIELD_BY_KEY[key].label if key in FIELD_BY_KEY else key
    if kind == "str":  # the validator says when a required text is empty
        return text
    if kind == "bool":
        lowered = text.strip().lower()
        if lowered in ("true", "1", "yes", "on"):
            return True
        if lowered in ("false", "0", "no", "off", ""):
            return False
        raise _FieldError(f"{label} = {text!r} is not true or false")
    if kind == "dt.date":
        return text.strip()
    if key == UTILISATION_KEY and text.strip().lower() == scen.OBSERVED:
        return scen.OBSERVED
    if kind == "float | str":  # funding_rate_annual: a number or "historical"
        try:
            return _number(text, label)
        except _FieldError:
            if text.strip():
                return text.strip()
            raise
    value = _number(text, label)
    if kind == "int":
        if not value.is_integer():
            raise _FieldError(f"{label} = {text.strip()} is not a whole number; type a whole number")
        return int(value)
    return value


def mapping_from_state(state: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The TOML-shaped scenario mapping of ``state`` and the type errors by key."""
    mapping: dict[str, Any] = {}
    errors: dict[str, str] = {}
    network = state.get("network.name", "cocoon")
    if state.get("utilisation_source") == scen.OBSERVED:  # the network's paid demand, not the number shown
        state = {**state, UTILISATION_KEY: scen.OBSERVED}
    foreign = set(scen.RENDER_KEYS if network == "cocoon" else scen.COCOON_KEYS)
    for key, text in state.items():
        if key in PAGE_DEFAULTS or key in CONVERSION_KEYS or key == AMOUNTS_IN_KEY:
            continue
        table, _, name = key.rpartition(".")
        if table == "network" and name in foreign or (table == "pricing" and network == "render"):
            continue  # the other network's parameters (kept in the state for switching back)
        try:
            value = _typed(key, text)
        except _FieldError as exc:
            errors[key] = str(exc)
            continue
        if table:
            mapping.setdefault(table, {})[name] = value
        else:
            mapping[name] = value
    return mapping, errors


_KEY_IN_MESSAGE = re.compile(r"\[(\w+)\] (\w+)")


def _message_key(message: str) -> str | None:
    match = _KEY_IN_MESSAGE.search(message)
    return f"{match.group(1)}.{match.group(2)}" if match else None


def _without_origin(message: str) -> str:
    return message[len(ORIGIN) + 2:] if message.startswith(ORIGIN + ": ") else message


@dataclass
class Reading:
    """What the page's text says: the scenario and the page inputs, or the messages per field."""

    scenario: Scenario | None = None
    ton_usd: float | None = None             # None: the latest close
    method: str = "bootstrap"
    paths: int = 2000
    seed: int | None = 1
    rental_occupancy: float = 1.0
    rental_fee: float = 0.0
    currency: str = "USD"                    # of the costs and every answer ([finance] currency)
    conversion: str | None = None            # the page's last change of currency, as a note
    errors: dict[str, str] = field(default_factory=dict)   # state key -> message shown at that input
    general: list[str] = field(default_factory=list)        # messages about keys the page does not show

    @property
    def economics_ok(self) -> bool:
        """The scenario and the economic inputs are valid (the economics can be answered)."""
        return self.scenario is not None and not any(k not in SIM_KEYS for k in self.errors) and not self.general

    @property
    def simulation_ok(self) -> bool:
        return self.economics_ok and not any(k in SIM_KEYS for k in self.errors)


def read_state(state: Mapping[str, str], fallback: Mapping[str, str]) -> Reading:
    """Validate the page's text: a scenario, the page inputs, or one message per bad field.

    The scenario goes through :func:`analysis.econ.scenario.parse_scenario` (the CLI's
    validator): its one-line message names ``[table] key``, which is the field the page marks.
    To find every bad field in one go, a field found bad takes its ``fallback`` value (the
    scenario the page started from) and the scenario is validated again.
    """
    reading = Reading()
    errors = reading.errors
    page = {k: state.get(k, v) for k, v in PAGE_DEFAULTS.items()}
    _read_page(page, reading, state.get(CURRENCY_KEY, "USD"))
    mapping, type_errors = mapping_from_state(state)
    errors.update(type_errors)
    fallback_mapping, _ = mapping_from_state({**fallback, "network.name": state.get("network.name", "cocoon")})
    for key in type_errors:
        _set(mapping, key, _get(fallback_mapping, key))
    scenario = None
    for _ in range(len(FIELDS) + 5):
        try:
            scenario = scen.parse_scenario(mapping, origin=ORIGIN)
            TreasuryParams.from_config(scenario.treasury)  # what the policies check (e.g. vol_premium >= 0)
            break
        except (InputError, DataError) as exc:   # DataError: e.g. a start day after the last ECB fixing
            message = _without_origin(str(exc))
            found = _message_key(message)
            scenario = None
            if found is None or found in errors or _get(fallback_mapping, found) is None \
                    or _get(mapping, found) == _get(fallback_mapping, found):
                reading.general.append(message)
                break
            if found in FIELD_BY_KEY:
                errors[found] = message
            else:
                reading.general.append(f"{message} (a key the page does not show; fix it in the link or the file)")
            _set(mapping, found, _get(fallback_mapping, found))
    scenario_errors = [k for k in errors if k not in PAGE_DEFAULTS or k == "utilisation_source"]
    reading.scenario = None if scenario_errors or reading.general else scenario
    if reading.scenario is not None:
        reading.currency = reading.scenario.currency
        reading.conversion = _conversion_note(state, reading, reading.scenario.currency)
    return reading


def _conversion_note(state: Mapping[str, str], reading: Reading, currency: str) -> str | None:
    """The note of the page's last change of currency (the words of ``--currency``), or None."""
    from analysis.econ.currency import cost_conversion
    from analysis.market.fx import check_currency

    source, day = (state.get(k, "").strip() for k in CONVERSION_KEYS)
    if not source and not day:
        return None
    try:
        when = dt.date.fromisoformat(day)
        source = check_currency(source, field="fx.costs_from")
        _, words = cost_conversion(when, source, currency, field=f"fx.costs_day = {day}")
    except (CocoonEconError, ValueError) as exc:
        text = str(exc) if isinstance(exc, CocoonEconError) else f"fx.costs_day = {day!r} is not a date YYYY-MM-DD"
        reading.general.append(f"{text} (the link's record of a change of currency; remove fx.costs_from and "
                               "fx.costs_day from it)")
        reading.scenario = None
        return None
    return f"currency {currency} on the page: the {words}; a token price typed then, too"


def _get(mapping: Mapping[str, Any], key: str) -> Any:
    table, _, name = key.rpartition(".")
    return (mapping.get(table, {}) if table else mapping).get(name)


def _set(mapping: dict[str, Any], key: str, value: Any) -> None:
    table, _, name = key.rpartition(".")
    target = mapping.setdefault(table, {}) if table else mapping
    if value is None:
        target.pop(name, None)
    else:
        target[name] = value


def _read_page(page: Mapping[str, str], reading: Reading, currency: str = "USD") -> None:
    errors = reading.errors

    def guarded(key, parse):
        try:
            return parse(page[key])
        except _FieldError as exc:
            errors[key] = str(exc)
            return None

    def price(text):
        if text.strip().lower() in ("latest", ""):
            return None
        value = _number(text, "Token price")
        if value <= 0:
            raise _FieldError(f"Token price = {text.strip()} is not positive; give a {currency} price like 1.5, or latest")
        return value

    def method(text):
        if text not in METHODS:
            raise _FieldError(f"Method = {text!r} is not known; use one of {', '.join(METHODS)}")
        return text

    def whole(label, lo, hi):
        def parse(text):
            value = _number(text, label)
            if not value.is_integer():
                raise _FieldError(f"{label} = {text.strip()} is not a whole number")
            if not lo <= value <= hi:
                raise _FieldError(f"{label} = {text.strip()} is out of range; use {lo:,} to {hi:,}"
                                  + (" (more paths: cocoon-econ simulate --paths)" if label == "Paths" else ""))
            return int(value)
        return parse

    def seed(text):
        return None if not text.strip() else whole("Seed", 0, 2**63 - 1)(text)

    def fraction(label, open_low, open_high):
        def parse(text):
            value = _number(text, label)
            ok = (value > 0 if open_low else value >= 0) and (value < 1 if open_high else value <= 1)
            if not ok:
                raise _FieldError(f"{label} = {text.strip()} is out of range; give a fraction "
                                  f"{'above' if open_low else 'from'} 0 {'and below' if open_high else 'to'} 1")
            return value
        return parse

    reading.ton_usd = guarded("ton_usd", price)
    reading.method = guarded("sim.method", method) or "bootstrap"
    reading.paths = guarded("sim.paths", whole("Paths", 1, MAX_PATHS)) or 2000
    reading.seed = guarded("sim.seed", seed)
    occupancy = guarded("rental.occupancy", fraction("Rented share", True, False))
    fee = guarded("rental.fee", fraction("Marketplace fee", False, True))
    reading.rental_occupancy = 1.0 if occupancy is None else occupancy
    reading.rental_fee = 0.0 if fee is None else fee
    if page["utilisation_source"] not in ("number", "observed"):
        errors["utilisation_source"] = "Utilisation from: use number or observed"


# --------------------------------------------------------------------------- the scenario as a file


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value!r} has no TOML form here")
        return repr(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return json.dumps(str(value))  # a TOML basic string (JSON escapes are TOML escapes)


def scenario_toml(scenario: Scenario, commands: list[str] | tuple[str, ...] = ()) -> str:
    """The scenario as a TOML file that :func:`analysis.econ.scenario.load_scenario` reads back
    to the same scenario; ``commands`` go on top as comments (the CLI runs that reproduce the page)."""
    mapping = scenario_mapping(scenario)
    lines = ["# Saved from the cocoon-econ app. Reproduce the page with:"]
    lines += [f"#   {c}" for c in commands]
    lines.append("")
    for key, value in mapping.items():
        if not isinstance(value, Mapping):
            lines.append(f"{key} = {_toml_value(value)}")
    for key, value in mapping.items():
        if isinstance(value, Mapping):
            lines += ["", f"[{key}]"] + [f"{k} = {_toml_value(v)}" for k, v in value.items()]
    return "\n".join(lines) + "\n"
