"""Showing what went wrong as one clear message, never a traceback: the UI's one catch list.

- an `InterpretError` (a user's file or value was refused) is shown as its one-line message;
- a real device failure (torch's OutOfMemoryError, a RuntimeError naming CUDA/MPS/the device) or a device this
  machine lacks gets the app's device advice (`errors.device_advice(..., "app")`: the sidebar; switching to cpu only
  when the device is not cpu already);
- a model that has not answered within its bound (`NotAnsweredError`, ui/answers.py) is one st.warning, and the
  page reruns by itself once the answer comes;
- anything else is logged with its traceback to the server log (`logging.getLogger("interpret")`) and
  shown as one line.
Each section of a page runs inside its own `user_errors`, so one failing section leaves the others drawn.
Streamlit's own control flow (st.rerun, st.stop) derives from BaseException and passes through.
"""
from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

from ..errors import DeviceError, InterpretError, NotAnsweredError, device_advice, first_line, is_device_failure
from ..jobs import Job, was_logged
from ..limits import JOB_REFRESH_SECONDS

log = logging.getLogger("interpret")


def message_for(exc: BaseException, device: str = "the device", logged: bool = False) -> str:
    """What the user sees for `exc`: one line (unexpected errors are logged with their traceback first, unless
    `logged`: a background job's failure is logged once where it happened, interpret/jobs.py)."""
    if isinstance(exc, DeviceError) or (is_device_failure(exc) and not isinstance(exc, InterpretError)):
        return device_advice(exc, None if device == "the device" else device, "app")
    if isinstance(exc, InterpretError):
        return " ".join(str(exc).split("\n"))
    if isinstance(exc, MemoryError):
        return "The computation ran out of memory: use a smaller image, model or set."
    if not logged and not was_logged(exc):
        log.error("unexpected error shown to the user as one line", exc_info=exc)
    return f"Unexpected error: {type(exc).__name__}: {first_line(exc)} (the traceback is in the server log)."


def show_error(exc: BaseException, device: str = "the device", what: str | None = None, logged: bool = False) -> None:
    """The one-line message for `exc` as an st.error (prefixed by `what` failed), never read as Markdown."""
    from .plain import plain

    message = message_for(exc, device, logged)
    st.error(plain(f"{what}: {message}" if what else message), icon="⚠️")


def show_job_error(job: Job, device: str = "the device", what: str | None = None) -> None:
    """A failed background job's one line (its traceback was logged once, when it failed: not again on each rerun)."""
    from .plain import plain

    if job.exception is not None:
        show_error(job.exception, device, what, logged=True)
    else:
        st.error(plain(f"{what}: {job.error}" if what else job.error or "It failed."), icon="⚠️")


def show_not_answered(exc: NotAnsweredError) -> None:
    """The one line for a model that has not answered, and a refresh that reruns the page once its job ends."""
    from .plain import plain

    st.warning(plain(" ".join(str(exc).split())), icon="⏳")
    waiting = exc.waiting
    if waiting is None or not waiting.active:
        return

    def body() -> None:
        if not waiting.active:
            st.rerun()

    st.fragment(body, run_every=JOB_REFRESH_SECONDS)()


@contextmanager
def user_errors(device: str = "the device", what: str | None = None) -> Iterator[None]:
    """Run a block; any failure becomes one st.error (naming `what` when given) and the rest of the page goes on."""
    try:
        yield
    except NotAnsweredError as exc:
        show_not_answered(exc)
    except Exception as exc:  # noqa: BLE001 - the UI's edge: every failure is one line, never a traceback
        show_error(exc, device, what)
