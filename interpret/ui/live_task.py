"""One piece of a live page's work as a background job: its state for the page (finished, running, failed, waiting
for a Compute click, stopped), and the one rule for when its job starts. Saliency's maps (ui/maps.py) and the Trust
page's scores (ui/trust_jobs.py) are both built on it.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .. import limits
from ..jobs import FAILED, Job
from ..progress import Progress
from .jobs_view import Decide, job_store
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

    @property
    def done(self) -> bool:
        return self.result is not None

    @property
    def running(self) -> bool:
        return self.job is not None and self.job.active

    @property
    def failed(self) -> bool:
        return self.job is not None and self.job.state == FAILED


def task(key: str, label: str, estimate: float, work: Callable[[Progress], Any], decide: Decide, kept: SharedLRU,
         nbytes: Callable[[Any], int] | None = None, group: str | None = None) -> Task:
    """The state of one piece of work, submitting its job when it may start: `decide(key)` None starts it if its
    estimate is at most AUTO_COMPUTE_SECONDS, True always (a Compute click), False never (stopped, until asked
    again). A finished result is kept in `kept` under `key`, so it outlives the job store's bound. `group`: the model it
    runs (a job of a stalled model waits behind it, interpret/jobs.py)."""
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
    return Task(label, key, estimate, job=job)
