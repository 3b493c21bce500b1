"""``GRID.toml``: the scenario variants of a sweep, parsed and validated before anything runs.

A grid names a base scenario and either ``[axes]`` (their product is the grid; the last axis
varies fastest) or ``[[cells]]`` tables listing explicit cells; keys are dotted scenario
fields (``table.key``)::

    scenario = "h200_single.toml"       # relative to the grid file, else a shipped example
    [axes]
    "operations.electricity_usd_per_kwh" = [0.05, 0.10, 0.20]
    "workload.utilisation" = [0.05, 0.3, 0.6]
    [simulation]
    method = "gbm"
    paths = 10000
    horizon_days = 365
    strategies = ["hold", "sell_on_payout", "perp_hedge"]
    seed = 1

Each cell is the base scenario with its values replaced and validated like a scenario file;
a bad cell is one :class:`~analysis.core.errors.InputError` line naming the grid, the cell,
its values and the field. Cell ``i`` runs with the seed :func:`cell_seed` ``(seed, i)``, so
its numbers do not depend on where, in which order or beside what it runs.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import hashlib
import itertools
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from analysis.core.errors import InputError
from analysis.core.resources import SCENARIO_DIR
from analysis.core.tomlfile import read_toml
from analysis.econ.scenario import Scenario, load_scenario, scenario_with, to_mapping
from analysis.sim.paths import METHODS
from analysis.sim.simulation import OPTION_VOL_SOURCES
from analysis.sim.strategies import STRATEGY_NAMES

TOP_KEYS = ("name", "description", "scenario", "axes", "cells", "simulation")
SIMULATION_KEYS = ("method", "paths", "horizon_days", "strategies", "seed", "start_price", "window_days",
                   "drift", "drift_annual", "vol_annual", "option_vol", "same_paths")
DRIFTS = ("zero", "historical")
#: The tables of a scenario whose fields an axis may name (``table.key``).
SCENARIO_TABLES = ("network", "pricing", "hardware", "workload", "operations", "finance", "treasury")
#: More cells than this is almost surely a typo (a 10-axis product); the message says how to go on.
MAX_CELLS = 1_000_000
MAX_GRID_BYTES = 16 * 1024 * 1024   # room for many [[cells]]; a larger file is a mistake


@dataclass(frozen=True)
class SimulationConfig:
    """``[simulation]``: the arguments every cell's :func:`~analysis.sim.simulation.simulate` gets.

    Defaults are those of ``cocoon-econ simulate``: ``bootstrap``, 2,000 paths, the scenario's
    ``[finance] horizon_days``, every strategy, the latest close, zero drift (``drift``:
    ``"zero"``, ``"historical"`` or a number per year; ``drift_annual`` is that number) and the
    fitted volatility.
    ``seed`` None: fresh entropy, drawn when the sweep starts and kept in its results.
    ``same_paths``: every cell on the same price paths (the grid seed itself; common random
    numbers), so differences between cells are the inputs' alone, not sampling noise; default
    off: cell ``i`` draws its own paths (:func:`cell_seed`).
    """

    method: str = "bootstrap"
    paths: int = 2000
    horizon_days: int | None = None
    strategies: tuple[str, ...] = STRATEGY_NAMES
    seed: int | None = None
    start_price: float | None = None
    window_days: int | None = None
    drift: str | float = "zero"
    drift_annual: float | None = None
    vol_annual: float | None = None
    option_vol: str = "realised"
    same_paths: bool = False


@dataclass(frozen=True)
class Cell:
    """One variant: ``values`` holds every axis of the grid (the base value where the cell does
    not set it), ``changes`` only what the cell sets."""

    index: int
    changes: Mapping[str, Any]
    values: Mapping[str, Any]
    scenario: Scenario

    def label(self) -> str:
        """``key = value, ...`` of every axis, for messages."""
        return ", ".join(f"{k} = {_show(v)}" for k, v in self.values.items()) or "the base scenario"


@dataclass(frozen=True)
class Grid:
    """A validated grid: the base scenario, the axes (dotted keys, file order) and every cell."""

    path: Path
    name: str
    description: str
    base: Scenario
    axes: tuple[str, ...]
    axis_values: Mapping[str, tuple[Any, ...]]   # the values each axis takes, in order of appearance
    cells: tuple[Cell, ...]
    simulation: SimulationConfig
    mode: str                                    # "product" or "cells"

    def fingerprint(self) -> str:
        """A digest of everything that decides the numbers (base scenario, cells, simulation),
        so ``--resume`` refuses to complete a sweep with a different grid."""
        blob = {"base": to_mapping(self.base), "cells": [dict(c.changes) for c in self.cells],
                "simulation": dataclasses.asdict(self.simulation)}
        text = json.dumps(blob, sort_keys=True, default=_json_value)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


def cell_seed(grid_seed: int, index: int) -> int:
    """The seed of cell ``index``: the ``index``-th child of ``SeedSequence(grid_seed)`` (its
    ``spawn_key``), reduced to a non-negative 63-bit integer -- what ``simulate --seed`` takes,
    so one cell can be re-run alone."""
    child = np.random.SeedSequence(int(grid_seed), spawn_key=(int(index),))
    return int(child.generate_state(1, dtype=np.uint64)[0]) & (2**63 - 1)


def load_grid(path: str | Path) -> Grid:
    """Read and validate a grid TOML file (every cell's scenario included).

    Raises
    ------
    InputError
        One line naming the grid file, the cell (index and values) and the field, with the fix.
    """
    path = Path(path)
    mapping = read_toml(path, flag="--grid", kind="grid", examples="an example is in docs/sweeps.md",
                        max_bytes=MAX_GRID_BYTES, size_hint="axes of values, or [[cells]] tables")
    return parse_grid(mapping, path)


def parse_grid(mapping: Mapping[str, Any], path: str | Path) -> Grid:
    """Validate a grid given as a mapping (parsed TOML); ``path`` locates the base scenario and
    names the grid in messages."""
    path = Path(path)
    origin = path.name
    _reject_unknown(origin, None, mapping, TOP_KEYS)
    name = mapping.get("name", path.stem)
    description = mapping.get("description", "")
    for key, value in (("name", name), ("description", description)):
        if not isinstance(value, str):
            raise InputError(f'{origin}: {key} = {_show(value)} is not a string; put it in quotes, e.g. {key} = "..."')
    base = load_scenario(_scenario_path(origin, path, mapping.get("scenario")))
    simulation = _parse_simulation(origin, mapping.get("simulation", {}))
    if "axes" in mapping and "cells" in mapping:
        raise InputError(f"{origin}: give either [axes] (a product grid) or [[cells]] (explicit cells), not both")
    if "axes" in mapping:
        mode, changes = "product", _product(origin, mapping["axes"], base)
    elif "cells" in mapping:
        mode, changes = "cells", _explicit(origin, mapping["cells"], base)
    else:
        raise InputError(f'{origin}: no [axes] and no [[cells]]; add e.g. [axes] "workload.utilisation" = [0.3, 0.6]')
    axes = tuple(dict.fromkeys(k for c in changes for k in c))
    base_values = {key: _base_value(base, key) for key in axes}
    cells = []
    for i, cell_changes in enumerate(changes):
        values = {key: cell_changes.get(key, base_values[key]) for key in axes}
        cells.append(_build_cell(origin, base, i, dict(cell_changes), values))
    axis_values = {key: tuple(_unique(c.values[key] for c in cells)) for key in axes}
    return Grid(path=path, name=name, description=description, base=base, axes=axes, axis_values=axis_values,
                cells=tuple(cells), simulation=simulation, mode=mode)


# --------------------------------------------------------------------------- parts


def _scenario_path(origin: str, grid_path: Path, value: Any) -> Path:
    if value is None:
        raise InputError(f'{origin}: scenario is missing; add scenario = "h200_single.toml" (the base scenario, '
                         "relative to the grid file)")
    if not isinstance(value, str) or not value.strip():
        raise InputError(f'{origin}: scenario = {_show(value)} is not a file name; give e.g. scenario = "h200_single.toml"')
    candidate = Path(value).expanduser()
    if not candidate.is_absolute():
        candidate = grid_path.parent / candidate
    if candidate.is_file():
        return candidate
    shipped = SCENARIO_DIR / value
    if Path(value).name == value and shipped.is_file():  # a shipped example by its bare name
        return shipped
    examples = ", ".join(p.name for p in sorted(SCENARIO_DIR.glob("*.toml")))
    raise InputError(f"{origin}: scenario = {_show(value)}: no such file beside the grid ({candidate}); give a path "
                     f"relative to the grid file or a shipped example ({examples})")


def _parse_simulation(origin: str, table: Any) -> SimulationConfig:
    if not isinstance(table, Mapping):
        raise InputError(f"{origin}: simulation must be a table ([simulation]), not {_kind(table)}")
    _reject_unknown(origin, "simulation", table, SIMULATION_KEYS)
    where = f"{origin}: [simulation]"
    out: dict[str, Any] = {}
    if "method" in table:
        if table["method"] not in METHODS:
            raise InputError(f"{where} method = {_show(table['method'])} is not known; use one of {', '.join(METHODS)}")
        out["method"] = table["method"]
    if "drift" in table:
        value = table["drift"]
        if not (value in DRIFTS or (isinstance(value, (int, float)) and not isinstance(value, bool)
                                    and math.isfinite(value))):
            raise InputError(f'{where} drift = {_show(value)} is not valid; use "zero", "historical" or a number '
                             "per year (e.g. 0.2)")
        out["drift"] = value if isinstance(value, str) else float(value)
    if "option_vol" in table:
        if table["option_vol"] not in OPTION_VOL_SOURCES:
            raise InputError(f"{where} option_vol = {_show(table['option_vol'])} is not known; use realised or garch")
        out["option_vol"] = table["option_vol"]
    for key in ("paths", "horizon_days", "window_days"):
        if key in table:
            out[key] = _whole(where, key, table[key], lo=1)
    if "seed" in table:
        out["seed"] = _whole(where, "seed", table["seed"], lo=0)
    if "same_paths" in table:
        if not isinstance(table["same_paths"], bool):
            raise InputError(f"{where} same_paths = {_show(table['same_paths'])} is not valid; use true or false")
        out["same_paths"] = table["same_paths"]
    for key, positive in (("start_price", True), ("vol_annual", False), ("drift_annual", None)):
        if key in table:
            value = table[key]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                    or (positive is True and value <= 0) or (positive is False and value < 0):
                need = {True: "a positive number", False: "a number, 0 or more", None: "a finite number"}[positive]
                raise InputError(f"{where} {key} = {_show(value)} is not valid; use {need}")
            out[key] = float(value)
    if "strategies" in table:
        names = table["strategies"]
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            raise InputError(f'{where} strategies = {_show(names)} is not valid; give a list of names, e.g. '
                             f'["hold", "sell_on_payout"], from {", ".join(STRATEGY_NAMES)}')
        for n in names:
            if n not in STRATEGY_NAMES:
                close = difflib.get_close_matches(n, STRATEGY_NAMES, n=1)
                hint = f"did you mean {close[0]}? " if close else ""
                raise InputError(f"{where} strategies: unknown strategy {_show(n)}; {hint}use some of "
                                 f"{', '.join(STRATEGY_NAMES)}")
        if len(set(names)) != len(names):
            raise InputError(f"{where} strategies lists a strategy twice; list each once")
        out["strategies"] = tuple(names)
    return SimulationConfig(**out)


def _whole(where: str, key: str, value: Any, lo: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < lo:
        raise InputError(f"{where} {key} = {_show(value)} is not valid; use a whole number, at least {lo}")
    return value


def _check_key(origin: str, where: str, key: Any, base: Scenario) -> str:
    """A dotted key must be ``table.field`` of the scenario schema."""
    if not isinstance(key, str) or key.count(".") != 1:
        raise InputError(f"{origin}: {where} key {_show(key)} is not a dotted scenario field; use table.key, "
                         f'e.g. "workload.utilisation" (tables: {", ".join(SCENARIO_TABLES)})')
    table, field = key.split(".")
    if table not in SCENARIO_TABLES:
        close = difflib.get_close_matches(table, SCENARIO_TABLES, n=1)
        hint = f"did you mean {close[0]}.{field}? " if close else ""
        raise InputError(f"{origin}: {where} {_show(key)}: {table!r} is not a scenario table; {hint}"
                         f"use one of {', '.join(SCENARIO_TABLES)}")
    fields = [f.name for f in dataclasses.fields(getattr(base, table))]
    if field not in fields:
        close = difflib.get_close_matches(field, fields, n=1)
        hint = f"did you mean {table}.{close[0]}? " if close else ""
        raise InputError(f"{origin}: {where} {_show(key)}: [{table}] has no field {field!r}; {hint}"
                         f"known: {', '.join(fields)}")
    return key


def _product(origin: str, axes: Any, base: Scenario) -> list[dict[str, Any]]:
    if not isinstance(axes, Mapping):
        raise InputError(f"{origin}: axes must be a table ([axes]), not {_kind(axes)}")
    if not axes:
        raise InputError(f'{origin}: [axes] is empty; add at least one axis, e.g. "workload.utilisation" = [0.3, 0.6]')
    for key, values in axes.items():
        _check_key(origin, "[axes]", key, base)
        if not isinstance(values, list):
            raise InputError(f'{origin}: [axes] "{key}" = {_show(values)} is not a list; give its values in '
                             f'brackets, e.g. "{key}" = [{_show(values)}]')
        if not values:
            raise InputError(f'{origin}: [axes] "{key}" is empty; give it at least one value')
        if len(set(map(_hashable, values))) != len(values):
            raise InputError(f'{origin}: [axes] "{key}" lists a value twice; list each once')
    n = math.prod(len(v) for v in axes.values())
    if n > MAX_CELLS:
        raise InputError(f"{origin}: [axes] make {n:,} cells (more than {MAX_CELLS:,}); split the grid or use fewer values")
    keys = list(axes)
    return [dict(zip(keys, combo)) for combo in itertools.product(*(axes[k] for k in keys))]


def _explicit(origin: str, cells: Any, base: Scenario) -> list[dict[str, Any]]:
    if not isinstance(cells, list) or not all(isinstance(c, Mapping) for c in cells):
        raise InputError(f"{origin}: cells must be tables ([[cells]] with dotted keys), not {_kind(cells)}")
    if not cells:
        raise InputError(f'{origin}: [[cells]] is empty; add at least one cell with e.g. "workload.utilisation" = 0.3')
    out = []
    for i, cell in enumerate(cells):
        for key, value in cell.items():
            _check_key(origin, f"cell {i}", key, base)
            if isinstance(value, (list, Mapping)):
                raise InputError(f'{origin}: cell {i} "{key}" = {_show(value)} is not one value; a cell sets each '
                                 "field to a single value (use [axes] for lists)")
        out.append(dict(cell))
    return out


def _build_cell(origin: str, base: Scenario, index: int, changes: dict[str, Any], values: dict[str, Any]) -> Cell:
    cell = Cell(index=index, changes=changes, values=values, scenario=base)
    named = dataclasses.replace(base, origin=f"{origin}: cell {index} ({cell.label()})")
    scenario = scenario_with(named, changes)  # every field validated as in a scenario file
    return dataclasses.replace(cell, scenario=dataclasses.replace(scenario, origin=base.origin, notes=base.notes))


def _base_value(base: Scenario, key: str) -> Any:
    table, field = key.split(".")
    return getattr(getattr(base, table), field)


def _reject_unknown(origin: str, table: str | None, mapping: Mapping[str, Any], known: Sequence[str]) -> None:
    if not isinstance(mapping, Mapping):
        raise InputError(f"{origin}: a grid must be a table of keys, not {_kind(mapping)}")
    for key in mapping:
        if key not in known:
            close = difflib.get_close_matches(str(key), known, n=1)
            hint = f"did you mean {close[0]}? " if close else ""
            scope = f"in [{table}]" if table else "at the top level"
            raise InputError(f"{origin}: {key} is not a known key {scope}; {hint}known: {', '.join(known)}")


def _unique(values) -> list[Any]:
    seen, out = set(), []
    for v in values:
        h = _hashable(v)
        if h not in seen:
            seen.add(h)
            out.append(v)
    return out


def _hashable(value: Any) -> Any:
    return (type(value).__name__, json.dumps(value, sort_keys=True, default=_json_value))


def _json_value(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def _kind(value: Any) -> str:
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "an array"}.get(
        type(value), "a table" if isinstance(value, Mapping) else f"a {type(value).__name__}")


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value + '"'
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return repr(value)
