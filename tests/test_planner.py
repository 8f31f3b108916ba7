"""One request, many maps: each shared pass (a CAM layer's, the input gradient, SmoothGrad's samples) runs
once, and every map equals the map its method computes alone."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from interpret.attribution import attribute
from interpret.attribution.passes import PassCache, active_cache, shared_passes
from interpret.attribution.planner import attribute_many, plan, shared_logits
from interpret.errors import ParameterError

CAMS = ["gradcam", "gradcam_pp", "xgradcam", "layercam", "hirescam", "guided_gradcam"]
GRADIENTS = ["gradient", "grad_x_input"]
NOISY = ["smoothgrad", "smoothgrad_sq", "vargrad"]
FEW = {"samples": 2}  # the SmoothGrad family's settings in these tests: few samples, the default noise and seed
PARAMS = {name: FEW for name in NOISY}
TARGET = 281  # tabby: on these random weights every map of coffee for it has signal (espresso's Grad-CAM is blank)


@pytest.fixture(scope="module")
def coffee_x(resnet18, coffee):
    return resnet18.preprocessing.to_tensor(coffee.image)


@pytest.fixture(scope="module")
def many(resnet18, coffee_x):
    return attribute_many(resnet18, coffee_x, CAMS + GRADIENTS + NOISY, TARGET, params=PARAMS)


def test_every_map_of_one_request_is_the_map_its_method_gives_alone(resnet18, coffee_x, many):
    assert list(many) == CAMS + GRADIENTS + NOISY
    for method, result in many.items():
        alone = attribute(resnet18, coffee_x, method, TARGET, params=PARAMS.get(method))
        assert result.method == method and result.layer == alone.layer and result.params == alone.params
        np.testing.assert_allclose(result.values, alone.values, rtol=0, atol=1e-6, err_msg=method)
    assert all(result.status == "ok" for result in many.values())  # real maps compared, not blanks


def test_the_request_leaves_no_hook_and_no_parameter_gradient(resnet18, many):
    assert all(p.grad is None for p in resnet18.model.parameters())
    assert not any(m._forward_hooks or m._forward_pre_hooks or m._backward_hooks for m in resnet18.model.modules())
    assert active_cache() is None  # the request's cache is gone with it


def test_methods_called_one_at_a_time_share_their_passes_inside_a_block(resnet18, coffee_x):
    with shared_passes() as cache:
        for method in ["gradcam", "hirescam", "gradient", "grad_x_input", "smoothgrad", "vargrad"]:
            attribute(resnet18, coffee_x, method, TARGET, params=PARAMS.get(method))
        assert (cache.misses, cache.hits) == (3, 3)  # layer pass, input gradient, noisy samples: once each
        attribute(resnet18, coffee_x, "gradient", 1)  # another target is another pass
        attribute(resnet18, coffee_x, "smoothgrad", TARGET, params={"samples": 2, "seed": 1})  # other samples too
        assert cache.misses == 5
        assert len(cache) == 5 and cache.bytes > 0
    assert len(cache) == 0 and cache.bytes == 0 and active_cache() is None  # released after use


def test_outside_a_block_nothing_is_cached(resnet18, coffee_x):
    assert active_cache() is None
    first = attribute(resnet18, coffee_x, "gradient", TARGET)
    assert active_cache() is None and first.status == "ok"


def test_the_cache_keeps_at_most_its_budget_least_recently_used_out_first():
    cache = PassCache(max_bytes=3 * 400)  # three 100-float tensors
    for key in range(3):
        cache.get_or_compute(key, lambda: torch.zeros(100))
    cache.get_or_compute(0, lambda: torch.ones(100))  # a hit: 0 becomes the most recent
    cache.get_or_compute(3, lambda: torch.zeros(100))  # evicts 1, the least recently used
    assert len(cache) == 3 and cache.bytes <= cache.max_bytes
    assert cache.get_or_compute(1, lambda: torch.full((100,), 7.0))[0] == 7  # 1 was gone: computed again
    assert cache.get_or_compute(0, lambda: torch.ones(100))[0] == 0  # 0 had stayed
    big = cache.get_or_compute("big", lambda: torch.zeros(1000))  # over the whole budget: returned, not kept
    assert big.numel() == 1000 and "big" not in cache._entries and cache.bytes <= cache.max_bytes


def test_nested_blocks_share_the_outer_cache():
    with shared_passes() as outer, shared_passes() as inner:
        assert inner is outer and active_cache() is outer
    assert active_cache() is None


def test_the_plan_groups_methods_by_the_pass_they_share():
    groups = plan(["gradcam", "gradient", "smoothgrad", "occlusion", "hirescam", "vargrad", "grad_x_input"],
                  params={"smoothgrad": FEW, "vargrad": {"samples": 2, "seed": 2}})
    assert [g.methods for g in groups] == [["gradcam", "hirescam"], ["gradient", "grad_x_input"], ["smoothgrad"],
                                           ["occlusion"], ["vargrad"]]
    assert [g.passes for g in groups][:3] == [1, 1, 2]


def test_a_bad_request_is_refused_before_any_pass(resnet18, coffee_x):
    with pytest.raises(ParameterError, match="samples"):
        attribute_many(resnet18, coffee_x, ["gradcam", "smoothgrad"], TARGET, params={"smoothgrad": {"samples": -1}})


def test_the_prediction_and_the_maps_can_share_one_forward(resnet18, coffee_x):
    with shared_passes() as cache:
        logits = shared_logits(resnet18, coffee_x)
        again = shared_logits(resnet18, coffee_x)
        assert again is logits and cache.hits == 1
    with torch.inference_mode():
        assert torch.equal(logits, resnet18.model(coffee_x).float())
