"""Progress bars for long fetches: shown on a terminal, silent in pipes, CI and tests."""

from __future__ import annotations

from typing import Any


def progress_bar(desc: str, *, total: int | None = None, unit: str = "page", enabled: bool | None = None) -> Any:
    """A :class:`tqdm` bar; ``enabled=None`` shows it only when stderr is a terminal."""
    # The plain text bar, here and not at import (start-up time): tqdm.auto would pick the Jupyter
    # widget inside a notebook and warn where ipywidgets is not installed.
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=unit, disable=None if enabled is None else not enabled,
                leave=False)
