"""The what-if app in a real browser: headless Chromium (the distribution's) driven by Playwright.

The test starts ``cocoon-econ app --port 0`` in a subprocess (it prints the free port it took),
types inputs, waits for the answers and checks them against the CLI's numbers (``breakeven``,
``simulate --seed``, ``compare`` run on the same scenario), loads the link the page wrote and
checks the restored state, enters bad values and checks the inline messages (and that the
answers keep their last good values), downloads the scenario and the results, and saves a
screenshot in the test's temp folder. Every request the page makes must go to the app itself.

Without Chromium or Playwright the tests skip, except in CI (``CI=true``), where their absence is
a failure (``.ci/run`` installs Chromium).
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import select
import shutil
import subprocess
import sys
import time
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from analysis.app.state import scenario_toml, state_from_scenario
from analysis.cli.commands.economics import util_text
from analysis.cli.main import main
from analysis.core.resources import example_scenarios
from analysis.econ.scenario import load_scenario, scenario_with, to_mapping
from analysis.market.fx import fx_rate

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
WAIT_MS = 60_000   # generous: the machine running the tests may be busy; a pass takes far less
LIGHT = "?sim.paths=300"   # a hand-written link (the rest from the start scenario): a quicker first simulation
OWNED = example_scenarios()["h100_nvl_owned"]


def _need(what: str, hint: str):
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{what} is absent in CI; {hint}")
    pytest.skip(f"{what} is not installed ({hint}); the browser tests need it")


@pytest.fixture(scope="module")
def sync_playwright():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _need("Playwright", "pip install playwright (the test extra)")
    return sync_playwright


@pytest.fixture(scope="module")
def chromium() -> str:
    found = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        _need("Chromium", ".ci/run installs it (apt-get install chromium)")
    return found


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``cocoon-econ app --port 0`` with an empty cache (the shipped data), its URL and its stderr file."""
    tmp = tmp_path_factory.mktemp("app")
    env = {**os.environ, "COCOON_ECON_CACHE": str(tmp / "cache")}
    stderr = open(tmp / "server-stderr.txt", "w+", encoding="utf-8")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen([sys.executable, "-m", "analysis", "app", "--port", "0"], stdout=subprocess.PIPE,
                            stderr=stderr, text=True, env=env)
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 90)
        line = proc.stdout.readline() if ready else ""
        found = re.search(r"http://127\.0\.0\.1:\d+/", line)
        if found is None:
            stderr.seek(0)
            pytest.fail(f"the app did not start: {line!r} {stderr.read()[-2000:]}")
        yield {"url": found.group(0), "stderr": tmp / "server-stderr.txt", "cache": tmp / "cache"}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        stderr.close()


@pytest.fixture(scope="module")
def browser(sync_playwright, chromium, server):
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def requests_seen():
    return []


@pytest.fixture(scope="module")
def context(browser):
    """One browser context for the tests' pages: Dash's and Plotly's bundles load once (cached)."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context, requests_seen):
    pg = context.new_page()
    errors: list[str] = []
    pg.on("request", lambda r: requests_seen.append(r.url))
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    yield pg
    pg.close()
    assert errors == [], f"browser errors: {errors[:5]}"


def _open(page, url):
    page.goto(url)
    # the link has been read into the inputs (and the whole state written back into the address)
    page.wait_for_function("() => location.search.includes('network.name=')", timeout=WAIT_MS)
    page.wait_for_selector("#kpi-be-price span[data-value]", timeout=WAIT_MS)
    page.wait_for_selector("#sim-row-hold", timeout=WAIT_MS)


def _value(page, selector) -> str:
    return page.get_attribute(selector + " [data-value]", "data-value")


def _wait_value(page, selector, expected: str):
    page.wait_for_function(
        "([s, v]) => { const e = document.querySelector(s + ' [data-value]'); return e && e.dataset.value === v; }",
        arg=[selector, expected], timeout=WAIT_MS)


def _type(page, key: str, text: str):
    page.fill("#f-" + key.replace(".", "-").replace("_", "-"), text)


def _cli_json(argv, cache: Path, monkeypatch) -> dict:
    monkeypatch.setenv("COCOON_ECON_CACHE", str(cache))
    out = io.StringIO()
    with redirect_stdout(out):
        assert main([*argv, "--json"]) == 0
    return json.loads(out.getvalue())


def _num(value) -> str:
    return "" if value is None else repr(value)


def test_typed_inputs_give_the_cli_numbers(page, server, tmp_path, monkeypatch):
    _open(page, server["url"] + LIGHT)
    typed = {"workload.utilisation": "0.7", "operations.electricity_per_kwh": "0.12", "hardware.gpus": "2",
             "ton_usd": "1.5", "sim.paths": "500", "sim.seed": "42"}
    for key, text in typed.items():
        _type(page, key, text)
    # what the CLI says about the same scenario (written by hand here, not by the page)
    expected = scenario_with(load_scenario(OWNED), {"workload.utilisation": 0.7, "hardware.gpus": 2,
                                                    "operations.electricity_usd_per_kwh": 0.12})
    path = tmp_path / "typed.toml"
    path.write_text(scenario_toml(expected), encoding="utf-8")
    be = _cli_json(["breakeven", "--scenario", str(path), "--ton-usd", "1.5"], server["cache"], monkeypatch)
    sim = _cli_json(["simulate", "--scenario", str(path), "--paths", "500", "--seed", "42", "--start-price", "1.5"],
                    server["cache"], monkeypatch)
    cmp = _cli_json(["compare", "--scenario", str(path), "--ton-usd", "1.5"], server["cache"], monkeypatch)

    _wait_value(page, "#kpi-be-util", repr(be["break_even_utilisation"]))
    for kpi, key in (("#kpi-be-price", "break_even_ton_usd"), ("#kpi-be-price-cash", "break_even_ton_usd_cash"),
                     ("#kpi-be-util-cash", "break_even_utilisation_cash"), ("#kpi-payback", "payback_days"),
                     ("#kpi-npv", "npv_usd")):
        assert _value(page, kpi) == _num(be[key]), kpi
    assert float(_value(page, "#kpi-monthly")) == pytest.approx(be["usd_profit_per_day"] * 365 / 12, rel=1e-12)
    assert page.inner_text("#kpi-be-price") == f"{be['break_even_ton_usd']:,.4f} USD/TON"
    assert page.inner_text("#kpi-be-util") == util_text(be["break_even_utilisation"])  # the CLI's wording

    _wait_value(page, "#sim-row-sell_on_payout .mean_usd", repr(sim["sell_on_payout"]["mean_usd"]))
    for name, metrics in sim.items():
        for key in ("mean_usd", "p5_usd", "p50_usd", "p95_usd", "prob_loss", "cvar5_usd", "drawdown_p95_usd"):
            assert _value(page, f"#sim-row-{name} .{key}") == _num(metrics[key]), (name, key)
    assert page.inner_text("#sim-row-hold .mean_usd") == f"{sim['hold']['mean_usd']:,.0f}"

    beat = cmp["provider"]["break_even"]
    assert float(_value(page, "#provider-network")) == cmp["provider"]["network_usd_per_gpu_hour"]
    if beat is None:  # no rental prices on record for this GPU: the page says so, as compare does
        assert "no rental prices on record" in page.inner_text("#provider-summary")
    else:
        assert _value(page, "#provider-beat") == _num(beat["token_usd_to_beat"])

    # "download scenario": the TOML reproduces the page with the CLI; "download results": the numbers
    with page.expect_download() as download:
        page.click("#download-scenario-btn")
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.suffix == ".toml"
    assert to_mapping(load_scenario(saved)) == to_mapping(expected)
    text = saved.read_text(encoding="utf-8")
    assert "--ton-usd 1.5" in text and "--seed 42" in text and "--paths 500" in text
    with page.expect_download() as download:
        page.click("#download-results-btn")
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8"))))
    by = {(r["section"], r["item"]): r["value"] for r in rows}
    assert float(by["breakeven", "break_even_ton_usd"]) == be["break_even_ton_usd"]
    assert float(by["strategy hold", "mean_usd"]) == sim["hold"]["mean_usd"]

    shot = tmp_path / "app.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 50_000
    print(f"screenshot: {shot}")


def test_the_link_restores_the_state(page, browser, server, requests_seen, tmp_path, monkeypatch):
    _open(page, server["url"] + LIGHT)
    _type(page, "workload.utilisation", "0.65")
    _type(page, "hardware.capex", "25000")
    page.wait_for_function("() => location.search.includes('hardware.capex=25000')", timeout=WAIT_MS)
    page.wait_for_function("() => location.search.includes('workload.utilisation=0.65')", timeout=WAIT_MS)
    link = page.url
    path = tmp_path / "linked.toml"
    path.write_text(scenario_toml(scenario_with(load_scenario(OWNED), {"workload.utilisation": 0.65,
                                                                       "hardware.capex_usd": 25000})), encoding="utf-8")
    be = _cli_json(["breakeven", "--scenario", str(path)], server["cache"], monkeypatch)
    _wait_value(page, "#kpi-be-util", repr(be["break_even_utilisation"]))  # the answers for the link's state

    other = browser.new_context(viewport={"width": 1400, "height": 1000})  # another user: nothing shared
    try:
        shared = other.new_page()
        shared.on("request", lambda r: requests_seen.append(r.url))
        _open(shared, link)
        assert shared.input_value("#f-workload-utilisation") == "0.65"
        assert shared.input_value("#f-hardware-capex") == "25000"
        _wait_value(shared, "#kpi-be-util", _value(page, "#kpi-be-util"))
        assert _value(shared, "#kpi-be-price") == _value(page, "#kpi-be-price")
        assert _value(shared, "#sim-row-hold .mean_usd") == _value(page, "#sim-row-hold .mean_usd")
        shared.reload()
        shared.wait_for_selector("#kpi-be-util span[data-value]", timeout=WAIT_MS)
        assert shared.input_value("#f-workload-utilisation") == "0.65"
        _wait_value(shared, "#kpi-be-util", _value(page, "#kpi-be-util"))
    finally:
        other.close()


def test_bad_values_are_marked_at_the_field_and_the_answers_stay(page, server, tmp_path, monkeypatch):
    _open(page, server["url"] + LIGHT)
    good = _value(page, "#kpi-be-price")
    npv = _value(page, "#kpi-npv")
    for key, text, words in (("hardware.capex", "-100", "out of range"),
                             ("hardware.gpus", "abc", "not a number"),
                             ("workload.utilisation", "1.5", "out of range"),
                             ("operations.pue", "", "empty")):
        _type(page, key, text)
        msg = "#f-" + key.replace(".", "-").replace("_", "-") + "-msg"
        page.wait_for_function("([s, w]) => document.querySelector(s).innerText.includes(w)", arg=[msg, words],
                               timeout=WAIT_MS)
    assert "need fixing" in page.inner_text("#general-msg")
    time.sleep(0.8)  # a wrongly sent answer would have arrived by now
    assert _value(page, "#kpi-be-price") == good
    page.check("#f-utilisation-source input[value=observed]")  # still answers nothing: other fields are bad
    page.wait_for_function("() => location.search.includes('utilisation_source=observed')", timeout=WAIT_MS)
    assert _value(page, "#kpi-be-price") == good
    page.check("#f-utilisation-source input[value=number]")
    start = state_from_scenario(load_scenario(OWNED))  # the values the page started with
    for key in ("hardware.capex", "workload.utilisation", "operations.pue"):
        _type(page, key, start[key])
    _type(page, "hardware.gpus", "3")
    page.wait_for_function("() => document.querySelector('#general-msg').innerText === ''", timeout=WAIT_MS)
    # fixed, with three GPUs: the answers move again, to the CLI's numbers (capex is for all the GPUs)
    path = tmp_path / "three.toml"
    path.write_text(scenario_toml(scenario_with(load_scenario(OWNED), {"hardware.gpus": 3})), encoding="utf-8")
    be = _cli_json(["breakeven", "--scenario", str(path)], server["cache"], monkeypatch)
    _wait_value(page, "#kpi-be-price", repr(be["break_even_ton_usd"]))
    assert _value(page, "#kpi-npv") == repr(be["npv_usd"]) != npv
    # utilisation "observed": the network's paid demand, as breakeven --utilisation observed reads it
    observed = _cli_json(["breakeven", "--scenario", str(path), "--utilisation", "observed"], server["cache"],
                         monkeypatch)
    page.check("#f-utilisation-source input[value=observed]")
    _wait_value(page, "#kpi-npv", repr(observed["npv_usd"]))
    assert _value(page, "#kpi-be-util") == _num(observed["break_even_utilisation"])
    assert "utilisation observed on COCOON" in page.inner_text("#econ-notes")
    assert page.inner_text("#f-hardware-gpus-msg") == ""


def test_the_page_in_eur(page, server, tmp_path, monkeypatch):
    _open(page, server["url"] + LIGHT)
    _type(page, "ton_usd", "1.5")
    page.wait_for_function("() => location.search.includes('ton_usd=1.5')", timeout=WAIT_MS)
    page.click("#f-finance-currency")
    page.get_by_role("option", name="EUR (euro)").click()
    page.wait_for_function("() => location.search.includes('finance.currency=EUR')", timeout=WAIT_MS)
    # the CLI on the same scenario in EUR: --currency EUR converts its costs at the start day's rate,
    # and the page converted the typed price at that rate too
    start = load_scenario(OWNED).finance.start
    price = float(page.input_value("#f-ton-usd"))
    assert price == pytest.approx(1.5 * fx_rate(start, "EUR"), rel=1e-11)
    be = _cli_json(["breakeven", "--scenario", str(OWNED), "--currency", "EUR", "--ton-usd", repr(price)],
                   server["cache"], monkeypatch)
    page.wait_for_function("() => document.querySelector('#kpi-be-price').innerText.endsWith('EUR/TON')",
                           timeout=WAIT_MS)
    assert float(_value(page, "#kpi-be-price")) == pytest.approx(be["break_even_ton_eur"], rel=1e-9)
    assert float(_value(page, "#kpi-monthly")) == pytest.approx(be["eur_profit_per_day"] * 365 / 12, rel=1e-9)
    assert page.inner_text("#kpi-monthly").endswith(" EUR")
    assert page.inner_text("label[for=f-operations-electricity-per-kwh]") == "Electricity (EUR/kWh)"
    page.wait_for_function("() => [...document.querySelectorAll('#profit-chart .ytitle')]"
                           ".some(e => e.textContent === 'profit (EUR per month)')", timeout=WAIT_MS)
    page.wait_for_function("() => document.querySelector('#sim-status').innerText.includes('Net EUR')",
                           timeout=WAIT_MS)
    assert "converted at the ECB rate of" in page.inner_text("#econ-notes")
    assert "USD/TON" not in page.inner_text("main") and " USD per" not in page.inner_text("main")
    # the link reproduces it
    link = page.url
    assert "finance.currency=EUR" in link
    _open(page, link)
    assert page.inner_text("#kpi-be-price").endswith("EUR/TON")
    # a bad currency in the address: one line at the field, no crash
    page.goto(server["url"] + "?currency=XYZ")
    page.wait_for_function("() => { const e = document.querySelector('#f-finance-currency-msg');"
                           " return e && e.innerText.includes('XYZ'); }", timeout=WAIT_MS)
    message = page.inner_text("#f-finance-currency-msg")
    assert "not an ECB reference currency" in message and "\n" not in message.strip()


def test_the_server_logged_no_traceback_and_the_page_fetched_nothing_else(server, requests_seen):
    assert requests_seen, "no page was loaded"
    outside = [u for u in requests_seen if not u.startswith(server["url"]) and not u.startswith(("data:", "blob:"))]
    assert outside == [], outside[:5]
    log = server["stderr"].read_text(encoding="utf-8")
    assert "Traceback" not in log and "Exception on" not in log, log[-3000:]
