"""Sensitivity sweeps: a grid of scenario variants, each simulated, run on Dask.

- :mod:`analysis.sweep.grid` reads and validates ``GRID.toml`` (a base scenario, axes of dotted
  scenario fields or explicit ``[[cells]]``, the ``[simulation]`` settings) -- every cell is
  checked before anything runs;
- :mod:`analysis.sweep.run` runs each cell's :func:`analysis.sim.simulation.simulate` with its own
  seed on a plain in-process loop, a ``dask.distributed`` ``LocalCluster`` or an existing
  scheduler, streaming each finished cell to Parquet;
- :mod:`analysis.sweep.results` holds the Parquet layout (per-cell part files, the combined
  file, the manifest that ``--resume`` checks) and the summaries the report draws (heat-map
  pivots, main effects for the tornado chart).

``dask`` and ``pyarrow`` (the ``sweep`` extra) are imported only when a sweep runs or is read.
"""
