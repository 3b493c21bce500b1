"""The canonical GPU names used across the toolkit (scenarios, rental rates, comparisons).

One vocabulary for every layer: a tuple of canonical names plus an alias map.
:func:`gpu_from_alias` turns a user's spelling (a scenario's ``gpu``) into the canonical name;
:func:`canonical_gpu` parses vendors' spellings strictly for rate tables.

Vendors spell the same accelerator many ways: Vast.ai ``"H100 SXM"``, RunPod
``"NVIDIA H100 80GB HBM3"``, the Prime Intellect index ``"H100_80GB_SXM5"``, gpuhunt
``"H100"`` plus an instance name and a memory size, Azure a VM size such as
``Standard_ND96isr_H100_v5``. :func:`canonical_gpu` maps each to one of
:data:`CANONICAL_GPUS`, or to ``None`` when the name is not one of them (or is ambiguous);
such rows are kept with ``gpu`` empty and counted by :func:`warn_unknown_gpus`.
"""

from __future__ import annotations

import re
import warnings
from collections import Counter
from collections.abc import Iterable

from analysis.core.errors import InputError

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

#: Board power (TDP) in watts where data/reference/hardware_and_costs.csv gives it (NVIDIA data
#: sheets): H100 SXM 700, H100 PCIe 350, H100 NVL 400, H200 (SXM) 700, H200 NVL 600 (that table's
#: "H200 TDP" row notes). Scenarios' ``power_kw`` is this plus the GPU's share of the host.
GPU_TDP_W: dict[str, int] = {
    "H100-SXM": 700,
    "H100-PCIe": 350,
    "H100-NVL": 400,
    "H200": 700,
    "H200-NVL": 600,
}

#: Form factor. SXM modules sit only on HGX/DGX baseboards (4 or 8 GPUs per server); PCIe and NVL
#: cards go into ordinary PCIe servers -- a single-GPU COCOON host (one GPU per TDX guest,
#: cocoon docs/gpu.md) uses one of those. "H200" is the SXM part; "H200-NVL" its PCIe card.
GPU_FORM_FACTOR: dict[str, str] = {
    "H100-SXM": "SXM",
    "H100-PCIe": "PCIe",
    "H100-NVL": "PCIe",
    "H200": "SXM",
    "H200-NVL": "PCIe",
    "B200": "SXM",
    "L40S": "PCIe",
    "RTX-4090": "PCIe",
}

#: The same tuple under the name the rental-rates code uses.
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


def gpu_from_alias(name: str) -> str | None:
    """The canonical name of ``name`` (any case, spaces/underscores/dashes), else ``None``.

    >>> gpu_from_alias("h100 sxm5")
    'H100-SXM'
    >>> gpu_from_alias("RTX 4090")
    'RTX-4090'
    """
    key = _key(name)
    if key in _CANONICAL_BY_KEY:
        return _CANONICAL_BY_KEY[key]
    alias = GPU_ALIASES.get(key) or GPU_ALIASES.get(key.replace("-", ""))
    return alias

# Azure VM sizes with their GPU model and count, from the Azure sizes documentation
# (learn.microsoft.com/azure/virtual-machines/sizes, GPU-accelerated families):
# ND H100 v5 = 8x H100 SXM 80 GB; ND H200 v5 = 8x H200 141 GB; NC H100 v5 and NCC H100 v5 =
# H100 NVL 94 GB (one GPU per 40 vCPUs); ND A100 v4 = 8x A100 40 GB SXM; NDm A100 v4 =
# 8x A100 80 GB SXM; NC A100 v4 = A100 80 GB PCIe (one per 24 vCPUs). gpuhunt's Azure provider
# uses the same table (its ``gpu_vm_series``).
AZURE_GPU_SKUS: dict[str, tuple[str, int]] = {
    "Standard_ND96isr_H100_v5": ("H100-SXM", 8),
    "Standard_ND96isr_H200_v5": ("H200", 8),
    "Standard_NC40ads_H100_v5": ("H100-NVL", 1),
    "Standard_NC80adis_H100_v5": ("H100-NVL", 2),
    "Standard_NCC40ads_H100_v5": ("H100-NVL", 1),
    "Standard_ND96asr_v4": ("A100-40GB", 8),
    "Standard_ND96amsr_A100_v4": ("A100-80GB", 8),
    "Standard_NC24ads_A100_v4": ("A100-80GB", 1),
    "Standard_NC48ads_A100_v4": ("A100-80GB", 2),
    "Standard_NC96ads_A100_v4": ("A100-80GB", 4),
}

# gpuhunt calls every H100 80 GB "H100". At these providers every such offer is the SXM board
# (AWS p5, GCP a3, Azure ND H100 v5, OCI BM.GPU.H100.8, Nebius gpu-h100-sxm, Verda/DataCrunch
# H100 SXM5); elsewhere the instance name has to say which.
SXM_ONLY_PROVIDERS = frozenset({"aws", "gcp", "azure", "oci", "nebius", "verda", "datacrunch"})

_NOT_CANONICAL = re.compile(r"G[HB]\d00|B300|A800|H800|H20\b|A100X")


class UnknownGpuWarning(UserWarning):
    """Rows whose GPU name is not one of :data:`CANONICAL_GPUS` were kept with ``gpu`` empty."""


def _squash(name: str) -> str:
    text = name.upper()
    text = re.sub(r"[_\-/(),.]+", " ", text)
    text = re.sub(r"\b(NVIDIA|GEFORCE|TESLA)\b", " ", text)
    return " ".join(text.split())


def canonical_gpu(name: str | None, *, memory_gb: float | None = None, hint: str = "",
                  assume_sxm: bool = False) -> str | None:
    """The canonical name for a vendor's GPU name, or ``None`` if it is not one we track.

    Parameters
    ----------
    name : str
        The vendor's spelling (``"H100 SXM"``, ``"NVIDIA H100 80GB HBM3"``, ``"H100_80GB_SXM5"``,
        ``"A100 PCIE"``, ``"RTX4090"``, ``"h100-sxm"`` ...).
    memory_gb : float, optional
        Memory per GPU in GB; tells A100 40 GB from 80 GB and H100 NVL (94 GB) from H100.
    hint : str
        Other text that may name the form factor (an instance name such as
        ``gpu_1x_h100_pcie``).
    assume_sxm : bool
        Treat an H100 that names no form factor as SXM (see :data:`SXM_ONLY_PROVIDERS`).

    Examples
    --------
    >>> canonical_gpu("NVIDIA H100 80GB HBM3")
    'H100-SXM'
    >>> canonical_gpu("A100 PCIE", memory_gb=40)
    'A100-40GB'
    >>> canonical_gpu("H100") is None  # SXM or PCIe? not said
    True
    """
    if not name or not str(name).strip():
        return None
    exact = {g.upper(): g for g in CANONICAL_GPUS}
    if str(name).strip().upper() in exact:
        return exact[str(name).strip().upper()]
    text = _squash(str(name))
    compact = text.replace(" ", "")
    hint_text = _squash(hint).replace(" ", "") if hint else ""
    if _NOT_CANONICAL.search(compact):
        return None
    if "H200" in compact:
        return "H200-NVL" if "NVL" in compact else "H200"
    if "H100" in compact:
        if "NVL" in compact or (memory_gb is not None and memory_gb >= 90):
            return "H100-NVL"
        if "PCIE" in compact:
            return "H100-PCIe"
        if "SXM" in compact or "HBM3" in compact:
            return "H100-SXM"
        if "PCIE" in hint_text:
            return "H100-PCIe"
        if "SXM" in hint_text or "HBM3" in hint_text or assume_sxm:
            return "H100-SXM"
        return None
    if "B200" in compact:
        return "B200"
    if "A100" in compact:
        size = re.search(r"\b(40|80) ?GB?\b", text)
        if size:
            return f"A100-{size.group(1)}GB"
        if memory_gb is not None:
            return "A100-80GB" if memory_gb >= 60 else "A100-40GB"
        return None
    if re.search(r"\bL40S\b", text) or compact == "L40S":
        return "L40S"
    if re.search(r"RTX ?4090$", text) or compact == "RTX4090":
        return "RTX-4090"
    return None


def validate_gpu(name: str, field: str = "--gpu") -> str:
    """``name`` as a canonical GPU (case-insensitive, vendor spellings accepted).

    Raises
    ------
    InputError
        When it is not one of :data:`CANONICAL_GPUS`; the message lists them.
    """
    gpu = canonical_gpu(name)
    if gpu is None:
        raise InputError(f"{field}: unknown GPU {name!r}; use one of: {', '.join(CANONICAL_GPUS)}")
    return gpu


def warn_unknown_gpus(source: str, names: Iterable[str]) -> Counter:
    """Warn (:class:`UnknownGpuWarning`) about rows kept with an empty ``gpu``; returns the counts."""
    counts = Counter(str(n) for n in names)
    if counts:
        shown = ", ".join(f"{n!r} x{c}" for n, c in counts.most_common(5))
        more = f" and {len(counts) - 5} more names" if len(counts) > 5 else ""
        warnings.warn(f"{source}: {sum(counts.values())} rows have GPU names outside "
                      f"{'/'.join(CANONICAL_GPUS)}; kept with gpu empty ({shown}{more})",
                      UnknownGpuWarning, stacklevel=3)
    return counts
