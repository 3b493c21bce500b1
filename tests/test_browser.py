"""The report in a real browser: headless Chromium renders every chart, logs no JavaScript error
and fetches nothing from the network.

Chromium runs from the command line (``--dump-dom``, ``--screenshot``, ``--log-net-log``); the
screenshot is saved in the test's temp folder. Without Chromium the test skips, except in CI
(``CI=true``), where ``.ci/run`` installs it and its absence is a failure.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser

import pytest

from analysis.report import build_report

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def _find_chromium() -> str | None:
    if os.environ.get("CHROMIUM"):
        return shutil.which(os.environ["CHROMIUM"])
    return next((found for name in CANDIDATES if (found := shutil.which(name))), None)


@pytest.fixture(scope="module")
def chromium() -> str:
    path = _find_chromium()
    if path is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("Chromium is absent in CI; .ci/run installs it (apt-get install chromium)")
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium); the browser check needs it")
    return path


class _PlotDivs(HTMLParser):
    """For every plotly graph div: its classes, the classes inside it and its text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.plots: list[dict] = []
        self._depth = 0          # open <div>s inside the current graph div (0: not in one)

    def handle_starttag(self, tag, attrs):
        classes = (dict(attrs).get("class") or "").split()
        if self._depth:
            self.plots[-1]["inner"].update(classes)
            if tag == "div":
                self._depth += 1
        elif tag == "div" and "plotly-graph-div" in classes:
            self.plots.append({"classes": set(classes), "inner": set(), "text": ""})
            self._depth = 1

    def handle_endtag(self, tag):
        if self._depth and tag == "div":
            self._depth -= 1

    def handle_data(self, data):
        if self._depth:
            self.plots[-1]["text"] += data


@pytest.fixture(scope="module")
def rendered(chromium, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("browser")
    with pytest.MonkeyPatch.context() as mp:  # the embedded data, whatever this machine has fetched
        mp.setenv("COCOON_ECON_CACHE", str(tmp / "empty-cache"))
        report = build_report(tmp / "report.html")
    screenshot, netlog = tmp / "report.png", tmp / "netlog.json"
    cmd = [
        chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-extensions", "--mute-audio", f"--user-data-dir={tmp / 'profile'}",
        "--enable-logging=stderr", "--v=0",
        "--host-resolver-rules=MAP * ~NOTFOUND",    # offline: any name lookup fails
        f"--log-net-log={netlog}",
        "--virtual-time-budget=10000", "--window-size=1400,4000",
        f"--screenshot={screenshot}", "--dump-dom", report.resolve().as_uri(),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180, cwd=tmp)
    return {"report": report, "proc": proc, "screenshot": screenshot, "netlog": netlog,
            "source": report.read_text(encoding="utf-8")}


def test_chromium_ran(rendered):
    proc = rendered["proc"]
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "</html>" in proc.stdout


def test_no_javascript_errors_or_console_messages(rendered):
    stderr = rendered["proc"].stderr
    console = [line for line in stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line]
    assert console == [], "browser console:\n" + "\n".join(console[:20])


def test_every_chart_drew(rendered):
    expected = rendered["source"].count('class="plotly-graph-div"')
    assert expected >= 3
    parser = _PlotDivs()
    parser.feed(rendered["proc"].stdout)
    assert len(parser.plots) == expected
    titles = re.findall(r'"title":\{"text":"((?:[^"\\]|\\.)*)"', rendered["source"])
    for i, plot in enumerate(parser.plots):
        assert "js-plotly-plot" in plot["classes"], f"figure {i + 1}: Plotly never initialised it"
        assert "main-svg" in plot["inner"], f"figure {i + 1}: no SVG drawn"
        drawn = {c for c in plot["inner"] if c.startswith("trace") or c in {"hm", "contour", "cbfill"}}
        assert drawn, f"figure {i + 1}: axes drawn but no trace"
        assert plot["text"].strip(), f"figure {i + 1}: no title or tick labels"
    shown = " ".join(p["text"] for p in parser.plots)
    for title in titles:
        text = json.loads(f'"{title}"')
        if "<" not in text:  # titles with markup are split across elements
            assert text in shown, f"title {text!r} not rendered"


def test_nothing_fetched_from_the_network(rendered):
    log = json.loads(rendered["netlog"].read_text(encoding="utf-8"))
    names = {v: k for k, v in log["constants"]["logEventTypes"].items()}
    page_requests = [
        e["params"]["url"] for e in log["events"]
        if names.get(e["type"]) == "URL_REQUEST_START_JOB"
        and "file://" in str(e["params"].get("network_isolation_key", ""))
        and not e["params"].get("url", "").startswith(("file:", "data:", "blob:"))
    ]
    assert page_requests == [], f"the report requested {page_requests[:5]}"


def test_screenshot_saved(rendered):
    shot = rendered["screenshot"]
    assert shot.is_file() and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 50_000  # a blank page compresses to a few kB
    print(f"screenshot: {shot}")
