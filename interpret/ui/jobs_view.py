"""Drawing background jobs (interpret/jobs.py): the process's one store, a placeholder per running job with its
progress and time left, and a part of a page that refreshes in place while its jobs run.

The store is an `st.cache_resource`, so every browser session shares it: two sessions asking for the same map
attach to one job. A page draws what finished at once and a placeholder for the rest inside `live(...)`, an
`st.fragment` that reruns itself every JOB_REFRESH_SECONDS while a job it shows is active (and reruns the
page once when the last one ends, which stops the timer); the rest of the page is not rerun meanwhile.
"""
from __future__ import annotations

import time
from collections.abc import Callable

import streamlit as st

from ..jobs import QUEUED, Job, JobStore, answer_seconds
from ..limits import FIRST_PAINT_SECONDS, JOB_REFRESH_SECONDS
from .plain import plain


@st.cache_resource
def job_store() -> JobStore:
    """The one job store of this server process, shared by every session."""
    return JobStore()


def duration(seconds: float | None) -> str:
    """'about 40 s', 'about 3 min', or 'unknown' when there is no estimate yet."""
    if seconds is None:
        return "unknown"
    if seconds < 1:
        return "under 1 s"
    if seconds < 90:
        return f"about {round(seconds)} s"
    if seconds < 5400:
        return f"about {round(seconds / 60)} min"
    return f"about {seconds / 3600:.1f} h"


def job_placeholder(job: Job, label: str) -> None:
    """A running or queued job as a progress bar with what it computes and the time left; one held back or stalled by
    a model that does not answer says so (interpret/jobs.py)."""
    held = job_store().held_back(job) if job.state == QUEUED else None
    if held:
        text = f"{label}: waiting, because {held}"
    elif job.state == QUEUED:
        text = f"{label}: waiting for a free worker · estimated {duration(job.estimate)}"
    elif job.stalled(answer_seconds()):
        text = f"{label}: {job.fraction:.0%} · no progress for over {answer_seconds():g} s: the model may hang"
    else:
        text = f"{label}: {job.fraction:.0%} · {duration(job.seconds_left())} left"
    st.progress(job.fraction, text=plain(text))


def live(draw: Callable[[], bool], key: str, active: bool) -> None:
    """Run `draw()` (which returns whether any job it shows is still active) in a fragment that refreshes in
    place every JOB_REFRESH_SECONDS when `active` (jobs run now); when the last job ends, the page reruns once
    (which draws what needs every result, and stops the timer)."""
    flag = f"{key}-live"
    st.session_state[flag] = active

    def body() -> None:
        still = draw()
        if st.session_state.get(flag) and not still:
            st.session_state[flag] = False
            st.rerun()

    st.fragment(body, run_every=JOB_REFRESH_SECONDS if active else None)()


def start_live(key: str) -> None:
    """Jobs were just started or resumed from inside the live part: rerun the page so it refreshes while they run."""
    st.session_state[f"{key}-live"] = True
    st.rerun()


Decide = Callable[[str], "bool | None"]


def decider(key: str) -> tuple[Decide, set[str], set[str]]:
    """The start rule of a live part's jobs and the session's sets it reads: asked (a Compute click) and stopped.
    `decide(job_key)` is True once asked, False once stopped (until asked again), None otherwise (the job starts
    if its estimate is at most AUTO_COMPUTE_SECONDS)."""
    asked: set[str] = st.session_state.setdefault(f"{key}-asked", set())
    stopped: set[str] = st.session_state.setdefault(f"{key}-stopped", set())

    def decide(job_key: str) -> bool | None:
        return True if job_key in asked else False if job_key in stopped else None

    return decide, asked, stopped


def soon(job: Job, seconds: float) -> bool:
    """Whether `job` is expected to finish within `seconds` (by its measured pace, or its estimate)."""
    left = job.seconds_left()
    return left is not None and left <= seconds


def first_paint(running: Callable[[], list[Job]]) -> bool:
    """Wait up to FIRST_PAINT_SECONDS for the quick ones of the `running()` jobs (and the jobs they lead to), so
    they appear in the first paint without a flicker of bars; a slow job is not waited for (a rerun while it runs
    draws at once). Returns whether any job is still running."""
    deadline = time.monotonic() + FIRST_PAINT_SECONDS
    while True:
        jobs = [j for j in running() if j.active]
        left = deadline - time.monotonic()
        quick = [j for j in jobs if soon(j, left)]
        if not quick or left <= 0:
            return bool(jobs)
        quick[0].wait(min(left, 0.25))


def stop_row(caption: str, keys: list[str], key: str, asked: set[str], stopped: set[str]) -> None:
    """The line above a live part while jobs run: what is computing, and Stop, which cancels the jobs under `keys`
    (what finished stays) and keeps them stopped until asked again."""
    left, right = st.columns([5, 1])
    left.caption(plain(caption))
    if right.button("Stop", key=f"{key}-stop", help="Cancel what is still computing; what finished stays."):
        job_store().cancel(keys)
        stopped.update(keys)
        asked.difference_update(keys)
        st.rerun()
