"""Where the embedded data lives: reference tables, the price snapshot and example scenarios.

The repository keeps ``data/`` at its top level; a wheel ships the same folder inside the
package as ``analysis/data`` (``[tool.setuptools.package-dir]`` in ``pyproject.toml``). Both
are found through :mod:`importlib.resources`, never relative to the working directory:
an installed package reads ``analysis/data``; a source checkout or editable install (where
``analysis/data`` does not exist) reads the repository's ``data/`` beside the package.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def _data_dir() -> Path:
    # A wheel or a regular install: the data are a sub-folder of the package on disk.
    installed = Path(str(resources.files("analysis"))) / "data"
    if (installed / "reference").is_dir():
        return installed
    # A source checkout or an editable install: the repository's top-level data/.
    return Path(__file__).resolve().parents[2] / "data"


#: The embedded data folder (reference/, snapshot/, scenarios/, README.md).
DATA_DIR: Path = _data_dir()
REFERENCE_DIR: Path = DATA_DIR / "reference"
SNAPSHOT_DIR: Path = DATA_DIR / "snapshot"
SCENARIO_DIR: Path = DATA_DIR / "scenarios"


def reference_path(name: str) -> Path:
    """Path of a vendored reference table, e.g. ``reference_path("network_parameters.csv")``."""
    return REFERENCE_DIR / name


def example_scenarios() -> dict[str, Path]:
    """The shipped example scenarios by name (file stem), sorted."""
    return {p.stem: p for p in sorted(SCENARIO_DIR.glob("*.toml"))}
