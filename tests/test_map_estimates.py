"""A map's estimate before it starts is honest: Score-CAM, Occlusion and RISE score masked copies of the photo in
batched forward-only passes, so their estimate is their count of masked images (Score-CAM: its distinct masks)
times a measured forward-only time per image, not a forward + backward pass per mask.

The defect: Score-CAM was estimated at 1 + channels x a Gradient pass (forward + backward, one image), many times
its real time, so it waited for a click it did not need, with a wrong time left. Estimates against the
methods' measured times are a benchmark (benchmarks/estimates.py): no test asserts a duration."""
from __future__ import annotations

import pytest

from interpret.attribution import Target, attribute
from interpret.layers import default_cam_layer
from interpret.models import load_model
from interpret.ui import maps


@pytest.fixture(scope="module")
def small(bundled):
    """The default model at 64 px (its own key: estimates are measured per model)."""
    return load_model(bundled.spec, preprocessing=lambda p: p.replace(crop_size=64, resize_size=64))


def test_score_cams_estimate_counts_the_masks_it_reports_scoring(small, coffee):
    layer = default_cam_layer(small)
    x = small.preprocessing.to_tensor(coffee.image)
    result = attribute(small, x, "scorecam", Target(0), layer=layer)
    assert f", {maps.scorecam_masks(small, coffee, layer)} masked forwards" in result.note


def test_score_cam_counts_its_distinct_masks_not_every_channel(small, coffee):
    layer = default_cam_layer(small)
    masks = maps.scorecam_masks(small, coffee, layer)
    channels = maps.map_passes(small, coffee, "scorecam", {}, layer) - 1
    assert masks < channels == 1280
    assert maps.scorecam_masks(small, coffee, layer, channels=8) <= 8
