"""The record of one hostile case, and how it runs through each of its entry points (API, CLI)."""
from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from interpret.errors import InterpretError

from .sandbox import call_api, call_cli

REFUSE, ACCEPT, EITHER = "refused with a one-line message", "accepted, with a correct result", "refused or accepted"
SECONDS = 10.0  # per case, after its files are built: every refusal should take well under a second


@dataclass(frozen=True)
class Env:
    """What the API cases share, loaded once per module in the parent and inherited by every fork."""

    lm: Any  # the bundled model (a LoadedModel)
    x: Any  # the coffee photo as the model's input tensor
    index: int  # the class the model predicts for it (espresso)


Built = dict[str, Any]


@dataclass(frozen=True)
class Case:
    """One hostile input: how to build it, where it goes in, and what must come out.

    `api(built, env)` calls the Python API; `cli(built)` gives the argv for `interpret.cli.main`. On
    acceptance, `check(value, built)` (API) and `check_cli(stdout, stderr, built)` (CLI) assert the result.
    A refusal's message must contain every string of `mentions` (formatted with `built`, case-insensitive).
    """

    id: str
    category: str
    build: Callable[[Path], Built]
    expect: str
    api: Callable[[Built, Env], Any] | None = None
    cli: Callable[[Built], list[str]] | None = None
    check: Callable[[Any, Built], None] | None = None
    check_cli: Callable[[str, str, Built], None] | None = None
    mentions: tuple[str, ...] = ("{name}",)
    error: type[InterpretError] = InterpretError
    forbid: tuple[str, ...] = ()  # extra strings a refusal must not contain
    seconds: float = SECONDS
    stdout: str = "capture"  # or "closed-pipe"
    after: Callable[[Built, dict], None] | None = None  # asserts what must hold however it ended (no canary)
    skip: Callable[[], str | None] | None = None  # a reason this machine cannot build the case
    why: str = ""

    def entries(self) -> list[str]:
        return [name for name in ("api", "cli") if getattr(self, name) is not None]


@dataclass
class Work:
    """A case bound to one entry point, in the shape sandbox.run_forked expects."""

    case: Case
    entry: str
    env: Env | None

    def build(self, folder: Path) -> Built:
        return self.case.build(folder)

    def run(self, built: Built, folder: Path) -> dict[str, Any]:
        result = self._run(built, folder)
        if self.case.after is not None:
            result["after"] = _checked(self.case.after, built, result)
        result["built"] = {k: v for k, v in built.items() if isinstance(v, str | int | float)}  # for the verdict
        return result

    def _run(self, built: Built, folder: Path) -> dict[str, Any]:
        if self.entry == "api":
            result, value = call_api(self.case.api, built, self.env)
            if result["raised"] is None and self.case.check is not None:
                result["check"] = _checked(self.case.check, value, built)
            return result
        result = call_cli([os.fsdecode(a) if isinstance(a, bytes) else str(a) for a in self.case.cli(built)],
                          folder, self.case.stdout)
        if result["rc"] == 0 and not result["escaped"] and self.case.check_cli is not None:
            result["check"] = _checked(self.case.check_cli, result["stdout"], result["stderr"], built)
        return result


def _checked(check, *args) -> str | None:
    """None when the check passes, else the reason (an assertion's text, or the error it hit)."""
    try:
        check(*args)
    except AssertionError as exc:
        return str(exc) or "a check of the result failed"
    except Exception as exc:  # noqa: BLE001
        return f"{type(exc).__name__}: {str(exc)[:300]}"
    return None
