"""The page: inputs on the left (from :data:`analysis.app.state.SECTIONS`), answers on the right."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dash import dcc, html

from analysis.app.answers import throughput_rows
from analysis.app.state import CURRENCY_KEY, FIELDS, SECTIONS, Field
from analysis.econ.currency import relabel_text

#: Key figures of the economics: component id -> (label, summary key or page key, format).
KPIS = (
    ("kpi-be-price", "Break-even token price, all costs", "break_even_ton_usd", "price"),
    ("kpi-be-price-cash", "Break-even token price, cash costs", "break_even_ton_usd_cash", "price"),
    ("kpi-be-util", "Break-even utilisation, all costs", "break_even_utilisation", "util"),
    ("kpi-be-util-cash", "Break-even utilisation, cash costs", "break_even_utilisation_cash", "util"),
    ("kpi-monthly", "Profit per month, all costs", "monthly_profit_usd", "usd"),
    ("kpi-monthly-cash", "Profit per month, cash costs", "monthly_cash_profit_usd", "usd"),
    ("kpi-payback", "Payback at this price", "payback_days", "days"),
    ("kpi-npv", "NPV over the horizon", "npv_usd", "usd"),
)


def widget_value(f: Field, text: str) -> Any:
    """The component value showing a state text."""
    if f.widget == "check":
        return ["yes"] if text.strip().lower() in ("true", "1", "yes", "on") else []
    return text


def state_text(f: Field, value: Any) -> str:
    """The state text of a component value."""
    if f.widget == "check":
        return "true" if value else "false"
    return "" if value is None else str(value)


def _widget(f: Field, text: str):
    value = widget_value(f, text)
    if f.widget == "dropdown":
        return dcc.Dropdown(id=f.id, options=[{"label": lab, "value": v} for v, lab in f.choices], value=value,
                            clearable=False, className="field-input")
    if f.widget == "radio":
        return dcc.RadioItems(id=f.id, options=[{"label": lab, "value": v} for v, lab in f.choices], value=value,
                              inline=True, className="field-radio")
    if f.widget == "check":
        return dcc.Checklist(id=f.id, options=[{"label": " " + f.label, "value": "yes"}], value=value,
                             className="field-check")
    return dcc.Input(id=f.id, type="text", value=value, debounce=0.4, autoComplete="off",
                     className="field-input")


def label_text(f: Field, currency: str) -> str:
    """A field's label with its unit, a money unit in ``currency`` ("Electricity (EUR/kWh)")."""
    text = f.label + (f" ({f.unit})" if f.unit else "")
    return relabel_text(text, currency) if f.money else text


def _field(f: Field, text: str, currency: str = "USD") -> html.Div:
    children: list = []
    if f.widget != "check":
        label = label_text(f, currency)
        # a money unit's label has an id: it follows the currency chosen
        children.append(html.Label(label, htmlFor=f.id, id=f.id + "-label") if f.money
                        else html.Label(label, htmlFor=f.id))
    children.append(_widget(f, text))
    if f.key == "workload.output_tokens_per_s":
        children.append(dcc.Dropdown(id="throughput-pick", options=throughput_options(), value=None,
                                     placeholder="pick a measured throughput ...", className="field-input pick"))
    if f.help:
        children.append(html.Div(f.help, className="help"))
    children.append(html.Div(id=f.id + "-msg", className="msg", role="alert"))
    return html.Div(children, className="field", id=f.id + "-box")


def shown_currency(code: Any) -> str:
    """The currency the labels name: ``code`` when the page knows it, else USD (its field says what is wrong)."""
    from analysis.market.fx import ecb_currencies

    value = str(code or "").strip().upper()
    return value if value in ecb_currencies() else "USD"


def throughput_options() -> list[dict[str, Any]]:
    """The measured rows of ``inference_throughput_cocoon.csv`` to pick a throughput from."""
    return [{"label": r["label"], "value": r["row"], "title": r["detail"]} for r in throughput_rows()]


def _kpi(kpi_id: str, label: str) -> html.Div:
    return html.Div([html.Div(label, className="kpi-label"), html.Div("...", id=kpi_id, className="kpi-value")],
                    className="kpi")


def page(state: Mapping[str, str], examples: Mapping[str, str], example: str | None) -> html.Div:
    """The whole page showing ``state``; ``examples`` maps example names to their labels."""
    currency = shown_currency(state.get(CURRENCY_KEY, "USD"))
    sections = [html.Fieldset([html.Legend(title)] + [_field(f, state.get(f.key, ""), currency) for f in fields],
                              className="section") for title, fields in SECTIONS]
    hidden = {k: v for k, v in state.items() if k not in {f.key for f in FIELDS}}
    header = html.Header([
        html.H1("cocoon-econ: what if?"),
        html.Div([
            html.Label("Start from", htmlFor="example"),
            dcc.Dropdown(id="example", options=[{"label": lab, "value": k} for k, lab in examples.items()],
                         value=example, clearable=False, className="example"),
            html.Button("Download scenario (TOML)", id="download-scenario-btn", n_clicks=0),
            html.Button("Download results (CSV)", id="download-results-btn", n_clicks=0),
            dcc.Download(id="download-scenario"), dcc.Download(id="download-results"),
        ], className="toolbar"),
        html.Div(id="general-msg", className="msg general", role="alert"),
    ])
    economics = html.Section([
        html.H2("Break-even"),
        html.Div(id="econ-status", className="status"),
        html.Div([_kpi(i, label) for i, label, _, _ in KPIS], className="kpis"),
        dcc.Graph(id="profit-chart", config={"displaylogo": False}),
        html.Ul(id="econ-notes", className="notes"),
    ], className="panel")
    simulation = html.Section([
        html.H2("Risk and hedging: simulated price paths"),
        html.Div(id="sim-status", className="status"),
        dcc.Loading(html.Div(id="sim-table"), type="dot", delay_show=300),
        dcc.Graph(id="fan-chart", config={"displaylogo": False}),
        dcc.Graph(id="dist-chart", config={"displaylogo": False}),
        html.Ul(id="sim-notes", className="notes"),
    ], className="panel")
    provider = html.Section([
        html.H2("Against renting the GPU out (provider view)"),
        html.Div(id="provider-summary"),
        dcc.Graph(id="provider-chart", config={"displaylogo": False}),
    ], className="panel")
    commands = html.Section([html.H2("The same with the CLI"), html.Pre(id="cli-commands")], className="panel")
    return html.Div([
        dcc.Location(id="url", refresh=False),
        dcc.Store(id="hidden", data=hidden),
        dcc.Store(id="econ-input"), dcc.Store(id="sim-input"),
        dcc.Store(id="econ-results"), dcc.Store(id="sim-results"),
        header,
        html.Div([html.Aside(sections, className="inputs"),
                  html.Main([economics, simulation, provider, commands], className="answers")],
                 className="columns"),
    ], className="page")
