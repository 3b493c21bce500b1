"""The what-if app without a browser: state <-> scenario <-> URL <-> TOML round trips, the inline
messages, and the page's numbers against the CLI's (``breakeven``, ``simulate --seed``, ``compare``).

The browser itself is driven in tests/test_app_browser.py.
"""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys

import numpy as np
import pytest

from analysis.app import answers
from analysis.app.state import (
    CURRENCY_KEY,
    FIELD_BY_KEY,
    FIELDS,
    MAX_PATHS,
    PAGE_DEFAULTS,
    convert_state,
    from_query,
    read_state,
    scenario_toml,
    state_from_scenario,
    to_query,
)
from analysis.cli.main import main
from analysis.core.errors import InputError
from analysis.core.resources import example_scenarios
from analysis.econ.currency import scenario_in_currency
from analysis.econ.metrics import DAYS_PER_MONTH
from analysis.econ.scenario import NEUTRAL_COST_KEYS, load_scenario, to_mapping
from analysis.market.fx import fx_rate
from analysis.market.prices import daily_closes

EXAMPLES = example_scenarios()
CURRENCY_ID = FIELD_BY_KEY[CURRENCY_KEY].id
OWNED = EXAMPLES["h100_nvl_owned"]


def _numbers(simulate_json: dict) -> dict:
    """``simulate --json`` without the assumptions it repeats per strategy (the page shows them as notes)."""
    return {name: {k: v for k, v in entry.items() if k != "assumptions"} for name, entry in simulate_json.items()}


def _json(capsys, argv):
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


@pytest.fixture(scope="module")
def owned():
    return load_scenario(OWNED)


@pytest.fixture(scope="module")
def base(owned):
    return state_from_scenario(owned)


# --------------------------------------------------------------------------- state round trips


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_every_example_survives_state_url_and_toml(name, tmp_path, base):
    scenario = load_scenario(EXAMPLES[name])
    state = state_from_scenario(scenario)
    reading = read_state(state, state)
    assert reading.errors == {} and reading.general == []
    assert to_mapping(reading.scenario) == to_mapping(scenario)
    # a link restores the state whatever scenario the receiving page started from
    assert from_query(to_query(state), base) == state
    path = tmp_path / "saved.toml"
    path.write_text(scenario_toml(reading.scenario, ["cocoon-econ breakeven --scenario saved.toml"]), encoding="utf-8")
    assert to_mapping(load_scenario(path)) == to_mapping(scenario)


def test_every_field_is_a_state_key_and_the_page_keys_have_defaults(base):
    assert set(FIELD_BY_KEY) <= set(base)
    assert set(PAGE_DEFAULTS) <= {f.key for f in FIELDS}
    assert len({f.id for f in FIELDS}) == len(FIELDS)


def test_a_hand_written_link_keeps_the_base_for_keys_it_leaves_out(base):
    state = from_query("?workload.utilisation=0.8&ton_usd=2", base)
    assert state["workload.utilisation"] == "0.8" and state["ton_usd"] == "2"
    assert state["hardware.gpu"] == base["hardware.gpu"]
    reading = read_state(state, base)
    assert reading.scenario.workload.utilisation == 0.8 and reading.ton_usd == 2.0


def test_an_unknown_key_in_a_link_is_named_not_dropped(base):
    reading = read_state(from_query("?hardware.gpuz=H200", base), base)
    assert reading.scenario is None and not reading.economics_ok
    assert "gpuz" in reading.general[0] and "did you mean gpu" in reading.general[0]


def test_switching_network_drops_the_other_networks_keys(base):
    state = {**base, "network.name": "render", "hardware.gpu": "RTX-4090"}
    reading = read_state(state, base)
    assert reading.errors == {}, reading.errors
    assert reading.scenario.network.name == "render" and reading.scenario.network.token == "RENDER"


# --------------------------------------------------------------------------- inline messages


@pytest.mark.parametrize(("key", "text", "words"), [
    ("hardware.gpus", "", "empty"),
    ("hardware.gpus", "two", "not a number"),
    ("hardware.gpus", "1.5", "whole number"),
    ("hardware.capex", "-5", "out of range"),
    ("operations.electricity_per_kwh", "abc", "not a number"),
    ("workload.utilisation", "1.2", "out of range"),
    ("workload.utilisation", "-0.1", "out of range"),
    ("operations.pue", "0.5", "out of range"),
    ("ton_usd", "-1", "not positive"),
    ("ton_usd", "cheap", "not a number"),
    ("treasury.funding_rate_annual", "sometimes", "not a number"),
    ("treasury.vol_premium", "-0.5", "vol_premium"),   # the policies' own check (TreasuryParams)
    ("hardware.gpu", "RTX-4090", "cannot serve COCOON"),
    ("rental.occupancy", "0", "out of range"),
])
def test_a_bad_economic_value_gets_a_message_at_its_field(base, key, text, words):
    reading = read_state({**base, key: text}, base)
    assert list(reading.errors) == [key]
    assert words in reading.errors[key]
    assert "Traceback" not in reading.errors[key] and "\n" not in reading.errors[key]
    assert not reading.economics_ok and not reading.simulation_ok


def test_every_bad_field_is_marked_at_once(base):
    bad = {"hardware.gpus": "x", "workload.utilisation": "2", "operations.power_kw": "-1", "finance.horizon_days": ""}
    reading = read_state({**base, **bad}, base)
    assert set(reading.errors) == set(bad)


@pytest.mark.parametrize(("key", "text"), [("sim.paths", "0"), ("sim.paths", str(MAX_PATHS + 1)),
                                           ("sim.seed", "-3"), ("sim.method", "magic")])
def test_a_bad_simulation_value_leaves_the_economics_answering(base, key, text):
    reading = read_state({**base, key: text}, base)
    assert list(reading.errors) == [key]
    assert reading.economics_ok and not reading.simulation_ok


def test_observed_utilisation_is_the_networks_demand_as_breakeven_reads_it(base, capsys):
    reading = read_state({**base, "utilisation_source": "observed"}, base)
    assert reading.errors == {} and reading.scenario.utilisation_origin == "observed"
    econ = answers.economics(reading.scenario, 1.6)
    cli = _json(capsys, ["breakeven", "--scenario", str(OWNED), "--utilisation", "observed", "--ton-usd", "1.6",
                         "--json"])
    for key in ("utilisation", "utilisation_origin", "observed_utilisation", "break_even_utilisation",
                "usd_profit_per_day", "npv_usd"):
        assert econ["summary"][key] == cli[key], key
    assert any("utilisation observed on COCOON" in n for n in econ["notes"])
    # the link and the file keep "observed" (not the number it gave today)
    state = state_from_scenario(reading.scenario)
    assert state["utilisation_source"] == "observed"
    assert 'utilisation = "observed"' in scenario_toml(reading.scenario)
    # typed into the field, "observed" means the same
    assert read_state({**base, "workload.utilisation": "observed"}, base).scenario.utilisation_origin == "observed"


def test_observed_utilisation_on_render_is_named_at_the_field(base):
    render = state_from_scenario(load_scenario(EXAMPLES["render_rtx4090"]))
    reading = read_state({**render, "utilisation_source": "observed"}, render)
    assert "only known for COCOON" in reading.errors["workload.utilisation"]


def test_an_empty_seed_means_fresh_entropy(base):
    reading = read_state({**base, "sim.seed": ""}, base)
    assert reading.errors == {} and reading.seed is None


# --------------------------------------------------------------------------- the CLI's numbers


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_economics_are_the_breakeven_and_compare_commands(name, capsys):
    path = EXAMPLES[name]
    scenario = load_scenario(path)
    econ = answers.economics(scenario, 1.7, rental_occupancy=0.8, rental_fee=0.1)
    cli = _json(capsys, ["breakeven", "--scenario", str(path), "--ton-usd", "1.7", "--json"])
    for key, value in cli.items():
        if key not in ("ton_usd_origin",):
            assert econ["summary"][key] == value, key
    # monthly profit: the daily profit of breakeven over a 365/12-day month
    assert econ["monthly_profit_usd"] == pytest.approx(cli["usd_profit_per_day"] * 365 / 12, rel=1e-12)
    assert econ["monthly_cash_profit_usd"] == pytest.approx(cli["usd_cash_profit_per_day"] * 365 / 12, rel=1e-12)
    compare = _json(capsys, ["compare", "--scenario", str(path), "--ton-usd", "1.7", "--rental-occupancy", "0.8",
                             "--rental-fee", "0.1", "--json"])["provider"]
    for key in ("network_usd_per_gpu_hour", "power_usd_per_gpu_hour", "market_rental", "break_even"):
        assert econ["provider"][key] == compare[key], key


def test_the_latest_close_is_the_one_breakeven_uses(owned, capsys):
    econ = answers.economics(owned)
    cli = _json(capsys, ["breakeven", "--scenario", str(OWNED), "--json"])
    assert econ["summary"]["ton_usd"] == cli["ton_usd"] and econ["summary"]["ton_usd_date"] == cli["ton_usd_date"]
    assert econ["summary"]["break_even_utilisation"] == cli["break_even_utilisation"]


def test_profit_curve_crosses_zero_at_the_break_even_prices(owned):
    econ = answers.economics(owned, 1.3)
    curve = econ["curve"]
    for key, values in (("break_even_ton_usd", "profit_usd_per_month"),
                        ("break_even_ton_usd_cash", "cash_profit_usd_per_month")):
        at = np.interp(econ["summary"][key], curve["token_usd"], curve[values])  # linear in the price
        assert abs(at) < 1e-9 * max(abs(v) for v in curve[values])
    i = int(np.argmin(np.abs(np.array(curve["token_usd"]) - 1.3)))
    price = curve["token_usd"][i]
    assert curve["profit_usd_per_month"][i] == pytest.approx(
        answers.economics(owned, price)["monthly_profit_usd"], rel=1e-9)


@pytest.mark.parametrize(("name", "method"), [("h100_nvl_owned", "bootstrap"), ("hgx_h100_8x_colo", "gbm"),
                                              ("render_rtx4090", "bootstrap")])
def test_simulation_is_simulate_with_the_seed(name, method, capsys):
    path = EXAMPLES[name]
    scenario = load_scenario(path)
    sim = answers.simulation(scenario, method, 400, 7, 1.4)
    cli = _json(capsys, ["simulate", "--scenario", str(path), "--method", method, "--paths", "400", "--seed", "7",
                         "--start-price", "1.4", "--json"])
    assert sim["summary"] == _numbers(cli)
    # the assumptions simulate lists with its JSON are the ones the page's notes say
    shown = cli["hold"]["assumptions"]
    notes = " ".join(sim["notes"])
    assert shown["drift"] in notes and shown["funding"] in notes
    # the fan is the chosen strategy's positions on the same paths: its last day is the net USD
    # (the hardware's resale value added) up to the rounding of the two evaluation routes
    chosen = scenario.treasury.strategy
    end = sim["fan"][:, -1]
    from analysis.econ.costs import hardware_terminal_usd
    hardware = hardware_terminal_usd(scenario.hardware, sim["horizon_days"])
    expected = np.percentile(sim["net_usd"][chosen], [5, 25, 50, 75, 95]) - hardware
    assert end == pytest.approx(expected, rel=1e-9, abs=1e-6)


def test_results_csv_holds_the_numbers(owned):
    econ = answers.economics(owned, 1.5)
    sim = answers.simulation(owned, "gbm", 200, 3)
    rows = list(csv.DictReader(io.StringIO(answers.results_csv(econ, sim))))
    by = {(r["section"], r["item"]): r for r in rows}
    assert float(by["breakeven", "break_even_ton_usd"]["value"]) == econ["summary"]["break_even_ton_usd"]
    assert by["breakeven", "break_even_ton_usd"]["unit"] == "USD/TON"
    assert float(by["breakeven", "monthly_profit_usd"]["value"]) == econ["monthly_profit_usd"]
    assert float(by["strategy hold", "mean_usd"]["value"]) == sim["summary"]["hold"]["mean_usd"]
    assert by["simulation", "seed"]["value"] == "3"
    assert DAYS_PER_MONTH == pytest.approx(365 / 12)


def test_cli_commands_reproduce_the_page(owned, tmp_path, capsys):
    path = tmp_path / "page.toml"
    commands = answers.cli_commands(str(path), 1.25, "gbm", 300, 11)
    path.write_text(scenario_toml(owned, commands), encoding="utf-8")
    argv = commands[1].split()[1:] + ["--json"]
    assert _numbers(_json(capsys, argv)) == answers.simulation(owned, "gbm", 300, 11, 1.25)["summary"]
    assert _json(capsys, commands[0].split()[1:] + ["--json"])["break_even_utilisation"] == \
        answers.economics(owned, 1.25)["summary"]["break_even_utilisation"]


# --------------------------------------------------------------------------- the command and the server


def test_help_does_not_import_dash():
    code = ("import sys; from analysis.cli.main import build_parser; build_parser().parse_args(['app', '--port', '1']);"
            "assert 'dash' not in sys.modules and 'flask' not in sys.modules, 'dash imported'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


@pytest.mark.parametrize(("argv", "words"), [(["app", "--port", "70000"], "out of range"),
                                              (["app", "--port", "web"], "not a whole number"),
                                              (["app", "--scenario", "missing.toml"], "not found")])
def test_bad_arguments_are_one_line_exit_2(argv, words, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert words in err and "\n" not in err and "Traceback" not in err


def test_another_host_warns(monkeypatch, capsys):
    import analysis.app.server as server

    seen = {}
    monkeypatch.setattr(server, "run", lambda scenario, host, port: seen.update(host=host, port=port))
    assert main(["app", "--host", "0.0.0.0", "--port", "0"]) == 0
    assert seen == {"host": "0.0.0.0", "port": 0}
    assert "warning" in capsys.readouterr().err
    assert main(["app", "--port", "0"]) == 0
    assert "warning" not in capsys.readouterr().err


def test_a_port_in_use_is_one_line(capsys):
    import socket

    from analysis.app.server import create_app, serve

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(InputError) as info:
            serve(create_app(), "127.0.0.1", port)
    assert "cannot listen" in str(info.value) and "--port" in str(info.value)


def test_the_page_loads_nothing_from_elsewhere():
    from analysis.app.server import create_app

    app = create_app()
    client = app.server.test_client()
    html = client.get("/").get_data(as_text=True)
    sources = [s for s in __import__("re").findall(r'(?:src|href)="([^"]+)"', html)]
    assert sources and all(s.startswith("/") for s in sources), sources
    assert any("plotly" in s or "dash" in s for s in sources)
    for s in sources:
        assert client.get(s).status_code == 200, s


def test_the_cached_provider_chart_is_the_reports(owned):
    import pandas as pd
    import plotly

    from analysis.app.figures import provider_chart
    from analysis.report.charts.compare import provider_bars

    def plain(fig):
        return json.loads(json.dumps(fig, cls=plotly.utils.PlotlyJSONEncoder))

    for price in (0.8, 1.9):
        p = answers.provider_view(owned, price)
        fresh = provider_bars(p["network_usd_per_gpu_hour"], pd.DataFrame(p["alternatives"]), "COCOON",
                              f"{p['gpu']}: USD per GPU-hour on COCOON against renting it out")
        assert plain(provider_chart(p["gpu"], "COCOON", p["network_usd_per_gpu_hour"], p["alternatives"],
                                    p["alternative_columns"])) == \
            plain(fresh.to_plotly_json())


# --------------------------------------------------------------------------- the callbacks, without a browser


@pytest.fixture(scope="module")
def app():
    from analysis.app.server import create_app

    return create_app()


@pytest.fixture
def client(app, base):
    from app_support import Page

    return Page(app, base)


def _shown(response: dict, component: str, prop: str = "children"):
    return response[component][prop]


def test_a_change_answers_with_the_cli_numbers_and_rewrites_the_link(client, base, capsys):
    out = client.change("workload.utilisation", "0.8")
    assert "workload.utilisation=0.8" in _shown(out["sync"], "url", "search")
    assert _shown(out["check"], FIELD_BY_KEY["workload.utilisation"].id + "-msg") == ""
    kpi = _shown(out["economics"], "kpi-be-util")
    scenario = read_state({**base, "workload.utilisation": "0.8"}, base).scenario
    assert kpi["props"]["data-value"] == repr(answers.economics(scenario)["summary"]["break_even_utilisation"])
    assert "simulation" in out  # the scenario changed: the simulation answers too
    # a rental input moves only the provider view, not the simulation
    out = client.change("rental.fee", "0.2")
    assert "economics" in out and "simulation" not in out


def test_a_bad_value_stops_the_answers_and_says_why(client):
    out = client.change("hardware.gpus", "x")
    assert "not a number" in _shown(out["check"], FIELD_BY_KEY["hardware.gpus"].id + "-msg")
    assert _shown(out["check"], FIELD_BY_KEY["hardware.gpus"].id + "-box", "className") == "field bad"
    assert "economics" not in out and "simulation" not in out
    out = client.change("hardware.gpus", "2")
    assert "economics" in out and "simulation" in out


def test_a_bad_simulation_value_keeps_the_economics(client):
    out = client.change("sim.paths", "0")
    assert "out of range" in _shown(out["check"], FIELD_BY_KEY["sim.paths"].id + "-msg")
    out = client.change("workload.utilisation", "0.6")
    assert "economics" in out and "simulation" not in out


def test_switching_to_render_answers_in_render(client):
    client.type("hardware.gpu", "RTX-4090")
    out = client.change("network.name", "render")
    assert "USD/RENDER" in _shown(out["economics"], "kpi-be-price")["props"]["children"]
    assert "RENDER" in _shown(out["simulation"], "sim-status")
    out = client.change("network.name", "cocoon")  # an RTX 4090 cannot serve COCOON: said at the GPU
    assert "cannot serve COCOON" in _shown(out["check"], FIELD_BY_KEY["hardware.gpu"].id + "-msg")


def test_a_link_sets_the_inputs(client):
    h200 = state_from_scenario(load_scenario(EXAMPLES["h200_single"]), {"sim.paths": "300"})
    client.values[("url", "search")] = to_query(h200)
    _, sync = client.post("url.search", "url.search")
    assert _shown(sync, FIELD_BY_KEY["hardware.gpu"].id, "value") == h200["hardware.gpu"] != "H100-NVL"
    assert _shown(sync, FIELD_BY_KEY["sim.paths"].id, "value") == "300"
    assert sync["hidden"]["data"]["workload.model"] == h200["workload.model"]


def test_start_from_an_example_and_pick_a_measured_throughput(client):
    client.values[("example", "value")] = "hgx_h100_8x_colo"
    _, sync = client.post("url.search", "example.value")
    assert _shown(sync, FIELD_BY_KEY["hardware.gpus"].id, "value") == "8"
    row = answers.throughput_rows("H100-SXM")[-1]
    client.values[("throughput-pick", "value")] = row["row"]
    _, sync = client.post("url.search", "throughput-pick.value")
    shown = _shown(sync, FIELD_BY_KEY["workload.output_tokens_per_s"].id, "value")
    assert float(shown) == row["output_tokens_per_s"]
    assert f"workload.output_tokens_per_s={shown}" in _shown(sync, "url", "search")
    # the source the scenario's own lookup writes: the page says the row, as breakeven does
    assert sync["hidden"]["data"]["workload.throughput_source"] == row["source"]
    out = client.change("workload.utilisation", "0.5")
    notes = json.dumps(out["economics"]["econ-notes"])
    assert f"row {row['row']}" in notes
    # typing a throughput of one's own makes it "given", no longer the row's
    out = client.change("workload.output_tokens_per_s", "1234")
    assert out["sync"]["hidden"]["data"]["workload.throughput_source"] == ""
    assert "no throughput_source given" in json.dumps(out["economics"]["econ-notes"])


def test_downloads(client, tmp_path):
    client.change("workload.utilisation", "0.55")
    _, answer = client.post("download-scenario.data", "download-scenario-btn.n_clicks")
    data = answer["download-scenario"]["data"]
    path = tmp_path / data["filename"]
    path.write_text(data["content"], encoding="utf-8")
    assert load_scenario(path).workload.utilisation == 0.55
    _, answer = client.post("download-results.data", "download-results-btn.n_clicks")
    rows = list(csv.DictReader(io.StringIO(answer["download-results"]["data"]["content"])))
    assert {r["section"] for r in rows} >= {"breakeven", "provider", "simulation", "strategy hold"}


def test_the_page_starts_from_a_scenario_file():
    from app_support import Page

    from analysis.app.server import create_app

    path = EXAMPLES["render_rtx4090"]
    app = create_app(path)
    layout = json.dumps(app.server.test_client().get("/_dash-layout").get_json())
    assert "file: render_rtx4090.toml" in layout and '"RTX-4090"' in layout
    out = Page(app, state_from_scenario(load_scenario(path), {"sim.paths": "200"})).change("workload.utilisation",
                                                                                          "0.6")
    assert "USD/RENDER" in _shown(out["economics"], "kpi-be-price")["props"]["children"]


@pytest.mark.parametrize("name", ["h100_nvl_owned", "render_rtx4090"])
def test_the_page_state_simulates_as_the_original_file(name, capsys):
    # every key made explicit would peg the USD-pegged network's price at the default instead of
    # the start price: the page leaves derived keys out, as the file does
    path = EXAMPLES[name]
    state = state_from_scenario(load_scenario(path), {"sim.paths": "300"})
    page = read_state(state, state).scenario
    sim = answers.simulation(page, "bootstrap", 300, 5)
    cli = _json(capsys, ["simulate", "--scenario", str(path), "--paths", "300", "--seed", "5", "--json"])
    assert sim["summary"] == _numbers(cli)


# --------------------------------------------------------------------------- the currency (issue 17)

LITERAL_DOLLAR = re.compile(r"(?:TON|RENDER)/USD|USD/(?!TON\b|RENDER\b)[A-Z]{3}\b|per USD|USD-pegged|TONUSDT")


def _money_words(obj) -> list[str]:
    """Every "USD" in ``obj``'s text that is not a literal dollar reference (TON/USD, EUR per USD ...)."""
    text = json.dumps(obj, ensure_ascii=False).replace("\\u0000", "")
    return [m.group(0) for m in re.finditer(r".{0,30}\bUSD\b.{0,30}", LITERAL_DOLLAR.sub("", text))]


@pytest.fixture(scope="module")
def eur(base):
    return convert_state({**base, "ton_usd": "1.5"}, "EUR")


def test_the_check_of_dollar_words_finds_a_money_unit():
    assert _money_words(["5.2 USD/TON", "TON/USD close x EUR per USD", "USD-pegged network"]) != []
    assert _money_words(["TON/USD close x EUR per USD", "vol USD/EUR 7.9%", "USD-pegged network"]) == []


def test_a_change_of_currency_converts_the_costs_as_scenario_in_currency(owned, base, eur):
    rate = fx_rate(owned.finance.start, "EUR")   # EUR per USD on the start day: the ECB's fixing
    assert eur[CURRENCY_KEY] == "EUR" and eur["fx.costs_from"] == "USD" and eur["fx.costs_day"] == "2025-04-01"
    assert float(eur["hardware.capex"]) == pytest.approx(owned.hardware.capex_usd * rate, rel=1e-11)
    assert float(eur["operations.electricity_per_kwh"]) == pytest.approx(
        owned.operations.electricity_usd_per_kwh * rate, rel=1e-11)
    assert float(eur["ton_usd"]) == pytest.approx(1.5 * rate, rel=1e-11)   # a typed price too
    reading = read_state(eur, base)
    assert reading.errors == {} and reading.general == [] and reading.currency == "EUR"
    cli = scenario_in_currency(owned, "EUR")   # what --currency EUR does to the scenario
    for table, names in NEUTRAL_COST_KEYS.items():
        for usd in names.values():
            mine, theirs = getattr(getattr(reading.scenario, table), usd), getattr(getattr(cli, table), usd)
            assert (mine is None and theirs is None) or mine == pytest.approx(theirs, rel=1e-11), usd
    # the note says the rate and the day, in the words of --currency
    assert f"ECB rate of 2025-04-01 ({rate:.6g} EUR per US dollar)" in reading.conversion
    # and back: the amounts as typed (12 significant digits absorb the rounding of the round trip)
    back = convert_state(eur, "USD")
    assert all(back[k] == base[k] for k in ("hardware.capex", "hardware.host_capex", "operations.electricity_per_kwh"))
    assert back["ton_usd"] == "1.5"


def test_the_answers_in_eur_are_the_usd_answers_times_the_ecb_rate(owned, base, eur, capsys):
    rate = fx_rate(owned.finance.start, "EUR")
    usd = answers.economics(owned, 1.5)
    reading = read_state(eur, base)
    page = answers.economics(reading.scenario, reading.ton_usd, conversion=reading.conversion)
    for key in ("break_even_ton_usd", "break_even_ton_usd_cash", "usd_profit_per_day", "npv_usd"):
        assert page["summary"][key] == pytest.approx(usd["summary"][key] * rate, rel=1e-9), key
    for key in ("monthly_profit_usd", "monthly_cash_profit_usd"):
        assert page[key] == pytest.approx(usd[key] * rate, rel=1e-9), key
    assert page["summary"]["break_even_utilisation"] == pytest.approx(usd["summary"]["break_even_utilisation"],
                                                                      rel=1e-9)
    assert page["summary"]["currency"] == "EUR" and page["notes"][0] == reading.conversion
    # and what breakeven --currency EUR prints for the same price
    cli = _json(capsys, ["breakeven", "--scenario", str(OWNED), "--currency", "EUR", "--ton-usd",
                         repr(reading.ton_usd), "--json"])
    assert cli["break_even_ton_eur"] == pytest.approx(page["summary"]["break_even_ton_usd"], rel=1e-9)
    assert cli["eur_profit_per_day"] == pytest.approx(page["summary"]["usd_profit_per_day"], rel=1e-9)


def test_the_latest_close_in_eur_is_the_ton_eur_close(owned, base):
    reading = read_state(convert_state(base, "EUR"), base)
    econ = answers.economics(reading.scenario)
    day = econ["summary"]["ton_usd_date"]
    closes = daily_closes("ton")
    expected = float(closes.loc[day, "close_usd"]) * fx_rate(day, "EUR")
    assert econ["summary"]["ton_usd"] == pytest.approx(expected, rel=1e-12)
    assert any("EUR per" in n and day in n for n in econ["notes"])


def test_the_simulation_in_eur_is_simulate_currency_eur(base, eur, capsys):
    reading = read_state(eur, base)
    sim = answers.simulation(reading.scenario, "bootstrap", 300, 4, reading.ton_usd)
    cli = _json(capsys, ["simulate", "--scenario", str(OWNED), "--currency", "EUR", "--paths", "300", "--seed", "4",
                         "--start-price", repr(reading.ton_usd), "--json"])
    for name, metrics in _numbers(cli).items():
        for key in ("mean_eur", "p5_eur", "p95_eur", "prob_loss"):
            assert sim["summary"][name][key.replace("eur", "usd")] == pytest.approx(metrics[key], rel=1e-9), (name, key)
    assert any(n.startswith("FX: TON/EUR") for n in sim["notes"])


def test_a_eur_state_survives_the_link_and_the_file(base, eur, tmp_path):
    assert from_query(to_query(eur), base) == eur
    assert "finance.currency=EUR" in to_query(eur)
    reading = read_state(eur, base)
    text = scenario_toml(reading.scenario)
    assert 'currency = "EUR"' in text and "\ncapex = " in text and "capex_usd" not in text
    path = tmp_path / "eur.toml"
    path.write_text(text, encoding="utf-8")
    loaded = load_scenario(path)
    assert loaded.currency == "EUR"
    assert loaded.hardware.capex_usd == reading.scenario.hardware.capex_usd   # the EUR amount, under capex
    # a page started from that file shows it in EUR, under the same keys
    again = state_from_scenario(loaded)
    assert again[CURRENCY_KEY] == "EUR" and again["hardware.capex"] == eur["hardware.capex"]


def test_a_hand_written_currency_link_converts_and_an_old_link_still_reads(base, owned):
    state = from_query("?currency=EUR", base)   # like --currency EUR on the page's scenario
    assert state[CURRENCY_KEY] == "EUR"
    assert float(state["hardware.capex"]) == pytest.approx(owned.hardware.capex_usd * fx_rate(
        owned.finance.start, "EUR"), rel=1e-11)
    old = from_query("?hardware.capex_usd=25000&operations.electricity_usd_per_kwh=0.2", base)   # before issue 17
    reading = read_state(old, base)
    assert reading.errors == {} and reading.scenario.hardware.capex_usd == 25000
    assert reading.scenario.operations.electricity_usd_per_kwh == 0.2


@pytest.mark.parametrize("link", ["?currency=XYZ", "?finance.currency=XYZ", "?finance.currency=",
                                  "?finance.currency=EUR&finance.start=2027-06-01"])
def test_a_bad_currency_in_a_link_is_one_line_at_the_field(base, link):
    reading = read_state(from_query(link, base), base)
    assert list(reading.errors) == [CURRENCY_KEY] and reading.scenario is None
    message = reading.errors[CURRENCY_KEY]
    assert "[finance] currency" in message and "\n" not in message and "Traceback" not in message


def test_the_page_in_eur_names_eur_everywhere(client, base):
    out = client.change(CURRENCY_KEY, "EUR")
    assert "finance.currency=EUR" in _shown(out["sync"], "url", "search")
    capex = float(_shown(out["sync"], FIELD_BY_KEY["hardware.capex"].id, "value"))
    assert capex == pytest.approx(float(base["hardware.capex"]) * fx_rate(base["finance.start"], "EUR"), rel=1e-11)
    _, labels = client.post(FIELD_BY_KEY["hardware.capex"].id + "-label.children", CURRENCY_ID + ".value")
    shown_labels = [v["children"] for v in labels.values()]
    assert "Electricity (EUR/kWh)" in shown_labels and "Capex, all GPUs (EUR)" in shown_labels
    assert "Token price (EUR)" in shown_labels and _money_words(shown_labels) == []
    econ, sim = out["economics"], out["simulation"]
    assert _shown(econ, "kpi-be-price")["props"]["children"].endswith(" EUR/TON")
    assert _shown(econ, "kpi-monthly")["props"]["children"].endswith(" EUR")
    profit = _shown(econ, "profit-chart", "figure")
    assert profit["layout"]["yaxis"]["title"]["text"] == "profit (EUR per month)"
    assert profit["layout"]["xaxis"]["title"]["text"] == "TON price (EUR per TON)"
    assert "EUR per GPU-hour" in json.dumps(_shown(econ, "provider-chart", "figure")["layout"])
    assert "cumulative net EUR" in json.dumps(_shown(sim, "fan-chart", "figure")["layout"])
    assert "Net EUR" in _shown(sim, "sim-status")
    notes = json.dumps(_shown(econ, "econ-notes"))
    assert "converted at the ECB rate of 2025-04-01" in notes and "EUR per US dollar (ECB, 2025-04-01)" in notes
    shown = {k: v for k, v in {**econ, **sim}.items() if k not in ("econ-results", "sim-results")}
    assert _money_words(shown) == []
    # the downloads: the CSV in EUR, the TOML a EUR scenario
    _, answer = client.post("download-results.data", "download-results-btn.n_clicks")
    rows = list(csv.DictReader(io.StringIO(answer["download-results"]["data"]["content"])))
    by = {(r["section"], r["item"]): r for r in rows}
    assert by["breakeven", "break_even_ton_eur"]["unit"] == "EUR/TON"
    assert float(by["breakeven", "monthly_profit_eur"]["value"]) == \
        float(_shown(econ, "kpi-monthly")["props"]["data-value"])
    assert not [r for r in rows if "usd" in r["item"].replace("usd_pegged", "")]
    assert _money_words([[r["unit"], r["value"]] for r in rows]) == []
    _, answer = client.post("download-scenario.data", "download-scenario-btn.n_clicks")
    assert '[finance]' in answer["download-scenario"]["data"]["content"]
    assert 'currency = "EUR"' in answer["download-scenario"]["data"]["content"]
    # another example keeps the page in EUR (its costs converted the same way)
    client.values[("example", "value")] = "hgx_h100_8x_colo"
    _, sync = client.post("url.search", "example.value")
    assert _shown(sync, CURRENCY_ID, "value") == "EUR"
    hgx = load_scenario(EXAMPLES["hgx_h100_8x_colo"])
    assert float(_shown(sync, FIELD_BY_KEY["hardware.capex"].id, "value")) == pytest.approx(
        hgx.hardware.capex_usd * fx_rate(hgx.finance.start, "EUR"), rel=1e-11)


def test_a_bad_currency_in_the_address_is_said_at_the_field(client):
    client.values[("url", "search")] = "?currency=XYZ"
    _, sync = client.post("url.search", "url.search")
    assert _shown(sync, CURRENCY_ID, "value") == "XYZ"
    _, check = client.post(FIELDS[0].id + "-msg.children", CURRENCY_ID + ".value")
    message = _shown(check, CURRENCY_ID + "-msg")
    assert "not an ECB reference currency" in message and "\n" not in message
    assert "econ-input" not in check


def test_a_currency_without_a_rate_keeps_the_amounts_in_theirs_until_a_good_one(base, owned):
    bad = convert_state(base, "XYZ")   # no rate: the amounts stay, and say which currency they are in
    assert bad["hardware.capex"] == base["hardware.capex"] and bad["fx.amounts_in"] == "USD"
    assert CURRENCY_KEY in read_state(bad, base).errors
    good = convert_state(bad, "EUR")   # converted from USD, not from XYZ
    assert "fx.amounts_in" not in good
    assert float(good["hardware.capex"]) == pytest.approx(owned.hardware.capex_usd * fx_rate(
        owned.finance.start, "EUR"), rel=1e-11)


def test_a_lower_case_currency_in_a_link_is_that_currency(base):
    from analysis.app.callbacks import currency_options

    for link in ("?finance.currency=eur", "?currency=%20eur"):
        state = from_query(link, base)
        assert state[CURRENCY_KEY] == "EUR"
        reading = read_state(state, base)
        assert reading.errors == {} and reading.scenario.currency == "EUR"
        # the dropdown offers it as the known currency, with no "not an ECB currency" entry
        assert not any("not an ECB currency" in str(o["label"]) for o in currency_options(state[CURRENCY_KEY]))
