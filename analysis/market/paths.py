"""Where the cache lives and the paths of its price files: pure :mod:`pathlib`, no pandas, so the
commands that only read a file or two (``breakeven``) start fast (issue 20).
:mod:`analysis.market.store` re-exports these with the cache's CSV formats and merge rules."""

from __future__ import annotations

import os
from pathlib import Path

CACHE_ENV = "COCOON_ECON_CACHE"


def cache_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """The cache folder: ``override``, else ``$COCOON_ECON_CACHE``, else the user's cache directory.

    The default is ``platformdirs.user_cache_dir("cocoon-econ")`` (``~/.cache/cocoon-econ`` on
    Linux), never a folder inside the installed package.
    """
    if override is not None:
        return Path(override)
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env)
    import platformdirs  # only when no override is given (tests and most runs set one)

    return Path(platformdirs.user_cache_dir("cocoon-econ", appauthor=False))


def price_cache_path(asset: str, source: str, cache: str | os.PathLike[str] | None = None) -> Path:
    """``<cache>/prices/<asset>_<source>.csv``."""
    return cache_dir(cache) / "prices" / f"{asset}_{source}.csv"


def funding_cache_path(source: str, cache: str | os.PathLike[str] | None = None) -> Path:
    """``<cache>/funding/<source>.csv``."""
    return cache_dir(cache) / "funding" / f"{source}.csv"
