"""The canonical GPU names used across the toolkit (scenarios, rental rates, comparisons).

A plain tuple of canonical names plus an alias map, so every module spells a GPU the
same way. :func:`canonical_gpu` turns a user's or an API's spelling into the canonical
name (or ``None`` when it is not one we know).
"""

from __future__ import annotations

import re

#: Canonical GPU names, datacenter first.
GPUS: tuple[str, ...] = (
    "H100-SXM",
    "H100-PCIe",
    "H100-NVL",
    "H200",
    "H200-NVL",
    "B200",
    "A100-80GB",
    "A100-40GB",
    "L40S",
    "RTX-4090",
)

#: The same tuple under the name the rental-rates code uses (analysis/gpu_names.py).
CANONICAL_GPUS = GPUS

#: GPUs that can serve COCOON: "H100 or newer with Confidential Computing; RTX not
#: supported; H200 NVL tested" (TelegramMessenger/cocoon docs/gpu.md, row ``min_gpu``
#: of data/reference/network_parameters.csv).
COCOON_GPUS: tuple[str, ...] = ("H100-SXM", "H100-PCIe", "H100-NVL", "H200", "H200-NVL", "B200")

#: Other spellings -> canonical name. Keys are normalised with :func:`_key`
#: (upper case, runs of spaces/underscores/dashes become one dash).
GPU_ALIASES: dict[str, str] = {
    "H100": "H100-SXM",
    "H100-SXM5": "H100-SXM",
    "H100-SXM5-80GB": "H100-SXM",
    "H100-SXM-80GB": "H100-SXM",
    "H100-80GB-HBM3": "H100-SXM",
    "H100SXM": "H100-SXM",
    "H100-PCIE-80GB": "H100-PCIe",
    "H100PCIE": "H100-PCIe",
    "H100-NVL-94GB": "H100-NVL",
    "H100NVL": "H100-NVL",
    "H200-SXM": "H200",
    "H200-SXM5": "H200",
    "H200-141GB": "H200",
    "H200NVL": "H200-NVL",
    "B200-SXM": "B200",
    "B200-180GB": "B200",
    "A100-SXM4-80GB": "A100-80GB",
    "A100-PCIE-80GB": "A100-80GB",
    "A100-80G": "A100-80GB",
    "A100-SXM4-40GB": "A100-40GB",
    "A100-PCIE-40GB": "A100-40GB",
    "A100-40G": "A100-40GB",
    "A100": "A100-80GB",
    "L40S-48GB": "L40S",
    "RTX4090": "RTX-4090",
    "4090": "RTX-4090",
    "GEFORCE-RTX-4090": "RTX-4090",
}


def _key(name: str) -> str:
    return re.sub(r"[\s_\-]+", "-", name.strip()).upper()


_CANONICAL_BY_KEY = {_key(g): g for g in GPUS}


def canonical_gpu(name: str) -> str | None:
    """The canonical name of ``name`` (any case, spaces/underscores/dashes), else ``None``.

    >>> canonical_gpu("h100 sxm5")
    'H100-SXM'
    >>> canonical_gpu("RTX 4090")
    'RTX-4090'
    """
    key = _key(name)
    if key in _CANONICAL_BY_KEY:
        return _CANONICAL_BY_KEY[key]
    alias = GPU_ALIASES.get(key) or GPU_ALIASES.get(key.replace("-", ""))
    return alias
