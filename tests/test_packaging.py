"""The package as a user installs it: the wheel carries the data, runs from any folder, caches in the
user's cache directory; ``init`` writes the documented starter or a shipped example."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest

from analysis.cli.main import main
from analysis.core.resources import DATA_DIR, SCENARIO_DIR, example_scenarios
from analysis.econ.scenario import load_scenario, parse_scenario
from analysis.econ.starter import starter_toml, undocumented_fields

REPO = Path(__file__).resolve().parent.parent


def test_every_package_is_listed_in_pyproject():
    """``[tool.setuptools] packages`` is explicit (analysis.data maps the top-level data/): none forgotten."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    listed = set(config["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(REPO).parts) for p in (REPO / "analysis").rglob("__init__.py")}
    data = {"analysis.data", *(f"analysis.data.{d.name}" for d in DATA_DIR.iterdir() if d.is_dir())}
    assert listed == found | data


def test_starter_documents_every_scenario_field_and_loads(tmp_path):
    assert undocumented_fields() == []
    text = starter_toml()
    scenario = parse_scenario(tomllib.loads(text), origin="starter.toml")
    assert scenario.network.name == "cocoon"
    # Every non-comment key line carries its comment (unit; meaning; source).
    keys = [line for line in text.splitlines() if " = " in line and not line.startswith("#")]
    assert keys and all("  # " in line for line in keys)
    # The neutral utilisation: what the live network paid, not an assumed busy GPU.
    assert scenario.workload.utilisation <= 0.05


def test_init_lists_and_writes_examples(tmp_path, capsys):
    assert main(["init", "--list"]) == 0
    listed = capsys.readouterr().out
    assert set(example_scenarios()) == {line.split()[0] for line in listed.splitlines()}
    out = tmp_path / "mine.toml"
    assert main(["init", "--example", "h200_single", "--out", str(out)]) == 0
    assert out.read_bytes() == (SCENARIO_DIR / "h200_single.toml").read_bytes()
    load_scenario(out)


def test_init_refuses_to_overwrite_and_unknown_examples(tmp_path, capsys):
    out = tmp_path / "mine.toml"
    out.write_text("keep me", encoding="utf-8")
    assert main(["init", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "--force" in err
    assert out.read_text(encoding="utf-8") == "keep me"
    assert main(["init", "--out", str(out), "--force"]) == 0
    load_scenario(out)
    assert main(["init", "--example", "nope"]) == 2
    err = capsys.readouterr().err
    assert "h200_single" in err and len(err.strip().splitlines()) == 1


def test_starter_to_stdout_runs_breakeven(tmp_path, capsys):
    assert main(["init"]) == 0
    path = tmp_path / "starter.toml"
    path.write_text(capsys.readouterr().out, encoding="utf-8")
    assert main(["breakeven", "--scenario", str(path), "--ton-usd", "1.5"]) == 0
    assert "Break-even TON price" in capsys.readouterr().out


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The wheel built from this checkout, installed into a fresh virtualenv.

    Dependencies come from the test's own environment through a ``.pth`` line (a path, so the
    editable install of this checkout is *not* seen there): the venv holds only the wheel.
    """
    root = tmp_path_factory.mktemp("wheel")
    wheels = root / "dist"
    env = _env(root)  # without PYTHONPATH: a checkout on it would look like an installed cocoon-econ to pip
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "--wheel-dir", str(wheels), str(REPO)], check=True, capture_output=True, cwd=root, env=env)
    wheel = next(wheels.glob("cocoon_econ-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "analysis/data/reference/network_parameters.csv" in names
    assert "analysis/data/snapshot/ton_usd_daily_close.csv" in names
    assert "analysis/data/scenarios/h200_single.toml" in names
    assert "analysis/py.typed" in names
    assert "analysis/app/assets/app.css" in names  # the app serves its stylesheet itself
    assert not any(n.startswith("tests/") for n in names)
    assert not any(n.endswith(".so") for n in names)   # the kernels are built for the machine they run on
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, env=env)
    py = venv / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "--quiet", "--no-deps",
                    "--no-index", str(wheel)], check=True, capture_output=True, env=env)
    site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True, env=env).stdout.strip()
    Path(site, "_deps_from_test_env.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    return venv


def _env(home: Path) -> dict[str, str]:
    """A user's environment: no project variables, no PYTHONPATH, a home of its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COCOON_ECON_", "PYTHON"))}
    env.update(HOME=str(home), XDG_CACHE_HOME=str(home / "xdg-cache"))
    return env


def _run(venv: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(venv / "bin" / "cocoon-econ"), *args], cwd=cwd, env=_env(cwd), capture_output=True,
                          text=True, timeout=600)


def test_installed_wheel_runs_every_command_from_another_folder(installed, tmp_path):
    work = tmp_path / "elsewhere"
    work.mkdir()
    where = subprocess.run([str(installed / "bin" / "python"), "-c",
                            "import analysis, analysis.core.resources as r; print(analysis.__file__); "
                            "print(r.DATA_DIR)"], capture_output=True, text=True, check=True, cwd=work,
                           env=_env(work))
    module_file, data_dir = where.stdout.split()
    assert str(installed) in module_file and str(REPO) not in module_file
    assert Path(data_dir) == Path(module_file).parent / "data"

    assert _run(installed, work, "init", "--example", "h200_single", "--out", "s.toml").returncode == 0
    for args in (["breakeven", "--scenario", "s.toml"],
                 ["ledger", "--scenario", "s.toml", "--out", "ledger.csv"],
                 ["simulate", "--scenario", "s.toml", "--method", "gbm", "--paths", "200", "--horizon-days", "30"],
                 ["compare", "--scenario", "s.toml"],
                 ["report", "--out", "r.html"]):
        done = _run(installed, work, *args)
        assert done.returncode == 0, (args, done.stderr[-2000:])
        assert "Traceback" not in done.stderr
    assert (work / "ledger.csv").stat().st_size > 0
    assert "<html" in (work / "r.html").read_text(encoding="utf-8")[:500].lower()
    status = _run(installed, work, "data", "status")
    assert status.returncode == 0
    # The default cache is the user's cache directory, never inside the installed package.
    assert f"cache: {work / 'xdg-cache' / 'cocoon-econ'}" in status.stdout
    assert not (Path(module_file).parent / "data" / "cache").exists()


def test_installed_wheel_builds_its_kernels_and_simulates_on_them(installed, tmp_path):
    work = tmp_path / "user"
    work.mkdir()
    before = _run(installed, work, "kernels", "status", "--json")
    assert before.returncode == 0, before.stderr[-2000:]
    modules = json.loads(before.stdout)["modules"]
    assert [m["runs"] for m in modules] == ["numba", "numba"] and not any(m["built"] for m in modules)
    assert all(str(installed) in m["library"] for m in modules)     # beside the installed package
    built = _run(installed, work, "kernels", "build")
    if built.returncode == 1 and "no C compiler" in built.stderr:
        pytest.skip("no C compiler to link the kernels")
    assert built.returncode == 0 and built.stdout.count("built analysis.") == 2, built.stderr[-2000:]
    after = json.loads(_run(installed, work, "kernels", "status", "--json").stdout)
    assert [m["runs"] for m in after["modules"]] == ["library", "library"]
    probe = subprocess.run([str(installed / "bin" / "python"), "-c",
                            "import contextlib, io, sys\nfrom analysis.cli.main import main\n"
                            "with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):\n"
                            "    assert main(['simulate', '--scenario', sys.argv[1], '--paths', '300', '--seed', '1']) == 0\n"
                            "print(sorted({m.split('.')[0] for m in sys.modules} & {'numba', 'llvmlite'}))",
                            str(SCENARIO_DIR / "h200_single.toml")],
                           capture_output=True, text=True, cwd=work, env=_env(work), timeout=600)
    assert probe.returncode == 0, probe.stderr[-2000:]
    assert probe.stdout.strip().splitlines()[-1] == "[]"
