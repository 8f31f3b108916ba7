"""Saliency across all loaded photos: a photo x method grid in AppTest. Each photo is explained for its own
predicted class, a method with a batched form computes its column in one job, and the grid and the single-photo
view share their maps (a map of a batch is the photo's map alone)."""
from __future__ import annotations

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from app_support import open_app, settle
from interpret.attribution import REGISTRY, Target, attribute
from interpret.samples import load_sample
from interpret.ui import maps
from interpret.ui.jobs_view import job_store
from interpret.ui.predictions import predicted_class

METHODS = ["gradient", "gradcam"]


@pytest.fixture(scope="module")
def grid() -> AppTest:
    maps._maps.clear()  # the maps and map jobs earlier tests of the session finished: this grid computes its columns
    job_store.clear()
    at = open_app(timeout=300)
    at.sidebar.multiselect(key="sb-samples").set_value(["coffee", "chelsea"]).run()
    at.session_state["sal-methods"] = METHODS  # chosen before the page's first run: no other maps computed
    at.session_state["sal-photos"] = "all"
    started = job_store().started
    at.switch_page("pages/saliency.py").run()
    settle(at)
    assert not at.exception, at.exception
    at.grid_jobs = job_store().started - started  # type: ignore[attr-defined]
    return at


def test_one_row_per_photo_and_one_column_per_method_each_for_its_own_prediction(grid):
    assert len(grid.get("image")) == 2 + 2 * len(METHODS)  # each photo, then its maps
    captions = " ".join(m.value for m in grid.markdown if "map-caption" in m.value)
    assert "espresso" in captions and "coffee" in captions and "chelsea" in captions
    assert any(cat in captions for cat in ("tabby", "tiger cat", "Egyptian cat"))  # chelsea's own predicted class
    assert grid.radio(key="sal-photos").value == "all"
    assert grid.grid_jobs == len(METHODS)  # one batched job per column, not one per cell


def test_a_batched_cell_is_the_photo_s_map_alone_and_the_single_view_reuses_it(grid, bundled):
    chelsea, lm = load_sample("chelsea"), bundled  # the app's default model: the same key
    target = Target(predicted_class(lm, chelsea))
    x = lm.preprocessing.to_tensor(chelsea.image)
    params = REGISTRY["gradient"].resolve_params({})  # as the page resolves them
    stored = maps.stored_map(maps.map_key(lm, chelsea, "gradient", params, target, None))
    alone = attribute(lm, x, "gradient", target)
    assert stored is not None
    np.testing.assert_allclose(stored.values, alone.values, rtol=1e-4, atol=1e-6 * float(np.abs(alone.values).max()))
    before = maps.computations["count"]
    grid.radio(key="sal-photos").set_value("this").run()
    grid.sidebar.selectbox(key="sb-current").set_value("chelsea").run()
    settle(grid)
    assert not grid.exception, grid.exception
    assert maps.computations["count"] == before  # the single-photo view drew the grid's maps
    assert len(grid.get("image")) == 2 * len(METHODS)


def test_slow_cells_wait_for_a_click_and_stop_keeps_the_finished_cells(grid, monkeypatch):
    monkeypatch.setattr("interpret.limits.MASKED_BATCH_BYTES", 1)  # a forward per masked copy: slow on any machine
    monkeypatch.setattr("interpret.limits.AUTO_COMPUTE_SECONDS", 1.0)
    grid.radio(key="sal-photos").set_value("all").run()
    grid.multiselect(key="sal-methods").set_value(METHODS + ["occlusion"]).run()
    grid.number_input(key="sal-occlusion-stride").set_value(3).run()  # 4 225 windows a photo
    assert not grid.exception, grid.exception
    assert not [j for j in job_store().active() if j.label == "Occlusion"]  # nothing slow started unasked
    next(b for b in grid.button if b.label == "Compute the 2 waiting").click().run()
    running = [j for j in job_store().active() if j.label == "Occlusion"]
    assert running, "Compute started the Occlusion cells"
    assert len(grid.get("image")) == 2 + 2 * len(METHODS)  # the finished cells stay drawn beside the bars
    grid.button(key="sal-grid-stop").click().run()
    assert all(j.wait(30) and j.state == "cancelled" for j in running)
    grid.run()
    assert not grid.exception, grid.exception
    shown = " ".join(i.value for i in grid.info)
    assert "stopped: 4 of 6 maps shown" in shown
    assert len(grid.get("image")) == 2 + 2 * len(METHODS)
