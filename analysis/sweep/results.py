"""A sweep's results on disk, and the summaries drawn from them.

Layout, for ``--out results.parquet``:

- ``results.parquet.parts/`` while the sweep runs: ``manifest.json`` (the grid's fingerprint,
  the seed, the price history's digest) and one ``cell-<index>.parquet`` per finished cell,
  each written atomically (temp file, fsync, rename) the moment the cell finishes, so a killed
  sweep keeps every cell it finished and never a torn file;
- ``results.parquet`` at the end: every part combined (one row per cell x strategy), the
  manifest in the Parquet schema metadata (key ``cocoon_econ.sweep``), written atomically;
  the parts folder is removed after. ``--resume`` reads both and runs only the missing cells.

Columns: ``cell``, one per axis (its dotted key), ``strategy``, the metrics of ``simulate
--json`` (:data:`METRICS`), ``break_even_ton_usd``, ``break_even_utilisation`` (at the start
price), ``start_price_usd`` and the cell's ``seed``. Undefined values (no payback, no
break-even price in a ``usd_pegged`` scenario) are nulls, never NaN or infinity.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import math
import shutil
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from analysis.core.errors import DataError, InputError
from analysis.market.store import atomic_write_bytes, atomic_write_text

if TYPE_CHECKING:  # pyarrow is imported only when a sweep is written or read
    import pyarrow as pa

    from analysis.sweep.grid import Grid

#: What ``simulate --json`` gives per strategy (:func:`analysis.sim.risk.summarise`), same names.
METRICS = ("mean_usd", "p5_usd", "p50_usd", "p95_usd", "prob_loss", "prob_payback", "cvar5_usd",
           "drawdown_p50_usd", "drawdown_p95_usd", "drawdown_worst_usd", "payback_days_p5", "payback_days_p50",
           "payback_days_p95", "paths")
#: What ``breakeven --json`` gives under the same names (at the simulation's start price).
BREAK_EVEN = ("break_even_ton_usd", "break_even_utilisation")
META_KEY = b"cocoon_econ.sweep"
MANIFEST = "manifest.json"
FORMAT = 1


def parts_dir(out: str | Path) -> Path:
    """The folder the finished cells stream into: ``<out>.parts`` beside ``out``."""
    out = Path(out)
    return out.with_name(out.name + ".parts")


def part_path(out: str | Path, cell: int) -> Path:
    return parts_dir(out) / f"cell-{cell:07d}.parquet"


def columns_schema(grid: Grid) -> pa.Schema:
    """The Arrow schema of a grid's rows (without the manifest; :func:`with_manifest` adds it)."""
    import pyarrow as pa

    fields = [pa.field("cell", pa.int64(), nullable=False)]
    fields += [pa.field(key, axis_type(grid.axis_values[key])) for key in grid.axes]
    fields.append(pa.field("strategy", pa.string(), nullable=False))
    fields += [pa.field(m, pa.int64() if m == "paths" else pa.float64()) for m in METRICS]
    fields += [pa.field(b, pa.float64()) for b in BREAK_EVEN]
    fields += [pa.field("start_price_usd", pa.float64()), pa.field("seed", pa.int64())]
    return pa.schema(fields)


def schema_hex(table_schema: pa.Schema) -> str:
    """The schema serialised (Arrow IPC) as hex, for the manifest: a reader rebuilds the columns
    even before any cell has finished."""
    return table_schema.remove_metadata().serialize().to_pybytes().hex()


def with_manifest(table_schema: pa.Schema, manifest: Mapping[str, Any]) -> pa.Schema:
    """``table_schema`` carrying the manifest in its metadata (key :data:`META_KEY`)."""
    return table_schema.with_metadata({META_KEY: json.dumps(manifest, sort_keys=True).encode("utf-8")})


def axis_type(values: Sequence[Any]) -> pa.DataType:
    """One Arrow type for an axis: bool, int64, float64 (mixed int/float), date, else string."""
    import pyarrow as pa

    kinds = {_kind(v) for v in values}
    if kinds == {"bool"}:
        return pa.bool_()
    if kinds == {"int"}:
        return pa.int64()
    if kinds <= {"int", "float"}:
        return pa.float64()
    if kinds == {"date"}:
        return pa.date32()
    return pa.string()   # strings, or a mix such as funding_rate_annual = ["historical", 0.05]


def axis_cell_value(value: Any, arrow_type: pa.DataType) -> Any:
    """``value`` as the column holds it (a mixed axis is kept as text)."""
    import pyarrow as pa

    if arrow_type == pa.string() and not isinstance(value, str):
        return json.dumps(value, default=str)
    if arrow_type == pa.float64():
        return float(value)
    return value


def write_manifest(out: str | Path, manifest: Mapping[str, Any]) -> Path:
    return atomic_write_text(parts_dir(out) / MANIFEST, json.dumps(manifest, indent=1, sort_keys=True))


def read_manifest(out: str | Path) -> dict[str, Any] | None:
    """The manifest of the sweep at ``out`` (its parts folder, else the combined file); None if none."""
    out = Path(out)
    manifest_file = parts_dir(out) / MANIFEST
    if manifest_file.is_file():
        return json.loads(manifest_file.read_text(encoding="utf-8"))
    if out.is_file():
        return _file_manifest(out)
    return None


def write_part(out: str | Path, table_schema: pa.Schema, rows: Sequence[Mapping[str, Any]], cell: int) -> Path:
    """One finished cell's rows, atomically (never a torn file, whatever kills the sweep)."""
    import pyarrow as pa

    table = pa.Table.from_pylist([dict(r) for r in rows], schema=table_schema)
    return atomic_write_bytes(part_path(out, cell), _parquet_bytes(table))


def finished_cells(out: str | Path) -> set[int]:
    """Cells with results at ``out``: in the combined file and in the parts folder."""
    out = Path(out)
    done = set()
    if out.is_file():
        import pyarrow.parquet as pq

        done |= set(pq.read_table(out, columns=["cell"]).column("cell").to_pylist())
    folder = parts_dir(out)
    if folder.is_dir():
        done |= {int(p.stem.split("-")[1]) for p in folder.glob("cell-*.parquet")}
    return done


def combine(out: str | Path, table_schema: pa.Schema, strategies: Sequence[str]) -> int:
    """Write ``out`` from the combined file so far plus every part (sorted by cell, then strategy
    in grid order), atomically; then remove the parts folder. Returns the number of rows."""
    import pyarrow as pa

    out = Path(out)
    tables = _tables(out, table_schema)
    table = pa.concat_tables(tables) if tables else table_schema.empty_table()
    frame = table.to_pandas()
    order = {name: i for i, name in enumerate(strategies)}
    frame = (frame.drop_duplicates(subset=["cell", "strategy"], keep="last")
             .assign(_order=frame["strategy"].map(order))
             .sort_values(["cell", "_order"]).drop(columns="_order"))
    table = pa.Table.from_pandas(frame, schema=table_schema, preserve_index=False)
    atomic_write_bytes(out, _parquet_bytes(table))
    shutil.rmtree(parts_dir(out), ignore_errors=True)
    return table.num_rows


def read_results(path: str | Path) -> pd.DataFrame:
    """A sweep's rows (a combined file, or the parts folder of an unfinished sweep) as a DataFrame.

    ``attrs["sweep"]`` holds the manifest (grid, axes, seed, simulation settings, price history)
    and ``attrs["missing_cells"]`` the cells without results.

    Raises
    ------
    InputError
        ``path`` is missing or is not a sweep's results.
    """
    import pyarrow as pa

    path = Path(path)
    if path.name.endswith(".parts") and path.is_dir():
        path = path.with_name(path.name[: -len(".parts")])
    manifest = read_manifest(path) if path.exists() or parts_dir(path).is_dir() else None
    if manifest is None:
        if not path.exists():
            raise InputError(f"--sweep: no such file {str(path)!r}; give the --out of a `cocoon-econ sweep` run")
        raise InputError(f"--sweep: {str(path)!r} is not the result of `cocoon-econ sweep` (no sweep manifest)")
    table_schema = with_manifest(_schema_from_manifest(manifest), manifest)
    tables = _tables(path, table_schema)
    frame = (pa.concat_tables(tables) if tables else table_schema.empty_table()).to_pandas()
    frame = frame.drop_duplicates(subset=["cell", "strategy"], keep="last")
    order = {name: i for i, name in enumerate(manifest["strategies"])}
    frame = frame.assign(_order=frame["strategy"].map(order)).sort_values(["cell", "_order"]) \
        .drop(columns="_order").reset_index(drop=True)
    frame.attrs["sweep"] = manifest
    frame.attrs["missing_cells"] = sorted(set(range(manifest["cells"])) - set(frame["cell"]))
    return frame


# --------------------------------------------------------------------------- summaries


def pivot(frame: pd.DataFrame, index: str, columns: str, value: str, agg: str = "median") -> pd.DataFrame:
    """``value`` over ``index`` x ``columns`` (``agg`` over the other axes in each square),
    rows and columns in sorted order (strategies in their order of appearance)."""
    table = frame.pivot_table(index=index, columns=columns, values=value, aggfunc=agg, dropna=False, sort=False)
    return table.reindex(index=_levels(frame, index), columns=_levels(frame, columns))


def main_effects(frame: pd.DataFrame, value: str, inputs: Iterable[str]) -> pd.DataFrame:
    """Each input's main effect on ``value``: the mean of ``value`` at each of its levels (over every
    other input), the lowest and highest of those means and their levels, and the swing between.

    What a tornado chart draws; sorted by swing, largest first. On a full product grid this is the
    classic main effect of a factorial design; on explicit cells, the mean over the cells that share
    a level.
    """
    rows = []
    for key in inputs:
        means = frame.groupby(key, sort=False, dropna=False)[value].mean().dropna()
        if means.empty:
            continue
        rows.append({"input": key, "levels": len(means),
                     "low_level": means.idxmin(), "low": float(means.min()),
                     "high_level": means.idxmax(), "high": float(means.max()),
                     "swing": float(means.max() - means.min())})
    out = pd.DataFrame(rows, columns=["input", "levels", "low_level", "low", "high_level", "high", "swing"])
    return out.sort_values("swing", ascending=False, kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------- helpers


def _levels(frame: pd.DataFrame, key: str) -> list[Any]:
    values = list(pd.unique(frame[key].dropna()))
    if key == "strategy":
        return values
    try:
        return sorted(values)
    except TypeError:
        return values


def _tables(out: Path, table_schema: pa.Schema) -> list[pa.Table]:
    import pyarrow.parquet as pq

    tables = []
    sources = ([out] if out.is_file() else []) + sorted(parts_dir(out).glob("cell-*.parquet"))
    for source in sources:
        try:
            table = pq.read_table(source)
        except Exception as exc:  # pyarrow raises several types for a damaged file
            raise DataError(f"{source}: cannot read ({' '.join(str(exc).split())}); delete it and run again "
                            "with --resume") from None
        tables.append(table.select(table_schema.names).cast(table_schema))
    return tables


def _schema_from_manifest(manifest: Mapping[str, Any]) -> pa.Schema:
    import pyarrow as pa

    return pa.ipc.read_schema(pa.py_buffer(bytes.fromhex(manifest["arrow_schema"])))


def _file_manifest(path: Path) -> dict[str, Any] | None:
    import pyarrow.parquet as pq

    try:
        metadata = pq.read_schema(path).metadata or {}
    except Exception as exc:  # not Parquet at all
        raise InputError(f"{path}: not a Parquet file ({' '.join(str(exc).split())}); give a sweep's --out") from None
    raw = metadata.get(META_KEY)
    return None if raw is None else json.loads(raw)


def _parquet_bytes(table: pa.Table) -> bytes:
    import pyarrow.parquet as pq

    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, dt.datetime):
        return "datetime"
    if isinstance(value, dt.date):
        return "date"
    return "other"


def finite_or_none(value: Any) -> float | None:
    """A float, or None for None/NaN/infinity (what the results store for "undefined")."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None
