"""numba for a CLI process, imported without its BLAS probe (issue 20: start-up).

When numba's numpy support loads (``numba.np.arraymath``, on the first compiled kernel) it checks
whether scipy's BLAS bindings can be loaded (``numba.np.linalg.ensure_blas`` imports
``scipy.linalg.cython_blas``), which imports the whole of ``scipy.linalg``: 0.2-0.3 s of every
process that simulates, for nothing, since no kernel of ours calls BLAS (``np.dot``, ``np.linalg``;
``tests/test_cli_startup.py`` checks the kernels run and scipy.linalg stays unloaded).

This changes numba for the whole process (its ``np.dot`` would then be unavailable to other jitted
code), so only the CLI's own processes do it -- a library user's numba is left as it is. It does
nothing when numba's numpy support or scipy.linalg is already loaded.

When the kernels are built ahead of time (:mod:`analysis.core.compiled`), a simulating process
does not import numba at all (:func:`prepare_kernels`).

:func:`load_pandas_without_arrow` is the same idea for pandas in ``simulate``: pandas imports
pyarrow whenever it is installed (the ``sweep`` extra), about 0.08 s, and a simulation uses no
Arrow type (its string columns are the sources' names, for the notes).
"""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from analysis.core.compiled import KernelSet


def _import_hiding(module: str, hidden: str) -> None:
    """Import ``module`` with ``hidden`` unimportable (an import of it raises ImportError), then unhide
    it; nothing when either is loaded already."""
    if module in sys.modules or hidden in sys.modules:
        return
    sys.modules[hidden] = None  # type: ignore[assignment]
    try:
        importlib.import_module(module)
    finally:
        if hidden in sys.modules and sys.modules[hidden] is None:
            del sys.modules[hidden]


def load_numba_without_blas() -> None:
    """Import numba and its numpy support with ``scipy.linalg`` hidden (the probe runs and finds no BLAS)."""
    _import_hiding("numba.np.arraymath", "scipy.linalg")


#: Every module of kernels, as ``"module:ATTRIBUTE"`` naming its :class:`~analysis.core.compiled.KernelSet`.
KERNEL_HOLDERS = ("analysis.core.numeric:KERNELS", "analysis.sim.kernels:KERNELS")


def kernel_sets() -> list[tuple[str, KernelSet]]:
    """``(holder, KernelSet)`` of every module of kernels."""
    out = []
    for holder in KERNEL_HOLDERS:
        module, _, attribute = holder.partition(":")
        out.append((holder, getattr(importlib.import_module(module), attribute)))
    return out


def prepare_kernels() -> None:
    """Before anything compiled runs: nothing more when every kernel library is built (numba is
    then never imported), else numba without its BLAS probe."""
    if any(kernels.library() is None for _, kernels in kernel_sets()):
        load_numba_without_blas()


def load_pandas_without_arrow() -> None:
    """Import pandas with pyarrow hidden (for this process pandas has no pyarrow: its string columns
    are Python-backed). Nothing when pandas or pyarrow is already loaded. Only ``simulate`` does it:
    a sweep, ``report --sweep`` and the app's downloads may read Parquet."""
    _import_hiding("pandas", "pyarrow")
