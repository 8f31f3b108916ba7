"""One case, run in a forked child of the test process: bounded time and memory, outputs captured, judged.

Why a fork: a hostile input may hang (a FIFO, a forward that never returns) or allocate gigabytes (a
1 x 50000 PNG, a 2 M-class head). In a child, the parent can watch the resident memory and the clock and
kill it, so no case can hang or exhaust the suite, while the child still inherits the loaded model and
every imported module (a fork costs about 0.1 s; a fresh `python -m interpret` costs seconds of torch import).

The child builds the case's files in its folder, resets its peak-RSS counter (/proc/self/clear_refs),
runs the entry point (the API, or `interpret.cli.main` in-process with stdout and stderr captured, down
to the file descriptors), runs the case's checks, and sends back a plain dict. The parent judges it.
"""
from __future__ import annotations

import io
import os
import pickle
import select
import signal
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from interpret.errors import InterpretError

MEMORY_BOUND = 500 * 2**20  # growth of the resident set over one case (the brief's bound: 500 MB)
KILL_BOUND = 2 * 2**30  # the watchdog kills a child above this growth at once, to keep the machine alive
BUILD_SECONDS = 90.0  # writing a case's files (a 49 MP PNG, a 44 MB state dict) before its clock starts
PAGE = os.sysconf("SC_PAGE_SIZE")
# what no refusal should say: a traceback, or device advice for what is a file's or a value's fault
FORBIDDEN = ("Traceback (most recent call last)", "Switch the device", "computation failed on")


def _rss(pid: int | str = "self") -> int:
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * PAGE
    except (OSError, IndexError, ValueError):
        return 0


def _peak_rss() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


@dataclass
class Report:
    """What came back from one run: how it ended, how long and how much memory it took, what it said."""

    status: str  # "done", "timeout", "memory" (killed by the watchdog), "crashed" (the child died)
    seconds: float = 0.0
    growth: int = 0  # peak resident-set growth in bytes
    result: dict[str, Any] = field(default_factory=dict)
    written: list[str] = field(default_factory=list)  # files that appeared outside the case's input folder


def _listing(folder: Path) -> set[str]:
    try:
        return {str(p.relative_to(folder)) for p in folder.rglob("*")}
    except OSError:
        return set()


def _top(folder: Path) -> set[str]:
    try:
        return set(os.listdir(folder))
    except OSError:
        return set()


class _Captured:
    """sys.stdout / sys.stderr and file descriptors 1 and 2 redirected into files of the case's folder."""

    def __init__(self, folder: Path, stdout_mode: str):
        self.folder, self.stdout_mode = folder, stdout_mode

    def __enter__(self):
        sys.stdout.flush()
        sys.stderr.flush()
        self.fd_out, self.fd_err = self.folder / "fd1.txt", self.folder / "fd2.txt"
        os.dup2(os.open(self.fd_out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC), 1)
        os.dup2(os.open(self.fd_err, os.O_WRONLY | os.O_CREAT | os.O_TRUNC), 2)
        self.out_buffer, self.err_buffer = io.BytesIO(), io.BytesIO()
        if self.stdout_mode == "closed-pipe":  # like `... --json | head -0`: the reader has gone
            read_end, write_end = os.pipe()
            os.close(read_end)
            sys.stdout = io.TextIOWrapper(io.FileIO(write_end, "w"), encoding="utf-8")
        else:  # a UTF-8 terminal or pipe: strict, as Python's own stdout is
            sys.stdout = io.TextIOWrapper(self.out_buffer, encoding="utf-8", errors="strict")
        sys.stderr = io.TextIOWrapper(self.err_buffer, encoding="utf-8", errors="backslashreplace")
        return self

    def finish(self) -> tuple[str, str]:
        """Flush as the interpreter would at exit; a failing flush is what Python prints as 'Exception ignored'."""
        extra = ""
        try:
            sys.stdout.flush()
        except Exception as exc:  # noqa: BLE001 - reported, like Python's exit-time message
            extra = f"Exception ignored in: <stdout>\n{type(exc).__name__}: {exc}\n"
        sys.stderr.flush()
        out = self.out_buffer.getvalue().decode("utf-8", "replace")
        err = self.err_buffer.getvalue().decode("utf-8", "replace") + extra
        return out + self.fd_out.read_text("utf-8", "replace"), err + self.fd_err.read_text("utf-8", "replace")

    def __exit__(self, *exc):
        return False


def call_cli(argv: list[str], folder: Path, stdout_mode: str = "capture") -> dict[str, Any]:
    """`interpret.cli.main(argv)` in this process: exit status, stdout, stderr, and any exception that escaped."""
    from interpret.cli import main

    escaped = None
    with _Captured(folder, stdout_mode) as captured:
        try:
            rc = main(argv)
        except SystemExit as exc:
            rc = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException:  # noqa: BLE001 - an escaped exception is what the test looks for
            rc, escaped = 1, traceback.format_exc()
        out, err = captured.finish()
    if escaped:
        err += escaped  # what a user would see
    return {"rc": rc, "stdout": out, "stderr": err, "escaped": escaped}


def call_api(fn, *args) -> tuple[dict[str, Any], Any]:
    """Run fn(*args): what it raised (type, whether an InterpretError, message) or its value."""
    try:
        value = fn(*args)
    except BaseException as exc:  # noqa: BLE001
        return {"raised": f"{type(exc).__module__}.{type(exc).__qualname__}", "interpret": isinstance(exc, InterpretError),
                "classes": [c.__name__ for c in type(exc).__mro__], "message": str(exc),
                "traceback": traceback.format_exc()[-2000:]}, None
    return {"raised": None}, value


def _child(work, folder: Path, write_fd: int) -> None:
    """In the child: build, mark, run, report; never returns."""
    status = 0
    try:
        import torch

        torch.set_num_threads(1)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.chdir(folder / "cwd")
        import tempfile

        tempfile.tempdir = str(folder / "tmp")
        os.environ["TMPDIR"] = tempfile.tempdir
        built = work.build(folder / "in")
        exact = _reset_peak()
        base = _rss()
        os.write(write_fd, b"B")
        start = time.perf_counter()
        result = work.run(built, folder)
        seconds = time.perf_counter() - start
        growth = (_peak_rss() if exact else _rss()) - base
        payload = pickle.dumps({"result": result, "seconds": seconds, "growth": growth})
    except BaseException:  # noqa: BLE001 - a broken case must say why, not hang the parent
        payload = pickle.dumps({"build_error": traceback.format_exc()[-3000:]})
        status = 3
    try:
        view = memoryview(payload)
        while view:
            view = view[os.write(write_fd, view):]
    finally:
        os._exit(status)


def run_forked(work, folder: Path, seconds: float) -> Report:
    """Run `work.build(folder / 'in')` then `work.run(built, folder)` in a child, within `seconds` and KILL_BOUND."""
    for sub in ("in", "cwd", "tmp"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    # where a stray write would land: beside the case's folders, and among its siblings (the session's tmp
    # folder). The child's cwd and TMPDIR are empty folders of its own, checked below. (The machine's /tmp
    # and home are not watched: other processes write there at any moment.)
    before = {p: _top(p) for p in (folder, folder.parent)}
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        _child(work, folder, write_fd)
    os.close(write_fd)
    data, started, base, status, peak = bytearray(), None, 0, "done", 0
    deadline = time.monotonic() + BUILD_SECONDS
    try:
        while True:
            ready, _, _ = select.select([read_fd], [], [], 0.01)
            if ready:
                chunk = os.read(read_fd, 1 << 20)
                if not chunk:
                    break
                data += chunk
                if started is None and data.startswith(b"B"):
                    started, base = time.monotonic(), _rss(pid)
                    deadline = started + seconds
                    del data[:1]
            if started is not None:
                peak = max(peak, _rss(pid) - base)
                if peak > KILL_BOUND:
                    status = "memory"
                    break
            if time.monotonic() > deadline:
                status = "timeout" if started is not None else "build-timeout"
                break
    finally:
        if status != "done":
            os.kill(pid, signal.SIGKILL)
        _, code = os.waitpid(pid, 0)
        os.close(read_fd)
    elapsed = time.monotonic() - started if started is not None else 0.0
    report = Report(status, elapsed, peak)
    if status == "done":
        try:
            body = pickle.loads(bytes(data))
        except Exception:  # noqa: BLE001
            return Report("crashed", elapsed, peak, {"code": code})
        if "build_error" in body:
            raise RuntimeError(f"the case could not be built:\n{body['build_error']}")
        report.result, report.seconds = body["result"], body["seconds"]
        report.growth = max(peak, body["growth"])
    for sub in ("cwd", "tmp"):
        report.written += [f"{sub}/{name}" for name in sorted(_listing(folder / sub))]
    for place, names in before.items():
        report.written += [str(place / name) for name in sorted(_top(place) - names - {"fd1.txt", "fd2.txt"})]
    return report
