"""A client for the app's callbacks: posts the page's real requests (``/_dash-update-component``)
to the app through Flask's test client, as the browser would, and keeps every component's value.

Used by tests/test_app.py (callback-level checks without a browser) and benchmarks/app.py
(server time).
"""

from __future__ import annotations

import json
import time

from analysis.app.layout import widget_value
from analysis.app.state import FIELD_BY_KEY, FIELDS


class Page:
    """The browser's side of the callbacks: the current values of every component."""

    def __init__(self, app, state: dict[str, str]) -> None:
        self.client = app.server.test_client()
        self.map = app.callback_map
        self.values: dict[tuple[str, str], object] = {("url", "search"): "", ("example", "value"): None,
                                                      ("throughput-pick", "value"): None}
        for f in FIELDS:
            self.values[(f.id, "value")] = widget_value(f, state[f.key])
        self.values[("hidden", "data")] = {k: v for k, v in state.items() if k not in FIELD_BY_KEY}
        self.values[("econ-input", "data")] = None
        self.values[("sim-input", "data")] = None

    def _key(self, first_output: str) -> str:
        return next(k for k in self.map if k == first_output or k.startswith(".." + first_output + "..."))

    def post(self, first_output: str, changed: str) -> tuple[float, dict]:
        """Send one callback request as the browser would; returns (seconds, the response)."""
        key = self._key(first_output)
        spec = self.map[key]

        def items(deps):
            return [{"id": d["id"], "property": d["property"], "value": self.values.get((d["id"], d["property"]))}
                    for d in deps]
        if isinstance(spec["output"], list):
            outputs: object = [{"id": o.component_id, "property": o.component_property} for o in spec["output"]]
        else:  # one output: its id and property, as in the key
            cid, prop = key.rsplit(".", 1)
            outputs = {"id": cid, "property": prop}
        body = {"output": key, "outputs": outputs, "inputs": items(spec["inputs"]), "state": items(spec["state"]),
                "changedPropIds": [changed]}
        start = time.perf_counter()
        response = self.client.post("/_dash-update-component", data=json.dumps(body),
                                    content_type="application/json")
        elapsed = time.perf_counter() - start
        if response.status_code == 204:  # every output unchanged
            return elapsed, {}
        assert response.status_code == 200, response.get_data(as_text=True)[:500]
        answer = response.get_json()["response"]
        for cid, props in answer.items():
            for prop, value in props.items():
                self.values[(cid, prop)] = value
        return elapsed, answer

    def type(self, key: str, text: str) -> str:
        """Set an input's text (as typing does); returns the changed prop id."""
        f = FIELD_BY_KEY[key]
        self.values[(f.id, "value")] = widget_value(f, text)
        return f.id + ".value"

    def change(self, key: str, text: str) -> dict:
        """Type into an input and run the callbacks that follow in the browser: sync, check and the
        answers whose input changed. Returns every response by first output."""
        changed = self.type(key, text)
        out = {"sync": self.post("url.search", changed)[1], "check": self.post(FIELDS[0].id + "-msg.children",
                                                                                changed)[1]}
        check = out["check"]
        if "econ-input" in check:
            out["economics"] = self.post("kpi-be-price.children", "econ-input.data")[1]
        if "sim-input" in check:
            out["simulation"] = self.post("sim-table.children", "sim-input.data")[1]
        return out
