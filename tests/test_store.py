"""Atomic writes: an interrupted write leaves the previous file byte-identical."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.market import store


def test_atomic_write_replaces_whole_file(tmp_path):
    target = tmp_path / "a" / "b.csv"
    store.atomic_write_text(target, "old\n")
    store.atomic_write_csv(pd.DataFrame({"x": [1, 2]}), target)
    assert target.read_text() == "x\n1\n2\n"
    assert [p.name for p in target.parent.iterdir()] == ["b.csv"]


def test_failed_write_keeps_previous_bytes(tmp_path):
    target = tmp_path / "prices.csv"
    store.atomic_write_text(target, "previous\n")

    class Boom(Exception):
        pass

    # A frame whose serialisation fails half-way stands in for an interrupted fetch.
    bad = pd.DataFrame({"x": [1]})
    bad.to_csv = lambda **kw: (_ for _ in ()).throw(Boom())  # type: ignore[method-assign]
    with pytest.raises(Boom):
        store.atomic_write_csv(bad, target)
    assert target.read_bytes() == b"previous\n"
    assert [p.name for p in tmp_path.iterdir()] == ["prices.csv"]
