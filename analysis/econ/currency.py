"""A scenario in another fiat currency, and the labels of the engine's outputs in it.

The engine is currency-agnostic: it computes in one fiat unit, the scenario's
``[finance] currency`` (USD by default), on TON/X closes (:func:`analysis.market.fx.convert_closes`)
and costs in X. Its names keep the ``usd`` of the USD-only days (``close_usd``, ``net_usd``,
``break_even_ton_usd``...); :func:`relabel_key`, :func:`relabel_frame` and :func:`relabel_text`
give every output its currency's name (``close_eur``, "1,234.00 EUR"). The CLI, the CSVs and the
report use them; an app calls :func:`scenario_in_currency` and the same functions.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from typing import TYPE_CHECKING, Any

from analysis.econ.scenario import NEUTRAL_COST_KEYS, Scenario, parse_scenario, to_mapping

if TYPE_CHECKING:   # only relabel_frame takes a frame; the CLI's text and JSON need no pandas
    import pandas as pd

#: Names that say "priced in USD" rather than "an amount in USD": never relabelled.
KEEP = ("usd_pegged", "ton_usd_close", "fx_per_usd")
_KEY = re.compile(r"(?<![a-z])usd(?![a-z])")
#: Printed text that means the US dollar itself (``TON/USD close``), kept by :func:`relabel_text`.
LITERAL_USD = "\x00USD"
_LITERAL_JSON = "\\u0000USD"   # LITERAL_USD inside JSON text (json.dumps, plotly)
_TEXT = re.compile(r"(?<![\w\x00-])USD(?![\w-])")   # not inside a symbol such as TON11419-USD
_JSON_KEY = re.compile(r'"([A-Za-z0-9_]*)"(\s*:)')


def scenario_in_currency(scenario: Scenario, currency: str | None) -> Scenario:
    """``scenario`` with every cost in ``currency`` (converted at the ECB rate of its start day)
    and every output in it. ``None`` or the scenario's own currency: the scenario unchanged.

    Raises
    ------
    InputError
        An unknown currency, or a start day without an ECB rate (one line naming it).
    """
    if currency is None:
        return scenario
    from analysis.market.currencies import check_currency

    code = check_currency(currency)
    if code == scenario.currency:
        return scenario
    mapping = to_mapping(scenario)
    factor, words = cost_conversion(scenario.finance.start, scenario.currency, code,
                                    field=f"--currency {code} at [finance] start = {scenario.finance.start}")
    for table, names in NEUTRAL_COST_KEYS.items():
        for neutral, usd in names.items():
            key = neutral if neutral in mapping[table] else usd
            if key in mapping[table]:   # an optional amount left out (max_collateral: no cap)
                mapping[table][neutral] = mapping[table].pop(key) * factor
    mapping["finance"]["currency"] = code
    out = parse_scenario(mapping, origin=scenario.origin, path=scenario.path)
    note = f"--currency {code}: the scenario's {words}"
    # given_keys: what the file set (to_mapping writes every key; a USD peg left out stays derived)
    return dataclasses.replace(out, notes=(note, *out.notes),
                               given_keys=scenario.given_keys | {"finance.currency"})


def cost_conversion(day: dt.date, source: str, target: str, *, field: str = "") -> tuple[float, str]:
    """The factor that turns ``source`` amounts into ``target`` at the ECB rates of ``day``, and
    the words saying so (``"US-dollar costs converted at the ECB rate of 2025-04-01 (0.92 EUR per
    US dollar)"``): the conversion :func:`scenario_in_currency` applies to every cost (and the app
    to its cost inputs). The dollar is written out, so relabelling the text leaves it alone.

    Raises
    ------
    InputError, DataError
        A day without an ECB rate (one line naming it and ``field``).
    """
    from analysis.market.currencies import convert_amount  # csv where the ECB files are plain (issue 20)

    factor = convert_amount(1.0, day, source, target, field=field)
    name = "US-dollar" if source == "USD" else source   # "USD" would be relabelled
    return factor, (f"{name} costs converted at the ECB rate of {day} "
                    f"({factor:.6g} {target} per {name.replace('-', ' ')})")


def relabel_key(name: str, currency: str) -> str:
    """``name`` with its ``usd`` part in ``currency`` (``net_usd`` -> ``net_eur``), except :data:`KEEP`."""
    if currency == "USD" or name in KEEP:
        return name
    return _KEY.sub(currency.lower(), name)


def relabel_frame(frame: pd.DataFrame, currency: str) -> pd.DataFrame:
    """``frame`` with its columns relabelled (:func:`relabel_key`)."""
    if currency == "USD":
        return frame
    return frame.rename(columns={c: relabel_key(str(c), currency) for c in frame.columns})


def relabel_obj(obj: Any, currency: str) -> Any:
    """A JSON-shaped object with every dict key relabelled (values are left as they are)."""
    if currency == "USD":
        return obj
    if isinstance(obj, dict):
        return {relabel_key(str(k), currency): relabel_obj(v, currency) for k, v in obj.items()}
    if isinstance(obj, list):
        return [relabel_obj(v, currency) for v in obj]
    return obj


def relabel_text(text: str, currency: str) -> str:
    """Printed text in ``currency``: the unit ``USD`` becomes the code, JSON keys are relabelled."""
    if currency == "USD":
        return text.replace(LITERAL_USD, "USD")
    text = _TEXT.sub(currency, text).replace(LITERAL_USD, "USD").replace(_LITERAL_JSON, "USD")
    return _JSON_KEY.sub(lambda m: f'"{relabel_key(m.group(1), currency)}"{m.group(2)}', text)
