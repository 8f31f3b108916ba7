"""A process that uses the package exits cleanly while background work runs: jobs are cancelled and joined,
and a model's first forward pass waited for (within limits.JOB_EXIT_SECONDS) at exit, so its status is its own,
never SIGABRT (134) (interpret/shutdown.py).

Each case is a real Python process: a script, and an AppTest run of the Saliency page, each ending while a
job is inside torch.
"""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SLOW_JOB = """
import time
import torch, torchvision
from interpret.jobs import JobStore

store = JobStore()
model = torchvision.models.resnet18().eval()
finished = []

def work(progress):
    x = torch.randn(8, 3, 96, 96, requires_grad=True)
    for i in range(200):
        progress(i / 200)
        model(x).sum().backward()
    finished.append(True)

job = store.submit("slow", work, "a slow gradient job")
while job.fraction == 0.0:
    time.sleep(0.05)
"""


def run_script(code: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


def test_a_script_that_exits_while_a_job_runs_in_torch_exits_with_status_0():
    done = run_script(SLOW_JOB + "print('script done', flush=True)\n")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "script done" in done.stdout
    assert "terminate called" not in done.stderr


def test_an_uncaught_exception_keeps_its_status_1():
    done = run_script(SLOW_JOB + "raise RuntimeError('the script failed')\n")
    assert done.returncode == 1, done.stderr[-2000:]
    assert "the script failed" in done.stderr


def test_a_job_that_ignores_its_cancel_ends_the_process_after_the_bound_with_the_scripts_status():
    stuck = """
    import time
    import torch
    from interpret import jobs, limits

    limits.JOB_EXIT_SECONDS = 1.0
    store = jobs.JobStore()
    started = []

    def never_stops(progress):
        started.append(True)
        while True:  # never calls progress: cancel cannot reach it
            torch.ones(300, 300) @ torch.ones(300, 300)

    store.submit("stuck", never_stops, "a job that never returns")
    while not started:
        time.sleep(0.05)
    print('script done', flush=True)
    """
    done = run_script(stuck)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "script done" in done.stdout
    assert "did not stop within 1 s of exit (a job that never returns)" in done.stderr
    assert "terminate called" not in done.stderr


def test_a_model_load_cut_off_by_the_first_pass_bound_does_not_abort_the_exit(tmp_path):
    """The loader stops waiting for a slow first forward pass; its thread still runs when the script ends."""
    code = f"""
    import os, sys
    sys.path.insert(0, "tests")
    from hostile.scripted import Slow, first_pass_running, script_bytes
    from interpret import limits
    from interpret.errors import ModelLoadError
    from interpret.models import load_model

    limits.JOB_EXIT_SECONDS = 1.0
    os.environ[limits.FIRST_FORWARD_SECONDS_ENV] = "0.2"
    path = {str(tmp_path / "slow.pt")!r}
    open(path, "wb").write(script_bytes(Slow()))
    try:
        load_model(path, trust_code=True)
    except ModelLoadError as exc:
        print("refused:", exc, flush=True)
    assert first_pass_running("slow.pt")
    """
    done = run_script(code)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "refused: 'slow.pt' did not finish its first forward pass" in done.stdout
    assert "did not stop within 1 s of exit (the first forward pass of 'slow.pt')" in done.stderr
    assert "terminate called" not in done.stderr


def test_an_apptest_of_the_saliency_page_exits_with_status_0_while_its_map_runs():
    """The issue's reproduction: a script that opened the Saliency page and ended while a map job ran."""
    code = """
    import sys
    sys.path.insert(0, "tests")
    from app_support import open_app
    from interpret.ui.jobs_view import job_store

    at = open_app("pages/saliency.py")
    at.multiselect(key="sal-methods").set_value(["occlusion"]).run()
    at.number_input(key="sal-occlusion-stride").set_value(3).run()  # 4 225 windows: waits for a click
    next(b for b in at.button if b.label == "Compute Occlusion").click().run()
    assert not at.exception, at.exception
    assert [j for j in job_store().active() if j.label == "Occlusion"], "the Occlusion job runs"
    print("page opened", flush=True)
    """
    done = run_script(code, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "page opened" in done.stdout
