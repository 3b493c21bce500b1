"""Progress bars for long fetches: shown on a terminal, silent in pipes, CI and tests."""

from __future__ import annotations

from typing import Any


def progress_bar(desc: str, *, total: int | None = None, unit: str = "page", enabled: bool | None = None) -> Any:
    """A :class:`tqdm` bar; ``enabled=None`` shows it only when stderr is a terminal."""
    from tqdm.auto import tqdm  # here, not at import: tqdm.auto pulls in asyncio (start-up time)

    return tqdm(total=total, desc=desc, unit=unit, disable=None if enabled is None else not enabled,
                leave=False)
