"""Attribution methods against closed forms: a linear model, and completeness on a real network."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from interpret.attribution import REGISTRY, Target, attribute, get_method
from interpret.attribution.base import Context
from interpret.attribution.baselines import baseline_of
from interpret.models.loaded import LoadedModel, freeze
from interpret.preprocess import Preprocessing

SIZE = 8


@pytest.fixture(scope="module")
def linear():
    """f(x) = W x + b on 3 x 8 x 8 inputs, 4 classes: every gradient method has a closed form here."""
    torch.manual_seed(1)
    model = freeze(nn.Sequential(nn.Flatten(), nn.Linear(3 * SIZE * SIZE, 4)))
    lm = LoadedModel(spec="linear", model=model, preprocessing=Preprocessing(crop_size=SIZE, resize_size=SIZE),
                     class_names=("a", "b", "c", "d"), device=torch.device("cpu"))
    x = torch.randn(1, 3, SIZE, SIZE)
    weight = model[1].weight.view(4, 3, SIZE, SIZE)
    return lm, x, weight


def test_gradient_is_the_weight_row(linear):
    lm, x, weight = linear
    result = attribute(lm, x, "gradient", 2)
    np.testing.assert_allclose(result.values, weight[2].sum(0).numpy(), rtol=1e-5, atol=1e-6)
    assert result.signed and result.target_label == "c"


def test_gradient_x_input_is_the_contribution(linear):
    lm, x, weight = linear
    result = attribute(lm, x, "grad_x_input", 1)
    np.testing.assert_allclose(result.values, (weight[1] * x[0]).sum(0).numpy(), rtol=1e-5, atol=1e-6)


def test_noise_methods_on_a_constant_gradient(linear):
    """The gradient of a linear model is the same everywhere: SmoothGrad = w, SmoothGrad² = w², VarGrad = 0."""
    lm, x, weight = linear
    w = weight[0]
    five = {"samples": 5}
    np.testing.assert_allclose(attribute(lm, x, "smoothgrad", 0, params=five).values, w.sum(0).numpy(), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(attribute(lm, x, "smoothgrad_sq", 0, params=five).values, w.square().sum(0).numpy(),
                               rtol=1e-4, atol=1e-7)
    assert np.abs(attribute(lm, x, "vargrad", 0, params={"samples": 5}).values).max() < 1e-6


@pytest.mark.parametrize("method,params", [
    ("integrated_gradients", {"steps": 4}),
    ("expected_gradients", {"baselines": "black", "samples": 5}),
    ("deeplift", {}),
])
def test_difference_methods_are_contributions_from_black(linear, method, params):
    lm, x, weight = linear
    ctx = Context(lm, x, Target(3))
    black = baseline_of(ctx, "black")
    expected = (weight[3] * (x - black)[0]).sum(0).numpy()
    np.testing.assert_allclose(attribute(lm, x, method, 3, params=params).values, expected, rtol=1e-4, atol=1e-6)


def _score_difference(lm, x, baseline, target):
    with torch.no_grad():
        out = lm.model(torch.cat([x, baseline]))[:, target]
    return float(out[0] - out[1])


@pytest.mark.parametrize("baseline", ["black", "blurred"])
def test_integrated_gradients_completeness_on_resnet(resnet18, baseline):
    """Attributions sum to f(x) - f(baseline) within 1 % at enough steps, on a real nonlinear network."""
    torch.manual_seed(0)
    x = torch.randn(1, 3, 48, 48)
    base = baseline_of(Context(resnet18, x, Target(0)), baseline)
    with torch.no_grad():
        target = int((resnet18.model(x) - resnet18.model(base))[0].abs().argmax())  # a class the change matters to
    expected = _score_difference(resnet18, x, base, target)
    total = float(attribute(resnet18, x, "integrated_gradients", target, params={"steps": 64, "baseline": baseline}).values.sum())
    assert abs(total - expected) <= 0.01 * abs(expected)


@pytest.mark.parametrize("baseline", ["black", "noise"])
def test_deeplift_summation_to_delta_on_resnet(resnet18, baseline):
    """DeepLIFT works on a ResNet (reused ReLUs, max pooling) and sums exactly to f(x) - f(baseline)."""
    torch.manual_seed(0)
    x = torch.randn(1, 3, 64, 64)
    ctx = Context(resnet18, x, Target(5))
    expected = _score_difference(resnet18, x, baseline_of(ctx, baseline, gen=torch.Generator().manual_seed(0)), 5)
    total = float(attribute(resnet18, x, "deeplift", 5, params={"baseline": baseline}).values.sum())
    assert abs(total - expected) <= 1e-3 * max(1.0, abs(expected))


def test_rise_finds_the_only_region_the_model_reads():
    """A model whose class-0 logit is the mean of the top-left quadrant: RISE lights up that quadrant."""
    class TopLeft(nn.Module):
        def forward(self, x):
            s = x[:, :, :16, :16].mean((1, 2, 3)) * 2
            return torch.stack([s, torch.zeros_like(s)], 1)

    lm = LoadedModel(spec="topleft", model=freeze(TopLeft()), preprocessing=Preprocessing(crop_size=32, resize_size=32),
                     class_names=("a", "b"), device=torch.device("cpu"))
    values = attribute(lm, torch.ones(1, 3, 32, 32), "rise", 0, params={"masks": 256, "cells": 4}).values
    quadrants = [values[:16, :16], values[:16, 16:], values[16:, :16], values[16:, 16:]]
    means = [float(q.mean()) for q in quadrants]
    assert means[0] == max(means) and means[0] > 1.05 * means[3]  # far corner: uncorrelated masks


def test_every_method_declares_valid_defaults():
    for method in REGISTRY.values():
        assert method.resolve_params({}) == {p.name: p.default for p in method.params}
        assert method.passes(**method.resolve_params({})) >= 1
    with pytest.raises(Exception, match="no parameter"):
        get_method("gradient").resolve_params({"steps": 3})


@pytest.mark.parametrize("baseline", ["black"])
def test_deeplift_sums_to_the_difference_on_the_relu6_default_model(bundled, coffee, baseline):
    """EfficientNet-Lite0 (ReLU6) at 224 px: the map sums to f(x) - f(baseline) (it summed to 24.5 for 10.08 while
    ReLU6's two ReLUs shared one input gradient), and the result carries the check."""
    x = bundled.preprocessing.to_tensor(coffee.image)
    expected = _score_difference(bundled, x, baseline_of(Context(bundled, x, Target(967)), baseline), 967)
    result = attribute(bundled, x, "deeplift", 967, params={"baseline": baseline})
    total = float(result.values.astype(np.float64).sum())
    assert abs(total - expected) <= 1e-4 * max(1.0, abs(expected)), (total, expected)
    assert result.summation_gap is not None and abs(result.summation_gap) <= 1e-4 * max(1.0, abs(expected))
    assert "sums to f(x) - f(baseline)" in result.caption() and "WARNING" not in result.note


def test_deeplift_is_exact_where_a_relu_input_is_also_used_elsewhere():
    """y = ReLU(x) + x (pre-activation blocks): Captum's hook on a ReLU's input tensor would rescale the gradient of
    both uses; each hooked ReLU gets its own copy of its input, so the sum holds."""
    class PreActivation(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.relu, self.head = nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Linear(4, 2)

        def forward(self, x):
            h = self.conv(x)
            return self.head((self.relu(h) + 0.5 * h).mean((2, 3)))

    torch.manual_seed(0)
    lm = LoadedModel(spec="preact", model=freeze(PreActivation()), preprocessing=Preprocessing(crop_size=SIZE, resize_size=SIZE),
                     class_names=("a", "b"), device=torch.device("cpu"))
    x = torch.randn(1, 3, SIZE, SIZE)
    expected = _score_difference(lm, x, baseline_of(Context(lm, x, Target(1)), "black"), 1)
    assert abs(float(attribute(lm, x, "deeplift", 1).values.sum()) - expected) <= 1e-5 * max(1.0, abs(expected))


@pytest.mark.parametrize("kind", ["silu_effnet", "gelu_vit"])
def test_integrated_gradients_completeness_on_silu_and_gelu_networks(request, coffee, kind):
    """At full resolution, on the networks DeepLIFT refuses: IG's path integral still sums to f(x) - f(black)."""
    lm = request.getfixturevalue(kind)
    x = lm.preprocessing.to_tensor(coffee.image)
    base = baseline_of(Context(lm, x, Target(0)), "black")
    with torch.no_grad():
        target = int((lm.model(x) - lm.model(base))[0].abs().argmax())
    expected = _score_difference(lm, x, base, target)
    total = float(attribute(lm, x, "integrated_gradients", target, params={"steps": 8}).values.sum())
    assert abs(total - expected) <= 0.01 * abs(expected), (total, expected)


def _summation_error(lm: LoadedModel, x: torch.Tensor, target: int) -> float:
    """|map sum - (f(x) - f(black))| relative to the difference, from a DeepLIFT map of `lm`."""
    expected = _score_difference(lm, x, baseline_of(Context(lm, x, Target(target)), "black"), target)
    total = float(attribute(lm, x, "deeplift", target).values.astype(np.float64).sum())
    return abs(total - expected) / max(1e-6, abs(expected))


def test_deeplift_sums_to_the_difference_through_ceil_mode_max_pooling(coffee):
    """SqueezeNet 1.1 pools with ceil_mode=True: those pools are rewritten as ReLUs too (Captum's own max-pool rule
    left the map 74 % off)."""
    from interpret.models import load_model

    lm = load_model("torchvision:squeezenet1_1", weights="random")
    assert _summation_error(lm, lm.preprocessing.to_tensor(coffee.image), 1) <= 1e-4


class Clipped(nn.Module):
    """Two convolutions, each followed by a clipped ReLU written one way: module, functional or Tensor method."""

    UNITS = {"ReLU6 module": lambda self, t: self.relu6(t), "Hardtanh(0, 6) module": lambda self, t: self.hardtanh(t),
             "F.relu6": lambda self, t: F.relu6(t), "F.hardtanh(0, 6)": lambda self, t: F.hardtanh(t, 0.0, 6.0),
             "F.hardtanh(0, 2) in place": lambda self, t: F.hardtanh(t, 0.0, 2.0, True),
             "Tensor.relu": lambda self, t: t.relu()}

    def __init__(self, unit: str):
        super().__init__()
        self.unit = unit
        self.conv1, self.conv2 = nn.Conv2d(3, 8, 3, padding=1), nn.Conv2d(8, 8, 3, padding=1, stride=2)
        self.relu6, self.hardtanh, self.head = nn.ReLU6(), nn.Hardtanh(0.0, 6.0), nn.Linear(8, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        act = self.UNITS[self.unit]
        return self.head(act(self, self.conv2(act(self, self.conv1(x)))).mean((2, 3)))


@pytest.mark.parametrize("unit", list(Clipped.UNITS))
def test_deeplift_rescales_every_form_of_a_clipped_relu(unit):
    """F.relu6 and nn.Hardtanh(0, 6) count as ReLU-type units, so DeepLIFT is offered: both kinks of each get the
    rescale rule, whichever way the model calls it (their gradient used to pass unrescaled: 52 % off here)."""
    torch.manual_seed(0)
    model = Clipped(unit)
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(6)  # large enough pre-activations that both kinks are crossed
    lm = LoadedModel(spec=f"clipped-{unit}", model=freeze(model), preprocessing=Preprocessing(crop_size=32, resize_size=32),
                     class_names=("a", "b", "c", "d"), device=torch.device("cpu"))
    x = 2 * torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    assert _summation_error(lm, x, 1) <= 1e-5
