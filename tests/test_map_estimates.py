"""A map's estimate before it starts is honest: Score-CAM, Occlusion and RISE score masked copies of the photo in
batched forward-only passes, so their estimate is their count of masked images (Score-CAM: its distinct masks)
times a measured forward-only time per image, not a forward + backward pass per mask.

The defect: Score-CAM was estimated at 1 + channels x a Gradient pass (forward + backward, one image), many times
its real time, so it waited for a click it did not need, with a wrong time left. Each estimate here is compared
with the method's own run on the same machine at 64 px: robust to the machine's speed, not to its load changing
by more than the factor allowed."""
from __future__ import annotations

import time

import pytest

from interpret.attribution import Target, attribute
from interpret.layers import default_cam_layer
from interpret.models import load_model
from interpret.ui import maps

FACTOR = 3.0


@pytest.fixture(scope="module")
def small(bundled):
    """The default model at 64 px (its own key: estimates are measured per model)."""
    return load_model(bundled.spec, preprocessing=lambda p: p.replace(crop_size=64, resize_size=64))


@pytest.mark.parametrize(("method", "params"), [("scorecam", {}), ("occlusion", {"window": 16, "stride": 4}),
                                                ("rise", {"masks": 256})])
def test_a_masked_method_is_estimated_within_a_factor_of_its_time(small, coffee, method, params):
    layer = default_cam_layer(small) if method == "scorecam" else None
    x = small.preprocessing.to_tensor(coffee.image)
    estimate = maps.map_estimate(small, coffee, method, params, layer)
    start = time.perf_counter()
    result = attribute(small, x, method, Target(0), layer=layer, params=params)
    seconds = time.perf_counter() - start
    assert seconds / FACTOR <= estimate <= seconds * FACTOR, (method, estimate, seconds)
    if method == "scorecam":  # the masks counted are the ones the method reports scoring
        assert f", {maps.scorecam_masks(small, coffee, layer)} masked forwards" in result.note


def test_score_cam_counts_its_distinct_masks_not_every_channel(small, coffee):
    layer = default_cam_layer(small)
    masks = maps.scorecam_masks(small, coffee, layer)
    channels = maps.map_passes(small, coffee, "scorecam", {}, layer) - 1
    assert masks < channels == 1280
    assert maps.scorecam_masks(small, coffee, layer, channels=8) <= 8
