"""Cascading randomisation: runs on a private copy, leaves the shared model exactly as it was."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from interpret.attribution import REGISTRY, attribute
from interpret.metrics import SanityOptions, Verdict, cascading_randomisation, randomisation_stages, sobel_map
from interpret.progress import Cancelled
from interpret.ui.verdicts import explain

GROUPS = SanityOptions(granularity="group")


def snapshot(model: torch.nn.Module) -> dict:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def hooks(model: torch.nn.Module) -> int:
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks) for m in model.modules())


@pytest.fixture(scope="module")
def x() -> torch.Tensor:
    return torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))


def test_stages_run_from_the_classifier_down_to_the_first_layer(resnet18):
    stages = [label for label, _ in randomisation_stages(resnet18.model)]
    assert stages[0] == "fc" and stages[-1] == "conv1+bn1"
    assert stages[1:-1] == ["layer4.1", "layer4.0", "layer3.1", "layer3.0", "layer2.1", "layer2.0", "layer1.1", "layer1.0"]
    groups = [label for label, _ in randomisation_stages(resnet18.model, "group")]
    assert groups == ["fc", "layer4", "layer3", "layer2", "layer1", "conv1+bn1"]


@pytest.mark.parametrize("method", [m for m in ("gradient", "guided_backprop", "gradcam") if m in REGISTRY])
def test_shared_model_is_untouched(resnet18, x, method):
    before = snapshot(resnet18.model)
    original = attribute(resnet18, x, method, 3)
    seen = []
    result = cascading_randomisation(resnet18, x, original, GROUPS, progress=seen.append)
    after = resnet18.model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert hooks(resnet18.model) == 0
    assert all(p.grad is None and not p.requires_grad for p in resnet18.model.parameters())
    assert not resnet18.model.training
    assert [s.name for s in result.stages] == ["fc", "layer4", "layer3", "layer2", "layer1", "conv1+bn1"]
    assert seen == pytest.approx([(i + 1) / 6 for i in range(6)])
    assert result.verdict in ("passes", "flagged") and not result.stopped
    # the map from the shared model is still the original one
    np.testing.assert_allclose(attribute(resnet18, x, method, 3).values, original.values, rtol=1e-5, atol=1e-7)


def test_randomised_maps_differ_and_similarities_are_consistent(resnet18, x):
    original = attribute(resnet18, x, "gradient", 3)
    result = cascading_randomisation(resnet18, x, original, GROUPS)
    last = result.stages[-1]
    assert not np.allclose(last.values, original.values)
    assert -1 <= last.spearman_signed <= 1 and -1 <= last.spearman_abs <= 1 and last.ssim <= 1
    again = cascading_randomisation(resnet18, x, original, GROUPS)  # seeded: the same maps
    np.testing.assert_allclose(again.stages[-1].values, last.values, rtol=1e-5, atol=1e-7)


@pytest.mark.skipif("guided_backprop" not in REGISTRY, reason="Guided Backprop not registered")
def test_methods_on_a_rewritten_copy_see_every_stages_weights(resnet18, x):
    """Guided Backprop computes on a rewritten copy of the model it is given: each stage's map must
    come from that stage's weights, not from a copy made at the first stage."""
    original = attribute(resnet18, x, "guided_backprop", 3)
    result = cascading_randomisation(resnet18, x, original, GROUPS)
    assert len(set(result.stages[0].draws)) == 3  # three random classifiers, three maps
    assert not np.allclose(result.stages[-1].values, result.stages[0].values)


def test_a_model_free_map_is_flagged(resnet18, x):
    pixels = resnet18.preprocessing.denormalize(x)
    edges = sobel_map(pixels)
    original = attribute(resnet18, x, "gradient", 3)
    original = type(original)("sobel", 3, "", (), edges, False, 0.0)
    result = cascading_randomisation(resnet18, x, original, SanityOptions(only=(0, -1)), map_fn=lambda twin: edges)
    assert [s.index for s in result.stages] == [0, 9]
    assert result.stages[0].spearman_abs == pytest.approx(1.0) and result.stages[-1].ssim == pytest.approx(1.0)
    assert result.verdict == "flagged"


def test_stop_after_the_first_stage(resnet18, x):
    original = attribute(resnet18, x, "gradient", 3)
    calls = []

    def progress(fraction: float) -> None:
        calls.append(fraction)
        raise Cancelled()

    result = cascading_randomisation(resnet18, x, original, progress=progress)
    assert calls == [pytest.approx(1 / 10)]
    assert result.stopped and len(result.stages) == 1 and result.total_stages == 10
    assert result.top is not None and result.bottom is None


def test_stopped_before_the_verdicts_stage_is_incomplete(resnet18, x):
    original = attribute(resnet18, x, "gradient", 3)

    def cancel(fraction: float) -> None:
        raise Cancelled()

    result = cascading_randomisation(resnet18, x, original, SanityOptions(only=(-1,)), progress=cancel)
    assert result.stopped and result.stages == () and result.verdict == Verdict.INCOMPLETE == "incomplete"
    assert explain(result) == "Stopped before the top layers were randomised."


def test_the_verdict_reads_the_median_of_several_random_classifiers(resnet18, x):
    original = attribute(resnet18, x, "gradcam", 3)
    result = cascading_randomisation(resnet18, x, original, SanityOptions(granularity="group", max_stages=2))
    top = result.top
    assert len(top.draws) == 3 and top.spearman_abs == sorted(top.draws)[1]
    assert result.stages[1].draws == ()  # only the verdict's stage is drawn several times
    assert "median of 3 random draws" in explain(result)
    single = cascading_randomisation(resnet18, x, original, SanityOptions(granularity="group", max_stages=1, draws=1))
    assert single.top.draws == () and single.top.spearman_abs in top.draws  # the same seeded first draw
