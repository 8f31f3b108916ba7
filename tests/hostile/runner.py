"""The one test body every category module parametrises: run a case through one entry point and judge it."""
from __future__ import annotations

from pathlib import Path

import pytest

from .cases import Case, Env, Work
from .sandbox import run_forked
from .verdict import judge


def params(cases: list[Case]) -> list:
    """One pytest parameter per (case, entry point), with ids such as 'images/png-1x50000:cli'."""
    return [pytest.param(case, entry, id=f"{case.id}:{entry}") for case in cases for entry in case.entries()]


def run_case(case: Case, entry: str, env: Env, tmp_path: Path) -> None:
    if case.skip is not None and (reason := case.skip()):
        pytest.skip(reason)
    report = run_forked(Work(case, entry, env if entry == "api" else None), tmp_path / "case", case.seconds)
    problems = judge(case, entry, report)
    if problems:
        pytest.fail(f"{case.id}:{entry}: " + "; ".join(problems), pytrace=False)
