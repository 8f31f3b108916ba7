"""The app runs on the oldest Streamlit of the declared range (pyproject's `app` extra), not only the newest.

A virtual environment that sees this interpreter's packages (tests/venv_support.py) gets that Streamlit release from PyPI, and
the page smoke test (tests/test_pages_smoke.py) runs there. Skipped when PyPI cannot be reached. The
environment is kept in the temporary folder, so a second run skips the install.
"""
from __future__ import annotations

import re
import subprocess
import tempfile
import tomllib
from pathlib import Path

import pytest

from venv_support import create_seeing_outer_packages

ROOT = Path(__file__).resolve().parents[1]
OFFLINE = ("NewConnectionError", "Temporary failure in name resolution", "Network is unreachable", "Max retries exceeded",
           "ProxyError", "No matching distribution found", "Could not fetch URL", "ConnectTimeout", "ReadTimeout")

pytestmark = pytest.mark.install


def oldest_streamlit() -> str:
    """The lower bound of the `app` extra's streamlit requirement, e.g. '1.50' -> '1.50.0'."""
    app = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"]["app"]
    spec = next(r for r in app if re.match(r"streamlit\s*>=", r))
    version = re.search(r">=\s*([0-9.]+)", spec).group(1)
    return version if version.count(".") >= 2 else f"{version}.0"


def streamlit_version(python: Path) -> str | None:
    done = subprocess.run([str(python), "-c", "import streamlit; print(streamlit.__version__)"], capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else None


def environment_with(version: str) -> Path:
    """The Python of a venv (the outer packages visible) whose streamlit is `version`; skips when PyPI is out of reach."""
    folder = Path(tempfile.gettempdir()) / f"interpret-streamlit-{version}"
    python = folder / "bin" / "python"
    if python.exists() and streamlit_version(python) == version:
        return python
    create_seeing_outer_packages(folder)
    # the venv runs the pip it sees among the outer packages, and installs into the venv
    install = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--retries", "1", "--timeout", "20",
                              f"streamlit=={version}"], capture_output=True, text=True)
    if install.returncode != 0:
        output = install.stdout + install.stderr
        if any(sign in output for sign in OFFLINE):
            pytest.skip(f"PyPI cannot be reached to install streamlit=={version}: {output.strip().splitlines()[-1]}")
        raise AssertionError(f"pip install streamlit=={version} failed:\n{output[-3000:]}")
    return python


def test_the_pages_open_on_the_oldest_streamlit_of_the_range():
    version = oldest_streamlit()
    python = environment_with(version)
    assert streamlit_version(python) == version
    run = subprocess.run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_pages_smoke.py"],
                         cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, f"the smoke test fails on streamlit {version}:\n{run.stdout[-4000:]}{run.stderr[-2000:]}"
    assert re.search(r"\b\d+ passed\b", run.stdout) and "skipped" not in run.stdout.splitlines()[-1], run.stdout[-500:]
