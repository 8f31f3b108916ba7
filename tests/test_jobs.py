"""The job store: one job per key for every caller, cancel keeps what finished, a bound on finished jobs,
errors as one line, and an estimate from passes x the time of one pass."""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from interpret.errors import ParameterError
from interpret.jobs import CANCELLED, DONE, FAILED, JobStore, estimate_seconds
from interpret.progress import report


def steps(n: int, pause: float, value=None, started: threading.Event | None = None):
    """Work of n units of `pause` seconds each, reporting progress after each unit."""
    runs = {"count": 0}

    def work(progress):
        runs["count"] += 1
        if started is not None:
            started.set()
        for i in range(n):
            time.sleep(pause)
            report(progress, (i + 1) / n)
        return np.full(4, n, dtype=np.float32) if value is None else value

    return work, runs


def test_identical_jobs_from_many_threads_run_once_and_share_the_result():
    store = JobStore(workers=2)
    work, runs = steps(5, 0.02)
    found: list = []

    def session():
        job = store.submit("map|coffee|gradient", work, "Gradient")
        job.wait(10)
        found.append(job)

    threads = [threading.Thread(target=session) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert runs["count"] == 1
    assert len({id(job) for job in found}) == 1
    assert found[0].state == DONE and found[0].result[0] == 5
    assert store.submit("map|coffee|gradient", work).result is found[0].result  # a later rerun attaches too
    assert runs["count"] == 1


def test_cancel_stops_the_running_job_and_keeps_the_finished_ones():
    store = JobStore(workers=2)
    quick, _ = steps(1, 0.01)
    started = threading.Event()
    slow, _ = steps(1000, 0.01, started=started)
    fast_job = store.submit("fast", quick, "Gradient", estimate=0.1)
    slow_job = store.submit("slow", slow, "Score-CAM", estimate=10)
    assert fast_job.wait(5) and started.wait(5)
    cancelled = store.cancel(["fast", "slow"])
    assert cancelled == [slow_job]  # a finished job is not cancelled
    assert slow_job.wait(5)
    assert slow_job.state == CANCELLED and slow_job.result is None and slow_job.fraction < 0.5
    assert store.get("fast") is fast_job and fast_job.state == DONE
    assert store.get("slow") is None  # not kept: asking again starts it again
    again = store.submit("slow", quick, "Score-CAM")
    assert again is not slow_job and again.wait(5) and again.state == DONE


def test_a_queued_job_cancelled_never_runs():
    store = JobStore(workers=1)
    started = threading.Event()
    slow, _ = steps(200, 0.01, started=started)
    never, runs = steps(1, 0.0)
    first = store.submit("first", slow, estimate=1)
    assert started.wait(5)
    second = store.submit("second", never, estimate=2)
    store.cancel()
    assert first.wait(5) and second.wait(5)
    assert second.state == CANCELLED and runs["count"] == 0


def test_the_shortest_estimate_runs_first():
    store = JobStore(workers=1)
    gate = threading.Event()
    order: list[str] = []

    def blocker(progress):
        gate.wait(5)
        return "b"

    def named(name):
        def work(progress):
            order.append(name)
            return name
        return work

    store.submit("blocker", blocker, estimate=0)
    time.sleep(0.05)
    store.submit("slow", named("slow"), estimate=300)
    store.submit("fast", named("fast"), estimate=0.5)
    gate.set()
    assert store.get("slow").wait(5)
    assert order == ["fast", "slow"]


def test_finished_jobs_are_bounded_by_count_and_bytes():
    store = JobStore(workers=2, kept=3, kept_bytes=10_000)
    for i in range(6):
        store.submit(f"k{i}", lambda p, i=i: np.zeros(100, np.float32) + i, nbytes=lambda a: a.nbytes).wait(5)
    assert list(store.finished) == ["k3", "k4", "k5"] and store.nbytes == 3 * 400
    big = store.submit("big", lambda p: np.zeros(2000, np.float32), nbytes=lambda a: a.nbytes)  # 8000 bytes
    big.wait(5)
    assert store.nbytes <= 10_000 and "big" in store.finished and len(store.finished) <= 3
    huge = store.submit("huge", lambda p: np.zeros(5000, np.float32), nbytes=lambda a: a.nbytes)
    huge.wait(5)
    assert huge.state == DONE and huge.result.size == 5000  # its caller has it ...
    assert "huge" not in store.finished and store.nbytes <= 10_000  # ... but a result over the bound is not kept
    assert not store.jobs  # nothing active is left behind


def test_a_failure_is_kept_as_one_line_and_not_run_again():
    store = JobStore(workers=1)
    runs = {"count": 0}

    def refuses(progress):
        runs["count"] += 1
        raise ParameterError("Occlusion: the window (600 px) is larger\nthan the image (224 px).")

    def crashes(progress):
        raise RuntimeError("shape mismatch\n  at line 3\n  at line 9")

    job = store.submit("bad", refuses, "Occlusion")
    job.wait(5)
    assert job.state == FAILED and job.error == "Occlusion: the window (600 px) is larger than the image (224 px)."
    assert store.submit("bad", refuses).wait(5) and runs["count"] == 1
    crash = store.submit("crash", crashes)
    crash.wait(5)
    assert crash.error == "RuntimeError: shape mismatch" and isinstance(crash.exception, RuntimeError)


def test_a_failure_is_logged_once_where_it_happens_and_a_refusal_not_at_all(caplog):
    """The defect: a failed job's traceback was logged by its page on every rerun. The store logs it once, with the
    traceback, when the job fails; a page shows its one line without logging it again."""
    from interpret.jobs import JobState
    from interpret.ui.errors import message_for

    def crashes(progress):
        raise RuntimeError("shape mismatch")

    def refuses(progress):
        raise ParameterError("Occlusion: the window is larger than the image.")

    store = JobStore(workers=1)
    with caplog.at_level("ERROR", logger="interpret"):
        crash, refusal = store.submit("crash", crashes, "Crash"), store.submit("refused", refuses, "Occlusion")
        assert crash.wait(5) and refusal.wait(5)
        for _ in range(3):  # three reruns of the page that shows it, or re-raises it (ui/answers.py)
            assert message_for(crash.exception).startswith("Unexpected error: RuntimeError")
    assert [(r.exc_info[0], r.getMessage()) for r in caplog.records] == [(RuntimeError, "job 'Crash' (crash) failed")]
    assert crash.state is JobState.FAILED and crash.state == "failed" and crash.failed and not refusal.finished_ok


def test_time_left_comes_from_passes_times_one_pass_then_from_the_measured_pace():
    assert estimate_seconds(513, 0.2) == pytest.approx(102.6)
    assert estimate_seconds(170, 0.05) == pytest.approx(8.5)
    store = JobStore(workers=1)
    gate, halfway, finish = threading.Event(), threading.Event(), threading.Event()

    def work(progress):
        progress(0.0)
        gate.wait(5)
        time.sleep(0.6)
        progress(0.5)
        halfway.set()
        finish.wait(5)
        return 1

    job = store.submit("eta", work, estimate=estimate_seconds(100, 0.3))
    assert job.seconds_left() == pytest.approx(30, abs=0.5)  # before it runs: the estimate
    gate.set()
    assert halfway.wait(5)
    left = job.seconds_left()
    assert left is not None and 0.4 < left < 1.5  # half done after ~0.6 s: ~0.6 s left, whatever was estimated
    finish.set()
    assert job.wait(5) and job.seconds_left() == 0.0


def hangs(release: threading.Event, started: threading.Event):
    """Work that reports no progress until `release` is set: a model that hangs."""
    def work(progress):
        started.set()
        release.wait()
        return 1

    return work


@pytest.fixture
def quick_stall(monkeypatch):
    """A job counts as stalled after 0.2 s without progress (MODEL_ANSWER_SECONDS' override)."""
    from interpret.limits import MODEL_ANSWER_SECONDS_ENV

    monkeypatch.setenv(MODEL_ANSWER_SECONDS_ENV, "0.2")


def test_a_hung_model_holds_one_thread_and_the_others_jobs_still_run(quick_stall):
    store = JobStore(workers=1, max_threads=3)
    release, started = threading.Event(), threading.Event()
    try:
        hung = store.submit("hung", hangs(release, started), group="model-a")
        assert started.wait(30)
        time.sleep(0.3)  # past the stall bound: no progress reported
        assert store.stalled() == [hung]
        same = store.submit("same-model", lambda progress: 2, group="model-a")
        other = store.submit("other-model", lambda progress: 3, group="model-b")
        assert other.wait(30) and other.result == 3  # a thread started in place of the stalled one
        assert same.state == "queued"  # held back behind its model's stalled job, not on a second thread
        assert "has not answered" in (store.held_back(same) or "")
        assert len([t for t in store.threads if t.is_alive()]) <= 3
    finally:
        release.set()
    assert same.wait(30) and same.result == 2  # the model answered: its held-back job runs
    assert hung.wait(30) and hung.result == 1


def test_when_hung_work_holds_every_thread_a_queued_job_says_so(quick_stall):
    store = JobStore(workers=1, max_threads=2)
    release = threading.Event()
    try:
        for name in ("a", "b"):
            started = threading.Event()
            store.submit(f"hung-{name}", hangs(release, started), group=name)
            assert started.wait(30)
            time.sleep(0.3)
            store.get(f"hung-{name}")  # a caller's look starts the replacement thread
        waiting = store.submit("c", lambda progress: 3, group="c")
        assert not waiting.wait(0.5)
        assert "2 of the 2 worker threads are held" in (store.held_back(waiting) or "")
    finally:
        release.set()
    assert waiting.wait(30) and waiting.result == 3


def test_one_job_per_group_at_a_time_where_asked():
    store = JobStore(workers=2, per_group=1)
    release, started = threading.Event(), threading.Event()
    try:
        first = store.submit("first", hangs(release, started), group="m")
        assert started.wait(30)
        second = store.submit("second", lambda progress: 2, group="m")
        assert not second.wait(0.3) and second.state == "queued"
    finally:
        release.set()
    assert first.wait(30) and second.wait(30) and second.result == 2


def test_a_kept_finished_job_does_not_keep_what_its_work_captured():
    """The defect: every kept job held its work's closure, and with it a decoded photo (7.7 MB at 1600 x 1200):
    fifty uploads grew the app by 404 MB past its 256 MB upload cache."""
    import gc
    import weakref

    class Photo:
        pass

    photo = Photo()
    alive = weakref.ref(photo)
    store = JobStore(workers=1)
    job = store.submit("prediction|photo", lambda progress, captured=photo: 1, "prediction")
    assert job.wait(10) and job.finished_ok and store.get("prediction|photo") is job
    del photo
    gc.collect()
    assert alive() is None
