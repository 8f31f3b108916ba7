"""The live part: a page's background work (interpret/jobs.py) drawn in one way everywhere.

A `Task` is one piece of a live page's work (a map, a score): its state for the page (finished, running, failed,
waiting for a Compute click, stopped), submitted by `task` under the one start rule (auto when its estimate is at
most AUTO_COMPUTE_SECONDS, else on a Compute click; Stop keeps it stopped until asked again). `task_controls` draws
a set of them above what they feed (each failure once, Stop or 'stopped' with Continue, Compute all, a bar with the
time left per running one), and `live_tasks` runs the part in a fragment that refreshes in place, after a first
paint that waits for the quick ones. Saliency's maps (ui/maps.py), the photo grid and the Trust page (ui/trust_jobs.py)
are built on it; a page with one job of its own uses `one_job`.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import streamlit as st

from .. import limits
from ..jobs import Job
from ..progress import Progress
from .errors import show_job_error
from .jobs_view import (
    Decide,
    decider,
    duration,
    first_paint,
    job_placeholder,
    job_store,
    live,
    soon,
    start_live,
    stop_row,
)
from .plain import plain
from .shared_lru import SharedLRU


@dataclass
class Task:
    """One piece of a live page's work (a map, a score): finished (`result`), running or queued (`job`), failed
    (`job.error`), waiting for a Compute click (its estimate is over AUTO_COMPUTE_SECONDS), or stopped."""

    label: str
    key: str
    estimate: float
    result: Any = None
    job: Job | None = None
    waiting: bool = False
    stopped: bool = False
    refusal_note: str | None = None  # its failure is shown as a note headed so (the rest stands), not an error

    @property
    def done(self) -> bool:
        return self.result is not None

    @property
    def running(self) -> bool:
        return self.job is not None and self.job.active

    @property
    def failed(self) -> bool:
        return self.job is not None and self.job.failed


def task(key: str, label: str, estimate: float, work: Callable[[Progress], Any], decide: Decide, kept: SharedLRU,
         nbytes: Callable[[Any], int] | None = None, group: str | None = None, refusal_note: str | None = None) -> Task:
    """The state of one piece of work, submitting its job when it may start: `decide(key)` None starts it if its
    estimate is at most AUTO_COMPUTE_SECONDS, True always (a Compute click), False never (stopped, until asked
    again). A finished result is kept in `kept` under `key`, so it outlives the job store's bound. `group`: the model it
    runs (a job of a stalled model waits behind it, interpret/jobs.py). `refusal_note`: see Task."""
    start = decide(key)
    found = kept.get(key)
    if found is not None:
        return Task(label, key, estimate, result=found)
    store = job_store()
    job = store.get(key)
    if job is not None and job.finished_ok:
        return Task(label, key, estimate, result=job.result)
    if job is not None and job.active and job.cancel_requested and start is not True:
        return Task(label, key, estimate, stopped=True)
    if job is None and (start is True or (start is None and estimate <= limits.AUTO_COMPUTE_SECONDS)):
        def run(progress: Progress) -> Any:
            result = work(progress)
            kept.put(key, result, nbytes(result) if nbytes is not None else 0)
            return result

        job = store.submit(key, run, label, estimate, nbytes=nbytes, group=group)
    if job is None:
        return Task(label, key, estimate, waiting=start is None, stopped=start is False)
    return Task(label, key, estimate, job=job, refusal_note=refusal_note)


# ---------------------------------------------------------------- the live part of a set of tasks

def failures(tasks: list[Task], device: str) -> None:
    """Each distinct failure once: an error naming its task, or a note where the task's failure leaves the rest
    standing (`Task.refusal_note`: a sanity check beside a map's scores). Logged once where it failed, not here."""
    seen: set[str] = set()
    for t in tasks:
        if not t.failed or t.job is None or (t.job.error or "") in seen:
            continue
        seen.add(t.job.error or "")
        if t.refusal_note is not None:
            st.info(plain(f"{t.refusal_note}: {t.job.error}"))
        else:
            show_job_error(t.job, device, t.label)


def ask(key: str, job_keys: list[str]) -> None:
    """A Compute or Continue click: the jobs under `job_keys` may start (stopped ones included), and the live part
    reruns so that it refreshes while they run."""
    _, asked, stopped = decider(key)
    asked.update(job_keys)
    stopped.difference_update(job_keys)
    start_live(key)


def status_line(tasks: list[Task], key: str, shown: int, total: int, what: str) -> list[Task]:
    """The line above a live part: what runs with Stop (jobs_view.stop_row), or 'stopped: N of M ... shown' with
    Continue. Returns the running tasks."""
    running = [t for t in tasks if t.running]
    if running:
        _, asked, stopped = decider(key)
        stop_row(f"{shown} of {total} {what} shown; computing {', '.join(t.label for t in running)} in the "
                 "background.", [t.key for t in running], key, asked, stopped)
        return running
    halted = [t for t in tasks if t.job is None and t.stopped]
    if halted:
        left, right = st.columns([5, 1])
        left.info(f"stopped: {shown} of {total} {what} shown")
        if right.button("Continue", key=f"{key}-resume", help="Start again what was stopped."):
            ask(key, [t.key for t in halted])
    return running


def pending_cell(t: Task, key: str) -> None:
    """One unfinished task: its bar with the time left, or why it waits (a click, or Stop) and its Compute button."""
    if t.running and t.job is not None:
        job_placeholder(t.job, t.label)
        return
    why = "stopped" if t.stopped else "waits for a click"
    st.caption(plain(f"{t.label} {why}: estimated {duration(t.estimate)}."))
    digest = hashlib.sha256(t.key.encode()).hexdigest()[:12]
    if st.button(f"Compute {t.label}", key=f"{key}-go-{digest}"):
        ask(key, [t.key])


def task_controls(tasks: list[Task], key: str, shown: int, total: int, what: str, device: str,
                  columns: int = 4) -> list[Task]:
    """The live part of a set of tasks, above what they draw: each failure once, the status line (Stop, or
    stopped with Continue), 'Compute all N' when several wait, and per unfinished task its bar or its Compute
    button. Returns the running tasks (the fragment refreshes while there are any)."""
    failures(tasks, device)
    running = status_line(tasks, key, shown, total, what)
    pending = [t for t in tasks if not t.done and not t.failed]
    waiting = [t for t in pending if t.job is None]
    if len(waiting) > 1 and st.button(f"Compute all {len(waiting)}", key=f"{key}-go-all",
                                      help="Start every job that waits for a click (they run one or two at a time)."):
        ask(key, [t.key for t in waiting])
    if pending:
        cells = st.columns(columns)
        for i, t in enumerate(pending):
            with cells[i % columns]:
                pending_cell(t, key)
    return running


def live_tasks(key: str, jobs: Callable[[], list[Job]], draw: Callable[[], bool],
               waits: Callable[[], bool] | None = None) -> None:
    """First paint (the quick jobs' results without a flicker of bars), then `draw` in a fragment that refreshes
    in place while it returns True (jobs_view.live); `waits()`: whether it also waits for work of another part (the
    maps a sanity check needs)."""
    active = first_paint(lambda: [j for j in jobs() if j is not None])
    live(draw, key, active or (waits is not None and waits()))


# ---------------------------------------------------------------- the live part of one job

class Phase(StrEnum):
    """Where a page's one job is for the page: its result is there, it failed, was stopped, waits for a click, runs."""

    DONE = "done"
    FAILED = "failed"
    STOPPED = "stopped"
    WAITING = "waiting"
    RUNNING = "running"


@dataclass
class OneJob:
    """A page's one piece of background work and its words: `part` keys the live part (its asked and stopped sets,
    its refresh), `key` the job; `asking` is said while it waits for a click on `go`, `stopped` (if any) once Stop was
    clicked, with `again` to resume it; `bar(job)` is the running bar's text."""

    part: str
    key: str
    label: str
    estimate: float | None  # None: unknown, it waits for a click
    work: Callable[[Progress], Any]
    asking: str
    go: str
    bar: Callable[[Job], str]
    device: str = "the device"
    stopped: str | None = None
    again: str = "Continue"
    stop: str = "Stop"
    stop_help: str = "Stop it; what is done stays, and Continue resumes."
    nbytes: Callable[[Any], int] | None = None
    group: str | None = None
    keys: dict[str, str] = field(default_factory=dict)  # widget keys by role (go, again, stop): part-go, ... otherwise

    def widget(self, role: str) -> str:
        return self.keys.get(role, f"{self.part}-{role}")


def one_job(spec: OneJob) -> tuple[Phase, Job | None]:
    """The live part of a page's one job, by the one start rule: submitted at once when its estimate is at most
    AUTO_COMPUTE_SECONDS or it was asked for, else `asking` and a button; while it runs, a bar with the time left and
    Stop (refreshed in place, the rest of the page not rerun); once stopped, the `stopped` line and `again`; a
    failure's one line. Returns the phase and the job (the finished job for DONE)."""
    _, asked, stopped = decider(spec.part)
    store = job_store()
    job = store.get(spec.key)
    if job is not None and job.failed:
        show_job_error(job, spec.device, spec.label)
        return Phase.FAILED, job
    if job is not None and job.finished_ok:
        return Phase.DONE, job
    if spec.key in stopped and (job is None or job.cancel_requested):
        _stopped_line(spec, job)
        return Phase.STOPPED, job
    if job is None:
        if spec.key not in asked and (spec.estimate is None or spec.estimate > limits.AUTO_COMPUTE_SECONDS):
            st.info(plain(spec.asking))
            if st.button(spec.go, key=spec.widget("go")):
                asked.add(spec.key)
                st.rerun()
            return Phase.WAITING, None
        job = store.submit(spec.key, spec.work, spec.label, spec.estimate, nbytes=spec.nbytes, group=spec.group)
    if job.active and soon(job, limits.FIRST_PAINT_SECONDS):
        job.wait(limits.FIRST_PAINT_SECONDS)  # a quick job is done before the first paint
    if job.finished_ok:
        return Phase.DONE, job
    if not job.active:  # failed, or stopped by another session: the next run says so
        st.rerun()
    _running(spec, job)
    return Phase.RUNNING, job


def _stopped_line(spec: OneJob, job: Job | None) -> None:
    _, asked, stopped = decider(spec.part)
    if spec.stopped:
        st.warning(plain(spec.stopped))
    if st.button(spec.again, key=spec.widget("again")):
        stopped.discard(spec.key)
        asked.add(spec.key)
        if job is not None:
            job.wait(limits.JOB_EXIT_SECONDS)  # the stopping run ends its unit before the next one starts
        st.rerun()


def _running(spec: OneJob, job: Job) -> None:
    _, asked, stopped = decider(spec.part)

    def draw() -> bool:
        left, right = st.columns([5, 1])
        with left:
            job_placeholder(job, spec.bar(job))
        if job.active and right.button(spec.stop, key=spec.widget("stop"), help=spec.stop_help):
            job_store().cancel([spec.key])
            stopped.add(spec.key)
            asked.discard(spec.key)
            st.rerun()
        return job.active

    live(draw, spec.part, True)
