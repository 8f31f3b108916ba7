"""Judging one run of a case: the problems found, each as one short line (none means the case passed)."""
from __future__ import annotations

from typing import Any

from .cases import ACCEPT, EITHER, REFUSE, Built, Case
from .sandbox import FORBIDDEN, MEMORY_BOUND, Report


def _line_problems(message: str, case: Case, built: Built) -> list[str]:
    problems = []
    text = message.strip()
    if not text:
        problems.append("the message is empty")
    if "\n" in text or "\r" in text:
        problems.append(f"the message has {text.count(chr(10)) + 1} lines: {text[:160]!r}")
    if any(ord(c) < 32 and c not in "\t" for c in text.replace("\n", "")):
        problems.append(f"the message holds control characters: {text[:160]!r}")
    low = text.lower()
    for mention in case.mentions:
        wanted = mention.format(**built)
        if wanted.lower() not in low:
            problems.append(f"the message does not name {wanted!r}: {text[:200]!r}")
    for bad in FORBIDDEN + case.forbid:
        if bad.lower() in low:
            problems.append(f"the message says {bad!r}: {text[:200]!r}")
    return problems


def _refusal(entry: str, result: dict[str, Any], case: Case, built: Built) -> list[str]:
    if entry == "api":
        if result["raised"] is None:
            return ["accepted (no exception), expected a refusal"]
        if not result["interpret"]:
            last = result["traceback"].strip().splitlines()[-1:] or [""]
            return [f"raised {result['raised']}, not an InterpretError: {last[0][:200]}"]
        if not issubclass_named(result["classes"], case.error.__name__):
            return [f"raised {result['raised']}, expected {case.error.__name__}"]
        return _line_problems(result["message"], case, built)
    if result["escaped"]:
        return [f"traceback: {result['escaped'].strip().splitlines()[-1][:200]}"]
    problems = []
    if result["rc"] == 0:
        problems.append("exit status 0, expected a refusal")
    lines = [ln for ln in result["stderr"].splitlines() if ln.strip()]
    if "Traceback" in result["stderr"]:
        problems.append("a traceback on stderr")
    if len(lines) != 1:
        problems.append(f"{len(lines)} lines on stderr: {result['stderr'][:200]!r}")
        return problems
    return problems + _line_problems(lines[0], case, built)


def issubclass_named(mro: list[str], name: str) -> bool:
    return name in mro


def _acceptance(entry: str, result: dict[str, Any], case: Case) -> list[str]:
    if entry == "api":
        if result["raised"] is not None:
            return [f"refused, expected acceptance: {result['raised']}: {result['message'][:200]}"]
    else:
        if result["escaped"]:
            return [f"traceback: {result['escaped'].strip().splitlines()[-1][:200]}"]
        if result["rc"] != 0:
            return [f"exit status {result['rc']}, expected acceptance: {result['stderr'].strip()[:200]!r}"]
        if "Traceback" in result["stderr"] or "Exception ignored" in result["stderr"]:
            return [f"a traceback on stderr: {result['stderr'].strip().splitlines()[-1][:200]!r}"]
    if result.get("check"):
        return [f"wrong result: {result['check'][:300]}"]
    return []


def judge(case: Case, entry: str, report: Report) -> list[str]:
    """Every way this run broke the contract: time, memory, files written outside, and the outcome."""
    if report.status == "timeout":
        return [f"did not finish within {case.seconds:.0f} s (killed)"]
    if report.status == "memory":
        return [f"grew by more than {report.growth / 2**20:.0f} MB and was killed"]
    if report.status != "done":
        return [f"the process died ({report.status}, {report.result})"]
    problems = []
    if report.growth > MEMORY_BOUND:
        problems.append(f"resident memory grew by {report.growth / 2**20:.0f} MB (bound {MEMORY_BOUND / 2**20:.0f} MB)")
    if report.written:
        problems.append(f"wrote outside its folder: {', '.join(report.written[:3])}")
    result = report.result
    built = result.get("built", {})
    if result.get("after"):
        problems.append(result["after"][:300])
    if case.stdout == "closed-pipe":  # the reader went away: any exit status, but quietly (at most one line)
        lines = [ln for ln in result["stderr"].splitlines() if ln.strip()]
        if result["escaped"] or "Traceback" in result["stderr"] or "Exception ignored" in result["stderr"] or len(lines) > 1:
            problems.append(f"not quiet on a closed pipe: {result['stderr'].strip()[-200:]!r}")
    elif case.expect == REFUSE:
        problems += _refusal(entry, result, case, built)
    elif case.expect == ACCEPT:
        problems += _acceptance(entry, result, case)
    elif case.expect == EITHER:
        refused = (result.get("raised") is not None) if entry == "api" else (result["rc"] != 0 or bool(result["escaped"]))
        problems += _refusal(entry, result, case, built) if refused else _acceptance(entry, result, case)
    return problems
