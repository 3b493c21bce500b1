"""The toolkit's environment variables: one prefix, ``COCOON_ECON_``, with the older names as aliases.

| variable | alias | what |
|---|---|---|
| ``COCOON_ECON_CACHE`` | | the cache folder (default: the user's cache directory) |
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
from collections.abc import Mapping

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
