"""The toolkit's environment variables: one prefix, ``COCOON_ECON_``, with the older names as aliases.

| variable | alias | what |
|---|---|---|
| ``COCOON_ECON_CACHE`` | | the cache folder (default: the user's cache directory) |
| ``COCOON_ECON_KERNELS`` | | ``auto`` (default: the kernels built ahead of time when there are) or ``numba`` |
| ``COCOON_ECON_KERNELS_DIR`` | | where ``kernels build`` puts the kernels (default: the package's ``__pycache__``) |
| ``COCOON_ECON_SIMULATE_PANDAS`` | | internal (tests, benchmarks): ``1`` makes ``simulate`` read pandas frames always |
| ``COCOON_ECON_OWNER_ADDRESS`` | ``COCOON_OWNER_ADDRESS`` | the worker owner's wallet for ``chain payouts`` and the report |
| ``COCOON_ECON_TONCENTER_API_KEY`` | ``TONCENTER_API_KEY`` | toncenter key (higher rate limit) |
| ``COCOON_ECON_TONAPI_KEY`` | ``TONAPI_KEY`` | tonapi key |
| ``COCOON_ECON_RUNPOD_API_KEY`` | ``RUNPOD_API_KEY`` | RunPod GraphQL key |
| ``COCOON_ECON_VAST_API_KEY`` | ``VAST_API_KEY`` | Vast.ai key |
| ``COCOON_ECON_COINGECKO_DEMO_API_KEY`` | ``COINGECKO_DEMO_API_KEY`` | CoinGecko demo key |
| ``COCOON_ECON_COINGECKO_PRO_API_KEY`` | ``COINGECKO_PRO_API_KEY`` | CoinGecko pro key |

The prefixed name wins when both are set.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

PREFIX = "COCOON_ECON_"

#: Prefixed name -> older names still read (the vendors' own conventions, the first owner variable).
ALIASES: dict[str, tuple[str, ...]] = {
    "COCOON_ECON_OWNER_ADDRESS": ("COCOON_OWNER_ADDRESS",),
    "COCOON_ECON_TONCENTER_API_KEY": ("TONCENTER_API_KEY",),
    "COCOON_ECON_TONAPI_KEY": ("TONAPI_KEY",),
    "COCOON_ECON_RUNPOD_API_KEY": ("RUNPOD_API_KEY",),
    "COCOON_ECON_VAST_API_KEY": ("VAST_API_KEY",),
    "COCOON_ECON_COINGECKO_DEMO_API_KEY": ("COINGECKO_DEMO_API_KEY",),
    "COCOON_ECON_COINGECKO_PRO_API_KEY": ("COINGECKO_PRO_API_KEY",),
}


def env_value(name: str, environ: Mapping[str, str] | None = None) -> str:
    """The value of ``name`` (a ``COCOON_ECON_…`` variable) or of its first set alias, else ``""``."""
    env = os.environ if environ is None else environ
    for var in (name, *ALIASES.get(name, ())):
        value = env.get(var, "")
        if value:
            return value
    return ""


#: Variables whose values are secrets: scrubbed from every message and log line (:func:`scrub_secrets`).
SECRET_VARIABLES = tuple(name for name in ALIASES if name.endswith("_KEY"))
# Shorter values are not scrubbed: replacing "1" or "ab" everywhere would garble messages and hide nothing.
_MIN_SECRET_LEN = 4
_REDACTED = "***"


def secret_values(environ: Mapping[str, str] | None = None) -> set[str]:
    """The values of every configured API key (prefixed names and aliases), for scrubbing."""
    env = os.environ if environ is None else environ
    names = [*SECRET_VARIABLES, *(alias for name in SECRET_VARIABLES for alias in ALIASES[name])]
    return {env[var] for var in names if len(env.get(var, "")) >= _MIN_SECRET_LEN}


def scrub_secrets(text: str, extra: Iterable[str] = ()) -> str:
    """``text`` with every configured key value (and each of ``extra``) replaced by ``***``.

    Longest first, so a key that contains another is scrubbed whole.
    """
    values = {v for v in (*secret_values(), *extra) if v and len(v) >= _MIN_SECRET_LEN}
    for value in sorted(values, key=len, reverse=True):
        text = text.replace(value, _REDACTED)
    return text
