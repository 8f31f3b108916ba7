"""The Trust page and the Mistakes evaluation as live pages in AppTest: background jobs attached to by reruns and page
switches, finished rows drawn while a slow map still runs, and Stop keeping what finished.

The defect: the Trust page, its sanity check and the Mistakes set evaluation computed inside the script run, so a
page switch or any widget change threw the work away and nothing appeared until all of it was done."""
from __future__ import annotations

import time

import pytest
from streamlit.testing.v1 import AppTest

from app_support import open_app, settle
from interpret.ui import maps, mistakes_view, trust_jobs
from interpret.ui.jobs_view import job_store
from test_mistakes_zip import CAT, COFFEE, make_zip


def texts(at: AppTest) -> str:
    return " ".join([c.value for c in at.caption] + [i.value for i in at.info] + [w.value for w in at.warning])


def table(at: AppTest):
    return next((d.value for d in at.dataframe if "map" in d.value.columns), None)


def until(at: AppTest, done, timeout: float = 180.0) -> AppTest:
    """Rerun the page (as the browser's refresh timer would) until `done(at)`."""
    deadline = time.monotonic() + timeout
    while not done(at):
        assert time.monotonic() < deadline, texts(at)
        time.sleep(0.3)
        at.run()
    return at


def rise_jobs() -> list:
    return [j for j in job_store().active() if j.label == "RISE"]


@pytest.fixture(scope="module")
def trust():
    """Trust with Gradient and a slow RISE: slow on any machine, since each of its 1000 masked copies gets a forward
    of its own (MASKED_BATCH_BYTES of 1); every estimate starts unasked, so nothing depends on this machine's pace."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("interpret.limits.MASKED_BATCH_BYTES", 1)
        patch.setattr("interpret.limits.AUTO_COMPUTE_SECONDS", 1e9)
        at = open_app(timeout=300)
        at.switch_page("pages/trust.py")
        at.session_state["trust-methods"] = ["gradient", "rise"]  # chosen before the page's first run
        at.session_state["trust-steps"] = 8  # the fewest steps: quick rows beside the slow map
        at.run()
        assert not at.exception, at.exception
        yield at
        job_store().cancel([j.key for j in rise_jobs()])


def test_finished_rows_are_drawn_while_a_slow_map_runs(trust):
    until(trust, lambda at: "4 of 5 rows shown" in texts(at) and not [j for j in job_store().active()
                                                                      if j.label.startswith("Gradient")])
    assert rise_jobs(), "RISE is still running"
    assert list(table(trust)["map"]) == ["Gradient (saliency)", "reference: random", "reference: centre",
                                         "reference: sobel"]
    assert table(trust)["sanity"][0] in ("passes", "flagged")
    bars = [p.proto.text for p in trust.get("progress") if "RISE" in p.proto.text]
    assert bars and ("left" in bars[0] or "estimated" in bars[0])  # a placeholder with the time left
    assert trust.get("vega_lite_chart") or trust.get("arrow_vega_lite_chart")  # the finished rows' curves


def test_leaving_the_page_and_coming_back_attaches_to_the_running_job(trust):
    [running] = rise_jobs()
    started, computed, scored = job_store().started, maps.computations["count"], dict(trust_jobs.computations)
    trust.switch_page("pages/overview.py").run()
    trust.switch_page("pages/trust.py").run()
    assert not trust.exception, trust.exception
    assert rise_jobs() == [running] and running.active  # the same job, still running
    assert job_store().started == started and maps.computations["count"] == computed
    assert trust_jobs.computations == scored  # no row was scored again
    assert "4 of 5 rows shown" in texts(trust)


def test_stop_cancels_the_slow_map_and_keeps_the_finished_rows(trust):
    [running] = rise_jobs()
    trust.button(key="trust-stop").click().run()
    assert not trust.exception, trust.exception
    assert running.wait(60) and running.state == "cancelled"
    trust.run()
    assert "stopped: 4 of 5 rows shown" in texts(trust)
    assert len(table(trust)) == 4
    assert not rise_jobs()  # a rerun does not start it again
    assert trust.button(key="trust-resume").label == "Continue"


def evaluation_jobs(name: str) -> list:
    store = job_store()
    with store.guard:
        jobs = list(store.jobs.values()) + list(store.finished.values())
    return [j for j in jobs if j.key.startswith(mistakes_view.EVALUATING) and name in j.label]


def test_the_mistakes_evaluation_is_a_job_that_a_slow_set_waits_for_and_a_rerun_attaches_to():
    data = make_zip({"espresso/a.png": COFFEE, "tabby/b.png": CAT, "tabby/test_trust_jobs.png": COFFEE})  # its own set
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("interpret.limits.AUTO_COMPUTE_SECONDS", 0.0)  # any evaluation waits for a click
        patch.setattr("interpret.limits.FIRST_PAINT_SECONDS", 0.0)  # the run draws at once: the job runs beside it
        at = open_app(timeout=300)
        at.switch_page("pages/mistakes.py")
        at.session_state["mistakes-source"] = "zip"  # chosen before the first run: the demo set is not evaluated
        at.run()
        at.file_uploader(key="mistakes-zip").set_value([("jobs.zip", data, "application/zip")]).run()
        assert not at.exception, at.exception
        assert "Evaluating 3 images of jobs.zip is estimated at" in texts(at) and not at.metric
        assert not evaluation_jobs("jobs.zip")  # nothing started unasked
        before = mistakes_view.computations["evaluations"]
        at.button(key="mistakes-go").click().run()
        [job] = evaluation_jobs("jobs.zip")
        at.run()  # a rerun, while it runs or once it finished, attaches to it
        settle(at)
        at.switch_page("pages/overview.py").run()
        at.switch_page("pages/mistakes.py").run()
        assert not at.exception, at.exception
        assert evaluation_jobs("jobs.zip") == [job] and job.finished_ok
        assert mistakes_view.computations["evaluations"] == before + 1  # one evaluation for every run and page
        assert {m.label: m.value for m in at.metric}["Images"] == "3"
        # the mistake's contrastive maps: a job too, waiting for its click here; display settings only redraw them
        assert "for this mistake waits for a click" in texts(at)
        settle(at.button(key="mistakes-explain-go").click().run())
        assert "the contrastive map attributes logit(" in texts(at)
        explained = mistakes_view.computations["explanations"]
        display = [w for w in [*at.slider, *at.selectbox] if (w.key or "").startswith("mistakes-display-")]
        alpha = next(w for w in display if w.key.endswith("-alpha"))  # the keys name the method's kind of map
        alpha.set_value(0.9).run()
        mode = next(w for w in at.selectbox if (w.key or "").startswith("mistakes-display-") and w.key.endswith("-mode"))
        mode.set_value(next(o for o in mode.options if o != mode.value)).run()
        assert not at.exception, at.exception
        assert mistakes_view.computations["explanations"] == explained
        assert "the contrastive map attributes logit(" in texts(at)


def tiny_png(shade: int) -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (shade, 255 - shade, 128)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_stopping_the_evaluation_keeps_the_images_done_and_continue_finishes_it():
    """96 images in batches of 32: the Stop, clicked as the job starts, lands after a batch on any machine."""
    data = make_zip({f"espresso/{i}.png": tiny_png(i % 256) for i in range(96)})
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("interpret.limits.AUTO_COMPUTE_SECONDS", 1e9)
        patch.setattr("interpret.limits.FIRST_PAINT_SECONDS", 0.0)
        at = open_app(timeout=300)
        at.switch_page("pages/mistakes.py")
        at.session_state["mistakes-source"] = "zip"
        at.run()
        at.file_uploader(key="mistakes-zip").set_value([("many.zip", data, "application/zip")]).run()
        [job] = evaluation_jobs("many.zip")
        assert job.active and at.get("progress")  # a bar while it runs
        at.button(key="mistakes-stop").click().run()
        assert job.wait(60) and job.state == "cancelled"
        at.run()
        assert not at.exception, at.exception
        [line] = [w.value for w in at.warning if w.value.startswith("stopped: ")]
        done = int(line.split()[1])
        assert 0 < done < 96 and line.startswith(f"stopped: {done} of 96 images evaluated")
        assert "class-stratified random sample" in line
        assert {m.label: m.value for m in at.metric}["Images"] == str(done)  # the scores cover those
        settle(at.button(key="mistakes-continue").click().run())
        assert {m.label: m.value for m in at.metric}["Images"] == "96"
