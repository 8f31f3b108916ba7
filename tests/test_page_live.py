"""The Saliency page as a live page in AppTest: a finished map is drawn while a slow one runs in the background,
a slow map waits for a Compute click, and Stop keeps what finished.

The defect: Saliency drew nothing until every selected method was done (the four finished maps disappeared for
minutes while Score-CAM ran), and after a stop it showed no maps at all."""
from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from app_support import open_app, settle
from interpret.ui.jobs_view import job_store


def texts(at: AppTest) -> str:
    return " ".join([c.value for c in at.caption] + [i.value for i in at.info] + [str(m.value) for m in at.markdown])


@pytest.fixture(scope="module")
def page():
    """Saliency with Gradient and a slow Occlusion: slow on any machine, since each masked copy gets a forward of
    its own (MASKED_BATCH_BYTES of 1) and the estimate threshold is one second."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("interpret.limits.MASKED_BATCH_BYTES", 1)
        patch.setattr("interpret.limits.AUTO_COMPUTE_SECONDS", 1.0)
        yield _open_page()


def _open_page() -> AppTest:
    at = open_app("pages/saliency.py", 300)
    at.multiselect(key="sal-methods").set_value(["gradient", "occlusion"]).run()
    at.number_input(key="sal-occlusion-stride").set_value(3).run()  # 4 225 windows: well over 20 s estimated
    assert not at.exception, at.exception
    return settle(at)


def test_a_slow_map_waits_for_a_click_while_the_fast_one_is_drawn(page):
    assert "Occlusion waits for a click" in texts(page)
    assert len(page.get("image")) == 2  # Gradient over the photo and alone
    assert not [j for j in job_store().active() if j.label == "Occlusion"]  # nothing slow started unasked


def test_the_fast_map_stays_while_the_slow_one_runs_and_stop_keeps_it(page):
    next(b for b in page.button if b.label == "Compute Occlusion").click().run()
    assert not page.exception, page.exception
    running = [j for j in job_store().active() if j.label == "Occlusion"]
    assert running, "Compute started the Occlusion job"
    assert "computing Occlusion in the background" in texts(page)
    bars = [p for p in page.get("progress") if "Occlusion" in str(p.proto.text)]
    assert bars and "left" in bars[0].proto.text  # a placeholder with the time left
    assert len(page.get("image")) == 2  # the finished Gradient map is still drawn
    page.button(key="sal-stop").click().run()
    assert not page.exception, page.exception
    assert running[0].wait(30) and running[0].state == "cancelled"
    page.run()
    assert "stopped: 1 of 2 maps shown" in texts(page)
    assert len(page.get("image")) == 2
    assert "Compute Occlusion" in [b.label for b in page.button]  # it can be asked for again
