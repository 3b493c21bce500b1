"""What the page does when an input changes.

1. :func:`sync` keeps the URL and the inputs in step: a loaded link (or the back button) sets the
   inputs, an edited input rewrites the link, "start from" loads a shipped example and a picked
   throughput row fills the throughput.
2. :func:`check` validates every input (:func:`analysis.app.state.read_state`) and shows a message
   at each bad one; only a valid state goes on to the answers, so they keep their last good
   values while a field is wrong.
3. :func:`answer_economics` and :func:`answer_simulation` compute (:mod:`analysis.app.answers`)
   and draw; a failure the package reports (e.g. a horizon past the price history) is shown
   in the panel, which keeps its last answer.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from dash import Dash, Input, Output, State, ctx, html, no_update
from dash.development.base_component import Component

from analysis.app import answers
from analysis.app.figures import fan_chart, profit_against_price, provider_chart
from analysis.app.layout import KPIS, label_text, shown_currency, state_text, widget_value
from analysis.app.state import (
    CURRENCY_KEY,
    FIELD_BY_KEY,
    FIELDS,
    RENTAL_KEYS,
    SIM_KEYS,
    convert_state,
    from_query,
    read_state,
    scenario_toml,
    state_from_scenario,
    to_query,
)
from analysis.core.errors import CocoonEconError
from analysis.econ.currency import relabel_text
from analysis.econ.scenario import load_scenario
from analysis.report.charts.hedging import LABELS, outcome_distributions

log = logging.getLogger("analysis.app")
FIELD_INPUTS = [Input(f.id, "value") for f in FIELDS]
THROUGHPUT_ID = FIELD_BY_KEY["workload.output_tokens_per_s"].id
CURRENCY_ID = FIELD_BY_KEY[CURRENCY_KEY].id
MONEY_FIELDS = [f for f in FIELDS if f.money]


def currency_options(code: str) -> list[dict[str, str]]:
    """The currency dropdown's choices, and a link's unknown code among them (a dropdown drops a
    value it does not offer; the field's message says what is wrong with it)."""
    options = [{"label": label, "value": value} for value, label in FIELD_BY_KEY[CURRENCY_KEY].choices]
    if code not in {o["value"] for o in options}:
        options.append({"label": f"{code or '(none)'}: not an ECB currency", "value": code})
    return options


def named(obj: Any, currency: str) -> Any:
    """An answer (text, Dash components, a Plotly figure) with the unit USD named ``currency``
    wherever the engine says USD (:func:`analysis.econ.currency.relabel_text`); numbers untouched."""
    if isinstance(obj, str):
        return relabel_text(obj, currency)
    if isinstance(obj, list):
        return [named(o, currency) for o in obj]
    if isinstance(obj, tuple):
        return tuple(named(o, currency) for o in obj)
    if isinstance(obj, dict):
        return {k: named(v, currency) for k, v in obj.items()}
    if isinstance(obj, Component):
        if getattr(obj, "children", None) is not None:
            obj.children = named(obj.children, currency)
        return obj
    if hasattr(obj, "to_plotly_json") and not isinstance(obj, Component):   # a plotly Figure
        return named(obj.to_plotly_json(), currency)
    return obj


def _state(values, hidden: Mapping[str, str] | None) -> dict[str, str]:
    state = dict(hidden or {})
    state.update({f.key: state_text(f, v) for f, v in zip(FIELDS, values)})
    return state


def _util(u) -> str:
    if u is None:
        return "never"
    return f"{u:.1%}" + (" (not reachable)" if u > 1 else "")


def _value(text: str, value) -> html.Span:
    data: dict[str, Any] = {"data-value": "" if value is None else repr(value)}  # the exact number, for tests
    return html.Span(text, **data)


def kpi_text(kind: str, value, summary: Mapping[str, Any]) -> str:
    """A key figure as shown (the CLI's wording for the undefined cases)."""
    token = summary.get("token", "TON")
    if kind == "price":
        if value is None:
            return "none (income does not depend on the price)" if summary["pricing_mode"] not in (
                "fixed_token", "render") else "never (nothing earned)"
        return f"{value:,.4f} USD/{token}"
    if kind == "util":
        return _util(value)
    if kind == "days":
        return f"not within {summary['horizon_days']} days" if value is None else f"day {value:.0f}"
    return "n/a" if value is None else f"{value:,.0f} USD"


def _sim_table(sim: Mapping[str, Any]) -> html.Table:
    head = ["strategy", "mean", "P5", "P50", "P95", "P(loss)", "P(payback)", "CVaR 5%", "drawdown P95", "payback P50"]
    keys = ["mean_usd", "p5_usd", "p50_usd", "p95_usd", "prob_loss", "prob_payback", "cvar5_usd",
            "drawdown_p95_usd", "payback_days_p50"]
    rows = []
    for name, s in sim["summary"].items():
        cells = [html.Td(("* " if name == sim["strategy"] else "") + LABELS.get(name, name), className="name")]
        for key in keys:
            v = s[key]
            if key.startswith("prob"):
                text = f"{v:.1%}"
            elif key == "payback_days_p50":
                text = "-" if v is None else f"{v:.0f} d"
            else:
                text = f"{v:,.0f}"
            cells.append(html.Td(_value(text, v), className=key))
        rows.append(html.Tr(cells, id=f"sim-row-{name}", className="chosen" if name == sim["strategy"] else ""))
    return html.Table([html.Thead(html.Tr([html.Th(h) for h in head])), html.Tbody(rows)], className="sim")


def _provider_summary(econ: Mapping[str, Any]) -> list:
    p, s = econ["provider"], econ["summary"]
    network = "COCOON" if s["pricing_mode"] != "render" else "Render"
    token = s.get("token", "TON")
    lines = [html.Li([f"on {network}: ", _value(f"{p['network_usd_per_gpu_hour']:.3f}", p["network_usd_per_gpu_hour"]),
                      f" USD per GPU-hour at {p['utilisation']:.0%} utilisation, payouts sold on arrival; power "
                      f"{p['power_usd_per_gpu_hour']:.3f} USD per GPU-hour"], id="provider-network")]
    be, market = p["break_even"], p["market_rental"]
    if be is None:
        lines.append(html.Li(f"no rental prices on record for {p['gpu']}"))
    else:
        lines += [
            html.Li(f"market rental rate: {market['usd_per_gpu_hour']:.2f} USD/GPU-h (median of {market['quotes']} "
                    f"providers' latest prices, up to {market['observed_at']})"),
            html.Li(f"net of power: {network} {be['network_net_usd_per_gpu_hour']:.3f} vs renting "
                    f"{be['rental_net_usd_per_gpu_hour']:.3f} USD/GPU-h (rented {p['rental_occupancy']:.0%} of the "
                    f"time, fee {p['rental_fee']:.0%})"),
            html.Li([f"{network} beats renting from a {token} price of ",
                     _value("n/a" if be["token_usd_to_beat"] is None else f"{be['token_usd_to_beat']:.4f}",
                            be["token_usd_to_beat"]),
                     " USD, or at this price from a utilisation of ",
                     _value(_util(be["utilisation_to_beat"]), be["utilisation_to_beat"])], id="provider-beat"),
        ]
    return [html.Ul(lines, className="notes")]


def _plain_sim(sim: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in sim.items() if k not in ("fan", "net_usd")}


def _file_name(name: str) -> str:
    return (re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_").lower() or "scenario") + ".toml"


def register(app: Dash, base: Mapping[str, str], examples: Mapping[str, Any]) -> None:
    """Wire the callbacks. ``base`` is the state the page started from (the fallback of bad
    fields); ``examples`` maps the "start from" names to scenario files."""
    base = dict(base)

    @app.callback(
        Output("url", "search"), [Output(f.id, "value") for f in FIELDS], Output("hidden", "data"),
        Output("throughput-pick", "value"), Output(CURRENCY_ID, "options"),
        Input("url", "search"), Input("example", "value"), Input("throughput-pick", "value"), FIELD_INPUTS,
        State("hidden", "data"),
    )
    def sync(search, example, pick, *rest):
        values, hidden = rest[:len(FIELDS)], rest[len(FIELDS)]
        trigger = ctx.triggered_id
        unchanged = [no_update] * len(FIELDS)
        current = _state(values, hidden)
        if trigger in (None, "url"):
            # a bare address shows the starting state (and gets it written into it); a link, its own
            new = from_query(search, base) if (search or "").lstrip("?") else current
        elif trigger == "example":
            scenario = load_scenario(examples[example])
            page = {k: current[k] for k in ("ton_usd", "utilisation_source", *SIM_KEYS, *RENTAL_KEYS)}
            new = state_from_scenario(scenario, page)
            if current.get(CURRENCY_KEY, "USD") != new.get(CURRENCY_KEY, "USD"):
                # the page stays in its currency: the example's costs converted as a change of currency
                # converts them (the kept token price is in the page's currency already)
                new = {**convert_state({**new, "ton_usd": "latest"}, current[CURRENCY_KEY]),
                       "ton_usd": current["ton_usd"]}
        elif trigger == CURRENCY_ID:
            if not current.get(CURRENCY_KEY):
                return (no_update,) * (len(FIELDS) + 4)
            # the costs (and a typed price) from the currency before (the link holds it) into the new one
            before = from_query(search, base).get(CURRENCY_KEY, "USD") if (search or "").lstrip("?") \
                else base.get(CURRENCY_KEY, "USD")
            new = convert_state({**current, CURRENCY_KEY: before}, current.get(CURRENCY_KEY) or "")
        elif trigger == "throughput-pick":
            if pick is None:
                return no_update, *unchanged, no_update, no_update, no_update
            # the row's throughput and token mix, and the source the scenario's own lookup would write
            row = next(r for r in answers.throughput_rows() if r["row"] == pick)
            new = {**current, "workload.output_tokens_per_s": f"{row['output_tokens_per_s']:g}",
                   "workload.throughput_source": row["source"]}
            if row["prompt_tokens_per_output_token"] is not None:
                new["workload.prompt_tokens_per_output_token"] = f"{row['prompt_tokens_per_output_token']:g}"
        elif trigger == THROUGHPUT_ID and current.get("workload.throughput_source"):
            # a typed throughput is no longer the reference row's: it is "given" (docs/throughput.md)
            current["workload.throughput_source"] = ""
            hidden_now = {k: v for k, v in current.items() if k not in FIELD_BY_KEY}
            return to_query(current), *unchanged, hidden_now, no_update, no_update
        else:
            return to_query(current), *unchanged, no_update, no_update, no_update
        fields = [widget_value(f, new.get(f.key, "")) for f in FIELDS]
        return (to_query(new), *fields, {k: v for k, v in new.items() if k not in FIELD_BY_KEY}, None,
                currency_options(new.get(CURRENCY_KEY, "")))

    @app.callback(
        [Output(f.id + "-msg", "children") for f in FIELDS], [Output(f.id + "-box", "className") for f in FIELDS],
        Output("general-msg", "children"), Output("econ-input", "data"), Output("sim-input", "data"),
        Output("cli-commands", "children"),
        FIELD_INPUTS, Input("hidden", "data"), State("econ-input", "data"), State("sim-input", "data"),
        prevent_initial_call=True,  # sync sets the inputs first (from the link), which calls this once
    )
    def check(*args):
        values = args[:len(FIELDS)]
        hidden, econ_before, sim_before = args[len(FIELDS):]
        state = _state(values, hidden)
        reading = read_state(state, base)
        messages = [reading.errors.get(f.key, "") for f in FIELDS]
        classes = ["field bad" if f.key in reading.errors else "field" for f in FIELDS]
        general = list(reading.general)
        if reading.errors:
            general.append("Some inputs need fixing (marked in red); the answers below are for the last good inputs.")
        econ = sim = commands = no_update
        if reading.economics_ok:
            econ = {k: v for k, v in state.items() if k not in SIM_KEYS}
            econ = no_update if econ == econ_before else econ
        if reading.simulation_ok:
            sim = {k: v for k, v in state.items() if k not in RENTAL_KEYS}
            sim = no_update if sim == sim_before else sim
            commands = "\n".join(answers.cli_commands(_file_name(reading.scenario.name), reading.ton_usd,
                                                      reading.method, reading.paths, reading.seed,
                                                      reading.rental_occupancy, reading.rental_fee))
        return *messages, *classes, [html.Div(m) for m in general], econ, sim, commands

    @app.callback(
        [Output(i, "children") for i, *_ in KPIS], Output("profit-chart", "figure"), Output("econ-notes", "children"),
        Output("provider-summary", "children"), Output("provider-chart", "figure"), Output("econ-status", "children"),
        Output("econ-results", "data"),
        Input("econ-input", "data"), prevent_initial_call=True,
    )
    def answer_economics(state):
        reading = read_state(state, base)
        unchanged = [no_update] * (len(KPIS) + 4)
        if not reading.economics_ok:
            return *unchanged, no_update, no_update
        try:
            econ = answers.economics(reading.scenario, reading.ton_usd, reading.rental_occupancy, reading.rental_fee,
                                     reading.conversion)
        except CocoonEconError as exc:
            return *unchanged, f"not updated: {exc}", no_update
        except Exception as exc:  # a bug: logged with its traceback, the page keeps its last answer
            log.exception("economics failed")
            return *unchanged, f"not updated: the page could not answer ({type(exc).__name__}: {exc})", no_update
        s = econ["summary"]
        values = {**s, "monthly_profit_usd": econ["monthly_profit_usd"],
                  "monthly_cash_profit_usd": econ["monthly_cash_profit_usd"]}
        kpis = [_value(kpi_text(kind, values[key], s), values[key]) for _, _, key, kind in KPIS]
        p = econ["provider"]
        network = "COCOON" if s["pricing_mode"] != "render" else "Render"
        bars = provider_chart(p["gpu"], network, p["network_usd_per_gpu_hour"], p["alternatives"],
                              p["alternative_columns"])
        status = (f"{s['scenario']}: {s['gpus']} GPU(s), {s['token']} at {s['ton_usd']:.4f} USD; income "
                  f"{s['usd_income_per_day']:,.2f} USD/day, profit {s['usd_profit_per_day']:,.2f} USD/day "
                  f"(cash {s['usd_cash_profit_per_day']:,.2f})")
        shown = (*kpis, profit_against_price(econ["curve"], s), [html.Li(n) for n in econ["notes"]],
                 _provider_summary(econ), bars, status)
        return *named(shown, reading.currency), {k: v for k, v in econ.items() if k != "curve"}

    @app.callback(
        Output("sim-table", "children"), Output("fan-chart", "figure"), Output("dist-chart", "figure"),
        Output("sim-notes", "children"), Output("sim-status", "children"), Output("sim-results", "data"),
        Input("sim-input", "data"), prevent_initial_call=True,
    )
    def answer_simulation(state):
        reading = read_state(state, base)
        if not reading.simulation_ok:
            return no_update, no_update, no_update, no_update, no_update, no_update
        try:
            sim = answers.simulation(reading.scenario, reading.method, reading.paths, reading.seed, reading.ton_usd)
        except CocoonEconError as exc:
            return no_update, no_update, no_update, no_update, f"not updated: {exc}", no_update
        except Exception as exc:  # a bug: logged with its traceback, the page keeps its last answer
            log.exception("simulation failed")
            return (no_update, no_update, no_update, no_update,
                    f"not updated: the page could not answer ({type(exc).__name__}: {exc})", no_update)
        token = reading.scenario.network.token
        seed = "" if reading.seed is not None else f"; fresh seed {sim['seed']} (type it to repeat the run)"
        basis = sim["basis"]
        hardware = f"hardware at market resale {basis['hardware_resale_end_usd']:,.0f} USD"
        if basis["hardware_resale_forgone_usd"]:
            hardware += f" less {basis['hardware_resale_forgone_usd']:,.0f} USD resale forgone on day 0 (owned)"
        status = (f"{sim['method']}, {sim['paths']:,} path(s) x {sim['horizon_days']} days from "
                  f"{sim['start_price']:.4f} USD/{token}{seed}. Net USD over the horizon: cash, {token} and hedges "
                  f"liquidated at the end, {hardware}; undiscounted. * the scenario's strategy.")
        label = LABELS.get(sim["strategy"], sim["strategy"])
        fan = fan_chart(sim["fan"], sim["strategy"], f"{label}: cumulative net USD, P5-P95 and P25-P75 of the paths")
        dist = outcome_distributions(sim["net_usd"], "Net USD over the horizon per strategy")
        shown = (_sim_table(sim), fan, dist, [html.Li(n) for n in sim["notes"]], status)
        return *named(shown, reading.currency), _plain_sim(sim)

    @app.callback([Output(f.id + "-label", "children") for f in MONEY_FIELDS], Input(CURRENCY_ID, "value"))
    def money_labels(code):
        """The cost inputs' units (and the token price's) in the currency chosen."""
        currency = shown_currency(code)
        return [label_text(f, currency) for f in MONEY_FIELDS]

    @app.callback(Output("download-scenario", "data"), Input("download-scenario-btn", "n_clicks"),
                  State("econ-input", "data"), State("sim-input", "data"), prevent_initial_call=True)
    def download_scenario(clicks, econ_state, sim_state):
        state = {**(sim_state or {}), **(econ_state or {})}  # the economics' scenario is never older
        reading = read_state(state, base)
        if reading.scenario is None:
            return no_update
        name = _file_name(reading.scenario.name)
        commands = answers.cli_commands(name, reading.ton_usd, reading.method, reading.paths, reading.seed,
                                        reading.rental_occupancy, reading.rental_fee)
        return {"content": scenario_toml(reading.scenario, commands), "filename": name, "type": "application/toml"}

    @app.callback(Output("download-results", "data"), Input("download-results-btn", "n_clicks"),
                  State("econ-results", "data"), State("sim-results", "data"), prevent_initial_call=True)
    def download_results(clicks, econ, sim):
        if econ is None and sim is None:
            return no_update
        name = (econ or sim)["scenario"]
        return {"content": answers.results_csv(econ, sim), "filename": _file_name(name)[:-5] + "_results.csv",
                "type": "text/csv"}
