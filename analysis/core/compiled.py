"""The compiled kernels, ahead of time: one shared library per kernel module, loaded with ctypes.

A process that simulates used to import numba (about 0.3 s), build its target context (about
0.3 s more: the numpy lowering registries) and load each kernel from numba's cache, before a
single path was drawn (issue 20: start-up). The kernels are numba functions; ``cocoon-econ
kernels build`` (run by ``make install``) compiles each kernel module once with numba's own
ahead-of-time compiler (``numba.pycc``, for the host CPU and its features) and links it into a
shared library beside the module (``__pycache__/<module>.<key>.so``), :mod:`analysis.core.aot`.
Loading that library with ctypes takes about a millisecond and needs neither numba nor llvmlite.

- The library is machine code of the same numba IR for the same CPU: the same bits as the jitted
  kernel (``tests/test_compiled_kernels.py`` checks every kernel on random input, bit for bit).
- ``key`` is a digest of the module's source (and of the modules it inlines from), the kernels'
  signatures, this file's calling convention and the CPU (its model and flags): an edited module,
  another machine or a changed signature looks for another file; when there is none, the numba
  kernel runs, as before.
- ctypes releases the GIL for the call, as ``nogil=True`` does for the jitted kernel, so the
  simulation's threads still run in parallel.
- An argument the library cannot take (an array that is not C-contiguous, or of another dtype)
  goes to the numba kernel instead, which compiles for whatever it is given.
- ``COCOON_ECON_KERNELS=numba`` never loads a library (to compare, or to debug a kernel);
  ``COCOON_ECON_KERNELS_DIR`` puts the libraries in another folder.

The library is called with numba's own calling convention (``numba.core.callconv.CPUCallConv``):
``int32 f(void *ret, void **excinfo, args...)``, every array argument flattened into its data
model's fields (``numba.core.datamodel.models.ArrayModel``: meminfo, parent, nitems, itemsize,
data, shape..., strides...). A non-zero status is a Python exception the kernel raised (numba's
``ZeroDivisionError`` for a float division by zero, say): its pickled class and arguments are read
from ``excinfo`` and raised here, as numba would raise them.
"""

from __future__ import annotations

import ctypes
import hashlib
import importlib
import importlib.util
import os
import pickle
import platform
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from analysis.core.errors import InputError

__all__ = ["ABI", "KERNELS_DIR_ENV", "KERNELS_ENV", "KernelSet", "array_code", "cpu_signature", "kernels_mode"]

#: Bumped when the calling convention below changes: a library built for another one is not used.
ABI = "numba-cpucallconv-1"
KERNELS_ENV = "COCOON_ECON_KERNELS"
KERNELS_DIR_ENV = "COCOON_ECON_KERNELS_DIR"
_DTYPES = {"f8": np.dtype(np.float64), "i8": np.dtype(np.int64), "b1": np.dtype(np.bool_)}
_SCALARS = {"f8": ctypes.c_double, "i8": ctypes.c_int64}


def array_code(code: str) -> tuple[str, int] | None:
    """``"f8[2]"`` -> ``("f8", 2)`` (a C-contiguous 2-D float64 array); a scalar code -> None."""
    if "[" not in code:
        if code not in _SCALARS:
            raise ValueError(f"unknown scalar code {code!r}; use one of {', '.join(_SCALARS)}")
        return None
    dtype, _, rest = code.partition("[")
    if dtype not in _DTYPES or not rest.endswith("]") or not rest[:-1].isdigit():
        raise ValueError(f"unknown array code {code!r}; write e.g. 'f8[2]'")
    return dtype, int(rest[:-1])


def kernels_mode() -> str:
    """``auto`` (a built library when there is one) or ``numba`` (``COCOON_ECON_KERNELS=numba``)."""
    mode = os.environ.get(KERNELS_ENV, "auto").strip().lower() or "auto"
    if mode not in ("auto", "numba"):
        raise InputError(f"{KERNELS_ENV}={mode!r} is not a kernels mode; set it to auto or numba, or unset it")
    return mode


def cpu_signature() -> str:
    """What the machine code depends on: the architecture, and on Linux the CPU model and flags."""
    parts = [platform.system(), platform.machine()]
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        parts.append(platform.processor())
    else:
        wanted = ("model name", "flags", "Features", "CPU part")
        seen = {}
        for line in text.splitlines():
            name, sep, value = line.partition(":")
            name = name.strip()
            if sep and name in wanted and name not in seen:
                seen[name] = " ".join(sorted(value.split()))
        parts.extend(f"{k}={seen[k]}" for k in sorted(seen))
    return "\n".join(parts)


class _ExcInfo(ctypes.Structure):
    # numba's serialized exception (PythonAPI.serialize_object): pickled bytes, their length, ...
    _fields_ = [("data", ctypes.c_void_p), ("size", ctypes.c_int32), ("hash", ctypes.c_void_p),
                ("fn", ctypes.c_void_p), ("alloc", ctypes.c_int32)]


@dataclass
class KernelSet:
    """The kernels of one numba module (``module``, imported only when a kernel falls back to it),
    each with its argument codes (``"f8[2]"`` a C-contiguous 2-D float64 array, ``"i8"`` an int64).
    The kernels return nothing; they write into arrays they are given."""

    module: str
    specs: Mapping[str, tuple[str, ...]]
    #: modules whose numba functions the kernels inline: their sources are in the key too, so an
    #: edit there looks for another library (the machine code holds a copy of what it inlined), and
    #: numba's cache of the kernels is emptied when older than them (:meth:`jitted`)
    depends: tuple[str, ...] = ()
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    _library: Any = field(default=None, repr=False, compare=False)
    _loaded: bool = field(default=False, repr=False, compare=False)
    _calls: dict[str, Callable[..., None]] = field(default_factory=dict, repr=False, compare=False)
    _numba_checked: bool = field(default=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for codes in self.specs.values():
            for code in codes:
                array_code(code)

    def source_path(self) -> Path:
        return _module_path(self.module)

    def key(self) -> str:
        """The digest naming this module's library (source, signatures, ABI, CPU)."""
        digest = hashlib.sha256()
        digest.update(self.source_path().read_bytes())
        for module in self.depends:
            digest.update(module.encode())
            digest.update(_module_path(module).read_bytes())
        digest.update(repr(sorted((k, tuple(v)) for k, v in self.specs.items())).encode())
        digest.update(ABI.encode())
        digest.update(cpu_signature().encode())
        return digest.hexdigest()[:20]

    def library_path(self, directory: Path | None = None) -> Path:
        """Where the library of this source and machine is (or would be) written: beside the module in
        ``__pycache__`` (where numba caches too), or in ``$COCOON_ECON_KERNELS_DIR`` when that is set
        (an installation the user cannot write to), or in ``directory``."""
        source = self.source_path()
        folder = os.environ.get(KERNELS_DIR_ENV, "").strip()
        if directory is not None:
            where = Path(directory)
        else:
            where = Path(folder).expanduser() if folder else source.parent / "__pycache__"
        return where / f"{source.stem}.{self.key()}.so"

    def library(self) -> Any:
        """The loaded library (``ctypes.CDLL``), or None when there is none for this source and CPU."""
        with self._lock:
            if not self._loaded:
                self._loaded = True
                if kernels_mode() == "auto":
                    path = self.library_path()
                    try:
                        found = path.is_file()
                    except OSError:   # a folder this user may not read (EACCES): as if there were none
                        found = False
                    if found:
                        try:
                            self._library = ctypes.CDLL(str(path))
                        except OSError:   # damaged or foreign: numba's kernel runs instead
                            self._library = None
            return self._library

    def jitted(self, name: str) -> Callable[..., None]:
        """The numba kernel itself (imports numba)."""
        module = importlib.import_module(self.module)
        if self.depends and not self._numba_checked:
            with self._lock:
                if not self._numba_checked:
                    _forget_stale_numba_cache(module, self.depends)
                    self._numba_checked = True
        function: Callable[..., None] = getattr(module, name)
        return function

    def get(self, name: str) -> Callable[..., None]:
        """A callable running kernel ``name``: the library's when built, else numba's."""
        call = self._calls.get(name)
        if call is None:
            codes = self.specs[name]
            library = self.library()
            call = self._calls[name] = (_library_call(self, name, codes, library) if library is not None
                                        else _lazy_jitted(self, name))
        return call


def _forget_stale_numba_cache(module: Any, depends: tuple[str, ...]) -> None:
    """Empty numba's on-disk index of each cached kernel of ``module`` written before the newest source
    of ``depends``: numba stamps a cached kernel with its own file only, so a kernel that inlined a
    function edited since would be read back as it was (numba compiles it again, once, and caches it).
    Through numba's cache objects (``_cache``, ``_cache_file``, ``_index_path``, ``flush``): without
    them (another numba), nothing is done."""
    newest = max(_module_path(name).stat().st_mtime for name in depends)
    for value in list(vars(module).values()):
        cache: Any = getattr(value, "_cache", None)
        index = getattr(getattr(cache, "_cache_file", None), "_index_path", None)
        if not isinstance(index, str) or not hasattr(cache, "flush"):
            continue
        try:
            if os.stat(index).st_mtime < newest:
                cache.flush()
        except OSError:   # no index yet (nothing cached), or a folder this user may not write: as numba does
            pass


def _module_path(module: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError(f"no module {module}")
    return Path(spec.origin)


def _lazy_jitted(kernels: KernelSet, name: str) -> Callable[..., None]:
    def call(*args: Any) -> None:
        kernels.jitted(name)(*args)
    return call


def _library_call(kernels: KernelSet, name: str, codes: tuple[str, ...], library: Any) -> Callable[..., None]:
    function = getattr(library, f"ce_{name}")
    function.restype = ctypes.c_int32
    argtypes: list[Any] = [ctypes.c_void_p, ctypes.c_void_p]
    layout: list[tuple[np.dtype, int] | None] = []
    for code in codes:
        parsed = array_code(code)
        if parsed is None:
            argtypes.append(_SCALARS[code])
            layout.append(None)
        else:
            dtype, ndim = parsed
            argtypes += [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p]
            argtypes += [ctypes.c_int64] * (2 * ndim)
            layout.append((_DTYPES[dtype], ndim))
    function.argtypes = argtypes

    def call(*args: Any) -> None:
        if len(args) != len(layout):
            raise TypeError(f"kernel {name} takes {len(layout)} arguments, got {len(args)}")
        flat: list[Any] = []
        for arg, want in zip(args, layout):
            if want is None:
                flat.append(arg)
                continue
            if (not isinstance(arg, np.ndarray) or arg.dtype != want[0] or arg.ndim != want[1]
                    or not arg.flags.c_contiguous):
                kernels.jitted(name)(*args)    # numba compiles for whatever layout this is
                return
            flat += [None, None, arg.size, arg.itemsize, arg.ctypes.data, *arg.shape, *arg.strides]
        ret = ctypes.create_string_buffer(16)
        excinfo = ctypes.c_void_p()
        status = function(ctypes.addressof(ret), ctypes.addressof(excinfo), *flat)
        if status != 0:
            raise _kernel_exception(name, status, excinfo)

    call.__name__ = name
    return call


def _kernel_exception(name: str, status: int, excinfo: ctypes.c_void_p) -> BaseException:
    """The exception the kernel raised, rebuilt from numba's pickled description."""
    if status > 0 and excinfo.value:
        try:
            info = _ExcInfo.from_address(excinfo.value)
            exc_class, exc_args, _where = pickle.loads(ctypes.string_at(info.data, info.size))
            if isinstance(exc_class, type) and issubclass(exc_class, BaseException):
                return exc_class(*(exc_args or ()))
        except Exception:   # noqa: BLE001 - a description we cannot read: say so below
            pass
    return RuntimeError(f"compiled kernel {name} failed (status {status}); run again with "
                        f"{KERNELS_ENV}=numba for numba's own error")
