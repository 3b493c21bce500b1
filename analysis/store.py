"""Where data lives: committed reference tables and snapshot, and the git-ignored cache.

Every cache write is atomic (temp file in the same folder, fsync, then rename), so an
interrupted or failed fetch leaves the previous file byte-identical.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = PACKAGE_ROOT / "data"
REFERENCE_DIR = DATA_DIR / "reference"
SNAPSHOT_DIR = DATA_DIR / "snapshot"
SCENARIO_DIR = DATA_DIR / "scenarios"
CACHE_ENV = "COCOON_ECON_CACHE"


def cache_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """The cache folder: ``override``, else ``$COCOON_ECON_CACHE``, else ``data/cache``."""
    if override is not None:
        return Path(override)
    env = os.environ.get(CACHE_ENV)
    return Path(env) if env else DATA_DIR / "cache"


def reference_path(name: str) -> Path:
    """Path of a vendored reference table, e.g. ``reference_path("network_parameters.csv")``."""
    return REFERENCE_DIR / name


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically: a temp file beside it, fsync, then rename."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp makes 0600 files; keep the old file's mode, else the usual 0644.
        os.chmod(tmp, target.stat().st_mode & 0o777 if target.exists() else 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Atomically write UTF-8 text (see :func:`atomic_write_bytes`)."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_csv(frame: pd.DataFrame, path: str | os.PathLike[str], *, index: bool = False) -> Path:
    """Atomically write ``frame`` as CSV (LF line endings, UTF-8)."""
    return atomic_write_text(path, frame.to_csv(index=index, lineterminator="\n"))
