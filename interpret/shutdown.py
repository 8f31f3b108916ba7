"""A clean exit while background work runs: every background thread of the package is stopped or waited for
before the interpreter finalises.

A thread that returns from torch's C++ code into a finalising interpreter is ended by force, and that
aborts the whole process (SIGABRT, status 134, "terminate called without an active exception"): a script,
a notebook kernel, an AppTest run or a server stopped mid-job. So at exit, within `limits.JOB_EXIT_SECONDS`
in all: each registered stopper (a job store) cancels its work and joins its workers, and each tracked
thread that cannot be cancelled (a model's first forward pass) is waited for. Work still running after
the bound ends the process at once with the script's own status (0, or 1 after an uncaught exception),
saying which work it was.

No torch, no Streamlit.
"""
from __future__ import annotations

import atexit
import os
import sys
import threading
import time
import weakref
from typing import Any, Protocol

from . import limits


class Stopper(Protocol):
    """Background work that can be cancelled and joined: `shutdown(seconds)` is True once all of it ended."""

    def shutdown(self, timeout: float) -> bool: ...

    def running_labels(self) -> list[str]: ...


_STOPPERS: weakref.WeakSet[Any] = weakref.WeakSet()
_THREADS: dict[threading.Thread, str] = {}
_GUARD = threading.Lock()


def stop_at_exit(stopper: Stopper) -> None:
    """Cancel and join `stopper`'s work at exit (held weakly: a stopper that is gone has nothing to stop)."""
    _STOPPERS.add(stopper)


def wait_at_exit(thread: threading.Thread, label: str) -> None:
    """Wait (bounded) at exit for `thread`, work that cannot be cancelled; forgotten once it has ended."""
    with _GUARD:
        for old in [t for t in _THREADS if not t.is_alive()]:
            del _THREADS[old]
        _THREADS[thread] = label


def stop_all(timeout: float | None = None) -> list[str]:
    """Stop every stopper and wait for every tracked thread within `timeout` seconds in all (default
    limits.JOB_EXIT_SECONDS); the labels of the work still running after it (empty when all ended)."""
    deadline = time.monotonic() + max(0.0, limits.JOB_EXIT_SECONDS if timeout is None else timeout)
    stoppers = list(_STOPPERS)
    for stopper in stoppers:
        stopper.shutdown(max(0.0, deadline - time.monotonic()))
    with _GUARD:
        threads = dict(_THREADS)
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    still = [label for stopper in stoppers for label in stopper.running_labels()]
    return still + [label for thread, label in threads.items() if thread.is_alive()]


class _ExitWatch:
    """Whether the main script ended on an uncaught exception: the status a forced exit must keep."""

    failed = False

    def __init__(self) -> None:
        self.previous = sys.excepthook
        sys.excepthook = self.hook

    def hook(self, kind: type[BaseException], value: BaseException, trace: Any) -> None:
        _ExitWatch.failed = True
        self.previous(kind, value, trace)


def _at_exit() -> None:
    """Stop all background work before the interpreter finalises; end the process here if some ignores it."""
    still = stop_all()
    if not still:
        return
    sys.stderr.write(f"interpret: background work did not stop within {limits.JOB_EXIT_SECONDS:g} s of exit "
                     f"({', '.join(still)}); ending the process.\n")
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os._exit(1 if _ExitWatch.failed else 0)


_ExitWatch()
atexit.register(_at_exit)
