"""The built wheel, installed into a new virtual environment, gives a working CLI and API from any folder.

The environment sees the packages of the interpreter running the tests (tests/venv_support.py, inside a virtual
environment or outside one): its dependencies (torch alone is a 5.9 GB virtual environment) come from there,
so the test takes seconds and needs no network.
The package itself comes only from the wheel: the checkout is neither on sys.path nor the current folder.
Deselect with `-m "not install"`.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from venv_support import create_seeing_outer_packages, site_packages

pytestmark = pytest.mark.install

ROOT = Path(__file__).resolve().parents[1]
DISTRIBUTION = "interpret-image-models"
# What the wheel is built from; copied so that a build/ folder left in the checkout cannot leak stale files into it.
SOURCES = ("pyproject.toml", "README.md", "interpret")


def _run(command: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP")}
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{command} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Path:
    """A new virtual environment holding the wheel built from this checkout."""
    work = tmp_path_factory.mktemp("install")
    source = work / "source"
    source.mkdir()
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(path, source / name)
    # python -m build without isolation: offline, and faster here than `pip wheel --no-build-isolation` (1.5 s vs 2.6 s)
    _run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(work / "dist"), str(source)], cwd=work)
    (wheel,) = (work / "dist").glob("*.whl")

    env_dir = work / "venv"
    python = create_seeing_outer_packages(env_dir)
    # The outer environment's pip (seen through the venv's .pth file) installs into the venv it runs in.
    # --force-reinstall: the checkout's editable install outside the venv would otherwise count as installed.
    _run([str(python), "-m", "pip", "install", "-q", "--no-index", "--no-deps", "--force-reinstall", str(wheel)], cwd=work)
    return env_dir


def test_the_venv_imports_the_installed_wheel_not_the_checkout(venv, tmp_path):
    out = _run([str(venv / "bin" / "python"), "-c", "import interpret; print(interpret.__file__); print(interpret.__version__)"],
               cwd=tmp_path).stdout.split()
    assert Path(out[0]).resolve() == (site_packages(venv) / "interpret" / "__init__.py").resolve()
    assert not Path(out[0]).resolve().is_relative_to(ROOT)
    assert out[1] != "0+unknown"


def test_declared_ranges_hold_the_installed_versions(venv, tmp_path):
    """Every dependency of the package and of its app, peers and test extras accepts the version tested here."""
    check = f"""
from importlib.metadata import requires, version, PackageNotFoundError
from packaging.requirements import Requirement
bad = []
for line in requires({DISTRIBUTION!r}):
    req = Requirement(line)
    if req.name == {DISTRIBUTION!r}:
        continue
    extras = [{{"extra": e}} for e in ("", "app", "peers", "scale", "test")]
    if req.marker is not None and not any(req.marker.evaluate(e) for e in extras):
        continue
    try:
        installed = version(req.name)
    except PackageNotFoundError:
        bad.append(f"{{req}}: not installed")
        continue
    if not req.specifier.contains(installed, prereleases=True):
        bad.append(f"{{req}}: {{installed}} is installed")
print("\\n".join(bad))
"""
    assert _run([str(venv / "bin" / "python"), "-c", check], cwd=tmp_path).stdout.strip() == ""


@pytest.mark.parametrize("command", [["interpret"], ["python", "-m", "interpret"]], ids=["console-script", "python-m"])
def test_predict_runs_from_any_folder(venv, tmp_path, command):
    executable = venv / "bin" / command[0]
    result = _run([str(executable), *command[1:], "predict", "sample:coffee", "--top", "1", "--json"], cwd=tmp_path)
    (row,) = json.loads(result.stdout)
    assert row["image"] == "sample:coffee"
    assert row["top"][0]["label"] == "espresso"


def test_the_console_script_runs_the_venvs_python(venv):
    shebang = (venv / "bin" / "interpret").read_text().splitlines()[0]
    assert os.path.abspath(shebang.removeprefix("#!").strip()) == os.path.abspath(venv / "bin" / "python")
