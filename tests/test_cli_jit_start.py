"""The CLI loads numba without its BLAS probe (analysis/cli/jit_start.py): scipy.linalg stays
unloaded in a simulating process and the numbers are those of a process with numba's probe.
(numba's kernels, forced with COCOON_ECON_KERNELS=numba: with the kernels built ahead of time, numba
is not imported at all; tests/test_compiled_kernels.py.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SCENARIO = REPO / "data" / "scenarios" / "hgx_h100_8x_colo.toml"
ARGS = ["simulate", "--scenario", str(SCENARIO), "--method", "bootstrap", "--paths", "300", "--horizon-days",
        "40", "--seed", "4", "--json"]


def _run(prelude: str) -> tuple[dict, list[str]]:
    code = (f"{prelude}\nimport contextlib, io, json, sys\nfrom analysis.cli.main import main\n"
            "buf = io.StringIO()\nwith contextlib.redirect_stdout(buf):\n"
            f"    rc = main({ARGS!r})\n"
            "print(json.dumps({'rc': rc, 'out': buf.getvalue(), "
            "'mods': sorted(m for m in sys.modules if m.startswith(('scipy', 'numba.np.arraymath')))}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "COCOON_ECON_KERNELS": "numba"}).stdout
    result = json.loads(out.splitlines()[-1])
    assert result["rc"] == 0
    return json.loads(result["out"]), result["mods"]


def test_simulate_runs_without_scipy_linalg_and_gives_the_same_numbers():
    fast, mods = _run("")
    assert "numba.np.arraymath" in mods and "scipy.linalg" not in mods
    # numba loaded first as a library user would (its BLAS probe imports scipy.linalg)
    probed, probed_mods = _run("import numba.np.arraymath")
    assert "scipy.linalg" in probed_mods
    assert fast == probed
