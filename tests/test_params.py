"""Method parameters are finite and their total cost (forward passes) is bounded before any pass runs."""
from __future__ import annotations

import math
import types

import numpy as np
import pytest
import torch
from torch import nn

from interpret import limits
from interpret.attribution import REGISTRY, attribute
from interpret.attribution.base import Param
from interpret.errors import InterpretError
from interpret.layers import list_layers
from interpret.models.loaded import LoadedModel
from interpret.preprocess import Preprocessing


class CountingNet(nn.Module):
    """A small real CNN that counts the images it has been fed (one per row of each batch)."""

    def __init__(self, width: int = 8, classes: int = 3):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, width, 3, padding=1), nn.ReLU())
        self.head = nn.Linear(width, classes)
        self.images = 0
        self.largest = 0  # the most images one forward was fed

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.images += x.shape[0]
        self.largest = max(self.largest, x.shape[0])
        return self.head(self.features(x).mean((2, 3)))


def loaded(net: CountingNet, size: int = 32) -> LoadedModel:
    pre = Preprocessing(crop_size=size, resize_size=size)
    return LoadedModel(spec="counting", model=net.eval(), preprocessing=pre, class_names=("a", "b", "c"),
                       device=torch.device("cpu"))


def image(size: int = 32) -> torch.Tensor:
    return torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(0))


def float_params():
    return [(method.name, p) for method in REGISTRY.values() for p in method.params if p.kind == "float"]


@pytest.mark.parametrize(("method", "param"), float_params(), ids=lambda v: v if isinstance(v, str) else v.name)
@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf", float("nan"), float("inf")])
def test_every_float_parameter_refuses_non_finite_values(method, param, value):
    with pytest.raises(InterpretError, match=f"Parameter '{param.name}' expects a finite number"):
        param.parse(value)


@pytest.mark.parametrize("value", ["nan", "inf", float("nan"), float("inf"), float("-inf"), "1e400", "seven"])
def test_int_parameters_refuse_non_finite_and_non_numbers(value):
    with pytest.raises(InterpretError, match="Parameter 'steps' expects a whole number"):
        Param("steps", "int", 32, 2, 1024).parse(value)


def test_finite_values_still_parse_and_ranges_still_hold():
    blur = Param("blur", "float", 10.0, 0.5, 100.0)
    assert blur.parse("2.5") == 2.5 and blur.parse(100) == 100.0
    with pytest.raises(InterpretError, match=r"must lie in \[0.5, 100.0\]"):
        blur.parse("1e308")


@pytest.mark.parametrize(("method", "params", "cost"), [
    ("occlusion", {"window": 2, "stride": 1}, 223 * 223 + 1),
    ("rise", {"masks": 20_000}, 20_000),
    ("occlusion", {"window": 32, "stride": 16}, 13 * 13 + 1),
    ("integrated_gradients", {"steps": 1024}, 1024),
    ("smoothgrad", {"samples": 512}, 512),
    ("scorecam", {"channels": 100_000}, 100_001),
])
def test_passes_follow_the_parameters(method, params, cost):
    impl = REGISTRY[method]
    assert impl.passes(size=(224, 224), **impl.resolve_params(params)) == cost


def test_occlusion_passes_follow_the_input_size():
    occlusion = REGISTRY["occlusion"]
    assert occlusion.passes(window=32, stride=16, size=(384, 384)) == 23 * 23 + 1
    assert occlusion.passes(window=32, stride=16, size=(32, 64)) == 1 * 3 + 1


def test_every_default_costs_less_than_the_limit():
    for method in REGISTRY.values():
        assert 1 <= method.passes(**method.resolve_params({})) <= limits.MAX_PASSES, method.name


@pytest.mark.parametrize(("method", "params", "lever"), [
    ("occlusion", {"window": 2, "stride": 1}, r"Change window \(default 32\) or stride \(default 16\)"),
    ("rise", {"masks": 20_000}, r"Change masks \(default 1000\)"),
])
def test_costly_settings_are_refused_before_any_forward_pass(method, params, lever):
    net = CountingNet()
    lm = loaded(net, 224)
    with pytest.raises(InterpretError, match=rf"needs [\d,]+ forward passes; one map may cost up to 5,000 "
                                             rf"\(limit MAX_PASSES\)\. {lever}"):
        attribute(lm, image(224), method, 0, params=params)
    assert net.images == 0


@pytest.fixture
def plain_scorer(monkeypatch):
    """Masked images scored by the model itself (not a channels-last twin), so that its counter sees them."""
    monkeypatch.setattr("interpret.attribution.scoring.faster", lambda plain, twin: False)


def test_occlusion_cost_is_judged_at_the_real_input_size(plain_scorer):
    net = CountingNet()
    lm = loaded(net, 32)
    result = attribute(lm, image(32), "occlusion", 0, params={"window": 2, "stride": 1})  # 31 x 31 + 1 at 32 px
    assert result.status == "ok" and net.images == 31 * 31 + 1


def test_score_cam_checks_the_layer_channel_count_before_its_first_mask(plain_scorer):
    net = CountingNet(width=limits.MAX_PASSES)
    lm = loaded(net, 8)
    list_layers(lm)  # the model's layer table (one pass, cached per model) is not the method's cost
    net.images = 0
    with pytest.raises(InterpretError, match=rf"Set channels to at most {limits.MAX_PASSES - 1} "
                                             rf"\(this layer has {limits.MAX_PASSES}\)"):
        attribute(lm, image(8), "scorecam", 0, layer="features.1")
    assert net.images == 1  # the activations only
    net.images = 0
    result = attribute(lm, image(8), "scorecam", 0, layer="features.1", params={"channels": 16})
    assert math.isfinite(float(result.values.sum())) and net.images == 1 + 16


@pytest.mark.parametrize(("method", "lever"), [("occlusion", "a larger stride or window"), ("rise", "fewer masks")])
def test_a_default_map_of_a_1024_px_input_is_refused_by_its_pixels_before_any_pass(method, lever):
    """Occlusion's default grid at 1024 px is 3 970 passes, under MAX_PASSES, but of 1 MP each (it ran past 600 s)."""
    net = CountingNet()
    lm = loaded(net, 1024)
    most = limits.MASKED_PIXELS // 1024**2
    with pytest.raises(InterpretError, match=rf"of 1024 x 1024 px .*\(limit MASKED_PIXELS\): {most} at this size\. "
                                             rf"Use {lever}, or a smaller input"):
        attribute(lm, image(1024), method, 0)
    assert net.images == 0


def test_the_pixel_bound_leaves_every_default_at_224_px_and_rise_up_to_572_px():
    for method in REGISTRY.values():
        if method.masked_forwards:
            assert method.passes(**method.resolve_params({})) * 224 * 224 <= limits.MASKED_PIXELS, method.name
    assert REGISTRY["rise"].passes(masks=1000) * 572 * 572 <= limits.MASKED_PIXELS < 1000 * 573 * 573


def test_occlusion_at_1024_px_within_the_bound_scores_batches_within_the_memory_budget(plain_scorer):
    from interpret.attribution.perturbation import masked_rows

    net = CountingNet()
    lm = loaded(net, 1024)
    x = image(1024)
    result = attribute(lm, x, "occlusion", 0, params={"window": 512, "stride": 512})
    assert result.status == "ok" and net.images == 2 * 2 + 1
    assert net.largest <= masked_rows(x) == 1  # 1 MP images: one per forward within MASKED_BATCH_BYTES


def test_rise_at_1024_px_draws_its_masks_within_the_memory_budget(plain_scorer, monkeypatch):
    """RISE drew 32 masks at full size at once whatever the budget (300 MB at 1024 px): it materialises only the
    masks of one batch, and the same seed still gives the same map."""
    import torch.nn.functional as F

    from interpret.attribution import perturbation

    x = image(1024)
    rows = perturbation.masked_rows(x)
    upsampled: list[int] = []

    def recording(grid, *args, **kwargs):
        upsampled.append(grid.shape[0])
        return F.interpolate(grid, *args, **kwargs)

    net = CountingNet()
    first = attribute(loaded(net, 1024), x, "rise", 0, params={"masks": 8, "seed": 1})
    monkeypatch.setattr(perturbation, "F", types.SimpleNamespace(interpolate=recording))
    again = attribute(loaded(net, 1024), x, "rise", 0, params={"masks": 8, "seed": 1})
    assert upsampled and max(upsampled) <= rows == 1
    assert net.largest <= rows
    np.testing.assert_array_equal(first.values, again.values)
