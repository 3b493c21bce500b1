"""Build a kernel module's shared library ahead of time (``cocoon-econ kernels build``, ``make install``).

:mod:`analysis.core.compiled` says what the library is for and how it is called. The build runs in
a child process (``python -m analysis.core.aot HOLDER``, ``HOLDER`` naming the
:class:`~analysis.core.compiled.KernelSet`, e.g. ``analysis.core.numeric:KERNELS``) with an empty
numba cache, so that every kernel and every jitted function it calls is compiled from source into
LLVM IR that can be linked (a kernel read back from numba's cache is machine code only); and so
that the parent's numba is left as it was.

In the child: numba's ahead-of-time compiler (``numba.pycc.compiler.ModuleCompiler``, without its
runtime and without Python wrappers) compiles each kernel for its declared argument types, for the
host CPU with the host's features (the target numba's JIT uses, so the same machine code and the
same bits); the object file is linked with the C compiler (``$CC``, else ``cc``) into
``<name>.<key>.so.tmp``, loaded once with ctypes to check that every symbol resolves, then renamed
over the final name (atomic: a reader sees the old library or the new one, never a part). Older
libraries of the same module (other keys) beside the module are removed (not in a folder of
``$COCOON_ECON_KERNELS_DIR``, which may serve other versions of the package).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analysis.core.compiled import KERNELS_DIR_ENV, KernelSet, array_code
from analysis.core.errors import CocoonEconError

__all__ = ["BuildResult", "KernelsBuildError", "build", "compiler"]


class KernelsBuildError(CocoonEconError):
    """The library could not be built (no C compiler, a compile or link error)."""

    exit_code = 1


@dataclass(frozen=True)
class BuildResult:
    """One module's library: where it is, and how long the build took (0 when it was already built)."""

    module: str
    path: Path
    seconds: float
    built: bool


def compiler() -> str | None:
    """The C compiler that links the library (``$CC`` or ``cc``), or None when there is none."""
    name = os.environ.get("CC", "").strip() or "cc"
    return shutil.which(name.split()[0])


def build(holder: str, kernels: KernelSet, force: bool = False, directory: Path | None = None,
          timeout_s: float = 600.0) -> BuildResult:
    """Build ``kernels``' library (``holder`` = ``"module:ATTRIBUTE"`` naming it) unless it is there.

    ``directory`` overrides where it goes (else :meth:`KernelSet.library_path`'s folder)."""
    extra = {} if directory is None else {KERNELS_DIR_ENV: str(directory)}
    path = kernels.library_path(directory)
    if path.is_file() and not force:
        return BuildResult(kernels.module, path, 0.0, built=False)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        writable = os.access(path.parent, os.W_OK)
    except OSError:
        writable = False
    if not writable:
        raise KernelsBuildError(f"cannot write the kernels to {path.parent}; set {KERNELS_DIR_ENV} to a folder "
                                "you can write to")
    if compiler() is None:
        raise KernelsBuildError("no C compiler found to link the kernels (install gcc or set CC); nothing was "
                                "built")
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="cocoon-econ-kernels-") as numba_cache:
        env = {**os.environ, **extra, "NUMBA_CACHE_DIR": numba_cache}
        try:
            done = subprocess.run([sys.executable, "-m", "analysis.core.aot", holder], env=env,
                                  capture_output=True, text=True, timeout=timeout_s)
        except subprocess.TimeoutExpired as exc:
            raise KernelsBuildError(f"building {kernels.module}'s kernels took over {timeout_s:.0f} s; "
                                    "stopped") from exc
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["(no message)"])[-1]
        raise KernelsBuildError(f"building {kernels.module}'s kernels failed: {last}")
    return BuildResult(kernels.module, Path(json.loads(done.stdout.strip().splitlines()[-1])["path"]),
                       time.perf_counter() - start, built=True)


def _numba_type(code: str) -> Any:
    from numba import types

    scalar = {"f8": types.float64, "i8": types.int64, "b1": types.boolean}
    parsed = array_code(code)
    if parsed is None:
        return scalar[code]
    dtype, ndim = parsed
    return types.Array(scalar[dtype], ndim, "C")


def _compile(holder: str) -> Path:
    """In the child: compile, link, check and install the library of ``holder``'s kernels."""
    import ctypes
    import importlib

    from numba import types
    from numba.core import codegen
    from numba.core.registry import cpu_target
    from numba.pycc.compiler import ExportEntry, ModuleCompiler

    module_name, _, attribute = holder.partition(":")
    kernels: KernelSet = getattr(importlib.import_module(module_name), attribute)
    jitted = importlib.import_module(kernels.module)

    class HostCodegen(codegen.AOTCPUCodegen):   # pycc targets the CPU model's features; numba's JIT the host's
        def _customize_tm_features(self) -> str:
            return str(self._get_host_cpu_features())

    entries = [ExportEntry(f"ce_{name}", types.void(*(_numba_type(c) for c in codes)), getattr(jitted, name).py_func)
               for name, codes in kernels.specs.items()]
    library_name = kernels.module.rpartition(".")[2]
    module_compiler = ModuleCompiler(entries, library_name, use_nrt=False)
    module_compiler.context = cpu_target.target_context.subtarget(
        _internal_codegen=HostCodegen(library_name, "host"), aot_mode=True)
    path = kernels.library_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="cocoon-econ-link-") as work:
        obj = Path(work) / f"{library_name}.o"
        module_compiler.write_native_object(str(obj), wrap=False)
        tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
        cc = (os.environ.get("CC", "").strip() or "cc").split()
        subprocess.run([*cc, "-shared", "-o", str(tmp), str(obj), "-lm"], check=True, capture_output=True, text=True)
    try:
        library = ctypes.CDLL(str(tmp))       # every symbol must resolve (RTLD_NOW)
        for name in kernels.specs:
            getattr(library, f"ce_{name}")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    if path.parent == kernels.source_path().parent / "__pycache__":
        # older builds of this module beside it; a folder of $COCOON_ECON_KERNELS_DIR may serve other
        # versions of the package (other checkouts, other keys), whose libraries are left alone
        for old in path.parent.glob(f"{path.name.split('.')[0]}.*.so"):
            if old != path:
                old.unlink(missing_ok=True)
    return path


def main() -> None:
    holder = sys.argv[1]
    try:
        path = _compile(holder)
    except subprocess.CalledProcessError as exc:
        last = (exc.stderr or "").strip().splitlines()[-1:]
        sys.exit(f"the C compiler failed: {last[0] if last else exc}")
    print(json.dumps({"path": str(path)}))


if __name__ == "__main__":
    main()
