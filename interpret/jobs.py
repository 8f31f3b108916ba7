"""Long computations as background jobs, keyed by what they compute, shared by every caller in the process.

A page that needs a map, a trust score or a feature visualisation submits a job under a key that names
everything the result depends on (e.g. `ui.maps.map_key`). A second submit of the same key (a rerun, a
page switch, another browser session) attaches to the job already running or finished instead of starting
it again. Jobs run on a few worker threads, shortest estimate first, outside any script run: a rerun
never throws the unfinished work away. Each job reports progress through the one protocol
(`interpret.progress`), has an estimated time left, a result or a one-line error, and can be cancelled:
its progress callback then raises `Cancelled`, the work stops after its current unit, and every other
job keeps what it finished. Finished jobs are kept in a bounded store (a count and bytes, least recently
used dropped first); running and queued jobs are never dropped.

A job's thread cannot be killed, so a model that hangs keeps one. A job may name its `group` (the model it runs):
a running job that reports no progress for MODEL_ANSWER_SECONDS is stalled, the other jobs of its group wait
behind it instead of taking a second thread, and the store starts another thread in its place (up to
JOB_THREADS_MAX threads in all) so the hung model does not take the workers from everyone else. `per_group` bounds
how many jobs of one group run at once (1 for a page's quick answers: ui/answers.py).

No torch, no Streamlit: the UI keeps one store for the process (`ui/jobs_view.py`) and draws from it.
"""
from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from .errors import InterpretError, first_line
from .limits import (
    JOB_EXIT_SECONDS,
    JOB_THREADS_MAX,
    JOB_WORKERS,
    JOBS_KEPT,
    JOBS_KEPT_BYTES,
    MODEL_ANSWER_SECONDS,
    MODEL_ANSWER_SECONDS_ENV,
    seconds_bound,
)
from .progress import Cancelled, Progress
from .shutdown import stop_at_exit


class JobState(StrEnum):
    """Where a job is: queued, running, then done, failed or cancelled (equal to its name as a string)."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


QUEUED, RUNNING, DONE, FAILED, CANCELLED = JobState  # the states by name, as callers import them
log = logging.getLogger("interpret")
LOGGED = "_interpret_logged"  # set on an exception the job store has logged with its traceback


def was_logged(exc: BaseException) -> bool:
    """Whether a job's failure `exc` was logged already, where it happened."""
    return bool(getattr(exc, LOGGED, False))


def _spent(progress: Progress) -> Any:
    """The work of a finished job: dropped, so that what the work captured is freed while the job is kept."""
    raise RuntimeError("this job has finished; submit its key again to recompute it")


def one_line(exc: BaseException) -> str:
    """A failure as the one line a user sees: an InterpretError's message, otherwise the type and first line."""
    if isinstance(exc, InterpretError):
        return " ".join(str(exc).split())
    return f"{type(exc).__name__}: {first_line(exc)}"


def answer_seconds() -> float:
    """Seconds a model may go without answering: MODEL_ANSWER_SECONDS, or its environment override."""
    return seconds_bound(MODEL_ANSWER_SECONDS, MODEL_ANSWER_SECONDS_ENV)


def estimate_seconds(passes: int, pass_seconds: float) -> float:
    """How long work of `passes` passes takes at `pass_seconds` per pass (measured on this model and device)."""
    return max(0, int(passes)) * max(0.0, float(pass_seconds))


@dataclass(eq=False)
class Job:
    """One computation: its state, progress, estimate, and its result or one-line error once finished."""

    key: str
    label: str
    work: Callable[[Progress], Any]
    estimate: float | None = None  # seconds predicted before it starts (passes x time of one pass), if known
    state: JobState = QUEUED
    fraction: float = 0.0
    result: Any = None
    error: str | None = None
    submitted: float = field(default_factory=time.monotonic)
    started: float | None = None
    finished: float | None = None
    nbytes: int = 0
    exception: BaseException | None = field(default=None, repr=False)  # a failure, for the server log
    size_of: Callable[[Any], int] | None = field(default=None, repr=False)
    group: str | None = None  # what it runs on (a model's key): a stalled job holds back its group's other jobs
    touched: float | None = None  # when it started or last reported progress
    _cancel: threading.Event = field(default_factory=threading.Event, repr=False)
    _done: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def finished_ok(self) -> bool:
        return self.state == DONE

    @property
    def failed(self) -> bool:
        return self.state == FAILED

    @property
    def active(self) -> bool:
        """Queued or running: its result is still to come."""
        return self.state in (QUEUED, RUNNING)

    def progress(self, fraction: float) -> None:
        """The work's progress callback: records the fraction done; raises Cancelled once cancel() was called."""
        self.fraction = min(1.0, max(self.fraction, float(fraction)))
        self.touched = time.monotonic()
        if self._cancel.is_set():
            raise Cancelled(f"{self.label} stopped.")

    def cancel(self) -> None:
        """Stop this job after its current unit of work (a queued job never starts)."""
        self._cancel.set()

    @property
    def cancel_requested(self) -> bool:
        return self._cancel.is_set()

    def elapsed(self, now: float | None = None) -> float:
        if self.started is None:
            return 0.0
        return ((self.finished if self.finished is not None else (now or time.monotonic())) - self.started)

    def seconds_left(self, now: float | None = None) -> float | None:
        """Estimated seconds until it finishes: from the measured pace once a few percent are done, otherwise
        from the estimate made before it started (None when neither is known)."""
        if not self.active:
            return 0.0
        elapsed = self.elapsed(now)
        if self.fraction >= 0.02 and elapsed > 0.5:
            measured = elapsed * (1 - self.fraction) / self.fraction
            if self.estimate is None or self.fraction >= 0.1:
                return measured
            weight = self.fraction / 0.1  # blend from the prior estimate towards the measured pace
            return weight * measured + (1 - weight) * max(0.0, self.estimate - elapsed)
        if self.estimate is None:
            return None
        return max(0.0, self.estimate - elapsed)

    def stalled(self, seconds: float, now: float | None = None) -> bool:
        """Running without a progress report for more than `seconds`: its model may hang."""
        return self.state == RUNNING and self.touched is not None and (now or time.monotonic()) - self.touched > seconds

    def wait(self, timeout: float | None = None) -> bool:
        """Block until it is finished (done, failed or cancelled); False if `timeout` passed first."""
        return self._done.wait(timeout)


class JobStore:
    """Jobs by key: one per key while it runs, finished ones kept up to `kept` jobs and `kept_bytes` bytes.

    `workers` threads run jobs, plus one for each stalled job, up to `max_threads`; at most `per_group` jobs of one
    group run at once (None: no bound), and none while one of the group is stalled."""

    def __init__(self, workers: int = JOB_WORKERS, kept: int = JOBS_KEPT, kept_bytes: int = JOBS_KEPT_BYTES,
                 per_group: int | None = None, max_threads: int = JOB_THREADS_MAX):
        self.workers, self.kept, self.kept_bytes = workers, kept, kept_bytes
        self.per_group, self.max_threads = per_group, max(workers, max_threads)
        self.guard = threading.Lock()
        self.wake = threading.Condition(self.guard)
        self.jobs: dict[str, Job] = {}                          # active jobs by key
        self.finished: OrderedDict[str, Job] = OrderedDict()    # finished jobs, least recently used first
        self.nbytes = 0
        self.queue: list[tuple[float, int, Job]] = []           # (estimate, order, job): shortest first
        self.order = itertools.count()
        self.threads: list[threading.Thread] = []
        self.started = 0                                        # jobs whose work was actually run (evidence)
        self.closed = False                                     # shut down: workers end, submits are not run
        stop_at_exit(self)

    def get(self, key: str) -> Job | None:
        """The job under `key` (running, queued or kept finished), or None."""
        with self.guard:
            job = self.jobs.get(key)
            if job is None and key in self.finished:
                self.finished.move_to_end(key)
                job = self.finished[key]
            self._start_workers()  # a job that stalled since the last call gets a thread in its place
            return job

    def submit(self, key: str, work: Callable[[Progress], Any], label: str = "", estimate: float | None = None,
               nbytes: Callable[[Any], int] | None = None, group: str | None = None) -> Job:
        """The job computing `key`: the one already running or kept, or a new one running `work(progress)`.

        A failed job is kept with its one-line error (the same inputs fail the same way); a cancelled one is
        not kept, so submitting its key again starts it again. `nbytes(result)`
        is what a finished result holds (counted against the store's byte bound); `group` is what it runs on.
        """
        with self.guard:
            found = self.jobs.get(key) or self.finished.get(key)
            if found is not None and not (found.active and found.cancel_requested):  # a stopping job is replaced
                if key in self.finished:
                    self.finished.move_to_end(key)
                return found
            job = Job(key, label or key, work, estimate, size_of=nbytes, group=group)
            if self.closed:  # the process is exiting: nothing new starts
                job.cancel()
            self.jobs[key] = job
            heapq.heappush(self.queue, (estimate if estimate is not None else float("inf"), next(self.order), job))
            self._start_workers()
            self.wake.notify()
            return job

    def cancel(self, keys: list[str] | None = None) -> list[Job]:
        """Cancel the active jobs under `keys` (all active jobs when None); returns those cancelled.
        Finished jobs stay as they are."""
        with self.guard:
            chosen = [self.jobs[k] for k in (self.jobs if keys is None else keys) if k in self.jobs]
        for job in chosen:
            job.cancel()
        return chosen

    def active(self) -> list[Job]:
        with self.guard:
            return list(self.jobs.values())

    def shutdown(self, timeout: float = JOB_EXIT_SECONDS) -> bool:
        """Cancel every job and wait up to `timeout` seconds for the workers to end; True if they all did.
        Run for every store at exit (interpret/shutdown.py)."""
        with self.guard:
            self.closed = True
            threads = list(self.threads)
            self.wake.notify_all()
        self.cancel()
        deadline = time.monotonic() + max(0.0, timeout)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return not any(thread.is_alive() for thread in threads)

    def forget(self, key: str) -> None:
        """Drop the finished job under `key` (a failure that should be tried again); an active one stays."""
        with self.guard:
            job = self.finished.pop(key, None)
            if job is not None:
                self.nbytes -= job.nbytes

    def stalled(self) -> list[Job]:
        """The running jobs that have reported no progress for answer_seconds(): each holds a thread."""
        seconds, now = answer_seconds(), time.monotonic()
        with self.guard:
            return [job for job in self.jobs.values() if job.stalled(seconds, now)]

    def held_back(self, job: Job) -> str | None:
        """Why a queued job is not running yet, when the reason is stalled work (None otherwise)."""
        if job.state != QUEUED:
            return None
        stalled = self.stalled()
        if job.group is not None and any(other.group == job.group for other in stalled):
            return f"its model has not answered for over {answer_seconds():g} s and may hang"
        with self.guard:
            full = len([t for t in self.threads if t.is_alive()]) >= self.max_threads
        if stalled and full:
            return (f"{len(stalled)} of the {self.max_threads} worker threads are held by work that has not answered "
                    f"for over {answer_seconds():g} s")
        return None

    def running_labels(self) -> list[str]:
        """The labels of the jobs still running (for the exit's message)."""
        with self.guard:
            return [job.label for job in self.jobs.values() if job.state == RUNNING]

    def _start_workers(self) -> None:
        """(Guard held.) `workers` threads, plus one in place of each stalled job, up to `max_threads`."""
        self.threads = [t for t in self.threads if t.is_alive()]
        if self.closed:
            return
        seconds, now = answer_seconds(), time.monotonic()
        stalled = sum(job.stalled(seconds, now) for job in self.jobs.values())
        while len(self.threads) < min(self.max_threads, self.workers + stalled):
            thread = threading.Thread(target=self._worker, name=f"interpret-job-{len(self.threads)}", daemon=True)
            self.threads.append(thread)
            thread.start()

    def _runnable(self, job: Job, seconds: float, now: float) -> bool:
        """(Guard held.) Whether a queued job may start: a cancelled one always (it ends at once); otherwise not
        while a job of its group is stalled or `per_group` of them run."""
        if job.group is None or job.cancel_requested:
            return True
        running = [other for other in self.jobs.values() if other.group == job.group and other.state == RUNNING]
        if any(other.stalled(seconds, now) for other in running):
            return False
        return self.per_group is None or len(running) < self.per_group

    def _pick(self) -> Job | None:
        """(Guard held.) The queued job to run next: the shortest estimate among those that may start."""
        seconds, now = answer_seconds(), time.monotonic()
        for entry in sorted(self.queue, key=lambda e: (e[0], e[1])):
            if self._runnable(entry[2], seconds, now):
                self.queue.remove(entry)
                heapq.heapify(self.queue)
                entry[2].state = RUNNING  # claimed: its group's count sees it before its work starts
                return entry[2]
        return None

    def _worker(self) -> None:
        while True:
            with self.guard:
                while (job := self._pick()) is None:
                    # idle workers end (submit starts new ones); one held back by stalled work looks again each second
                    if self.closed or (not self.wake.wait(timeout=1.0 if self.queue else 30) and not self.queue):
                        self.threads = [t for t in self.threads if t is not threading.current_thread()]
                        return
            self._run(job)

    def _run(self, job: Job) -> None:
        if job.cancel_requested:
            self._finish(job, CANCELLED, error=f"{job.label} stopped.")
            return
        job.started = job.touched = time.monotonic()
        with self.guard:
            self.started += 1
        try:
            result = job.work(job.progress)
        except Cancelled as exc:
            self._finish(job, CANCELLED, error=one_line(exc))
        except Exception as exc:  # noqa: BLE001 - a job's failure is its one-line error, shown by its page
            if not isinstance(exc, InterpretError):  # logged once, here, with its traceback: a page shows one line
                log.error("job %r (%s) failed", job.label, job.key, exc_info=exc)
                setattr(exc, LOGGED, True)  # a page that shows it (or re-raises it: ui/answers.py) does not log it again
            self._finish(job, FAILED, error=one_line(exc), exc=exc)
        else:
            size = job.size_of(result) if job.size_of is not None else 0
            self._finish(job, DONE, result=result, nbytes=size)

    def _finish(self, job: Job, state: JobState, result: Any = None, error: str | None = None, nbytes: int = 0,
                exc: BaseException | None = None) -> None:
        job.result, job.error, job.nbytes, job.exception = result, error, nbytes, exc
        job.work = _spent  # a kept job keeps its result, not what its work captured (a decoded photo, tensors)
        job.finished = time.monotonic()
        if state == DONE:
            job.fraction = 1.0
        with self.guard:
            if self.jobs.get(job.key) is job:
                del self.jobs[job.key]
            if state != CANCELLED and nbytes <= self.kept_bytes:  # a cancelled job is not kept: a resubmit restarts it
                self.finished[job.key] = job
                self.nbytes += nbytes
                while len(self.finished) > self.kept or self.nbytes > self.kept_bytes:
                    _, old = self.finished.popitem(last=False)
                    self.nbytes -= old.nbytes
            job.state = state
            self.wake.notify_all()  # its group's held-back jobs may start now
        job._done.set()
