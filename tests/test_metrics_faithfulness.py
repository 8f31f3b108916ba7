"""Deletion / insertion (RISE) and ROAD against closed forms, on small real models."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.ndimage import correlate1d
from torch import nn

from interpret.metrics import FaithfulnessProbe, impute_linear
from interpret.metrics.road import road
from interpret.models.loaded import LoadedModel, freeze
from interpret.preprocess import Preprocessing

SIZE = 32


class IntactFraction(nn.Module):
    """Class 0's softmax probability is the fraction of pixels (of `region`) not yet set to zero."""

    def __init__(self, region: torch.Tensor):
        super().__init__()
        self.register_buffer("region", region.float())
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        intact = ((x != 0).any(1).float() * self.region).sum((1, 2)) / self.region.sum()
        intact = intact.clamp(1e-6, 1 - 1e-6)
        return torch.stack([intact.log(), (1 - intact).log()], 1)


def loaded(model: nn.Module) -> LoadedModel:
    return LoadedModel("test", freeze(model), Preprocessing(crop_size=SIZE, resize_size=SIZE), ("a", "b"), torch.device("cpu"))


@pytest.fixture
def image() -> torch.Tensor:
    return torch.rand(1, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(0)) + 0.5  # no zero pixel


def test_deletion_of_any_map_falls_linearly_when_every_pixel_counts_the_same(image):
    lm = loaded(IntactFraction(torch.ones(SIZE, SIZE)))
    probe = FaithfulnessProbe(lm, image)
    for values in (np.random.default_rng(1).random((SIZE, SIZE)), np.zeros((SIZE, SIZE))):
        deletion, insertion = probe.curves(values, steps=16)
        np.testing.assert_allclose(deletion.probs, 1 - deletion.fractions, atol=1e-5)
        assert deletion.auc == pytest.approx(0.5, abs=1e-5)
        np.testing.assert_allclose(insertion.probs, 1 - 1e-6, atol=1e-5)  # the blurred image has no zero pixel


def test_the_map_that_names_the_region_deletes_it_first():
    region = torch.zeros(SIZE, SIZE)
    region[8:16, 8:24] = 1  # 1/8 of the image
    lm = loaded(IntactFraction(region))
    probe = FaithfulnessProbe(lm, torch.full((1, 3, SIZE, SIZE), 0.7))
    deletion, _ = probe.curves(region.numpy(), steps=32)
    # the probability reaches 0 after the first 1/8 of the pixels: area = 1/8 / 2 (exact on these steps)
    assert deletion.auc == pytest.approx(1 / 16, abs=1e-5)
    inverse, _ = probe.curves(1 - region.numpy(), steps=32)
    assert inverse.auc == pytest.approx(1 - 1 / 16, abs=1e-5)


def test_curves_end_at_the_clean_prediction_and_start_from_the_blur(resnet18):
    x = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    probe = FaithfulnessProbe(resnet18, x)
    values = np.random.default_rng(0).random((64, 64))
    deletion, insertion = probe.curves(values, steps=8)
    with torch.inference_mode():
        clean = resnet18.model(x).softmax(-1)[0]
        black = resnet18.model(torch.zeros_like(x)).softmax(-1)[0, probe.target]
        # the blur by an independent implementation: an 11-tap Gaussian, sigma 5, mirrored borders
        taps = np.exp(-0.5 * (np.arange(-5, 6) / 5.0) ** 2)
        taps /= taps.sum()
        blurred = correlate1d(correlate1d(x.numpy(), taps, axis=2, mode="mirror"), taps, axis=3, mode="mirror")
        blur = resnet18.model(torch.from_numpy(blurred).float()).softmax(-1)[0, probe.target]
    assert probe.target == int(clean.argmax())
    assert deletion.probs[0] == pytest.approx(float(clean.max()), rel=1e-5)
    assert insertion.probs[-1] == pytest.approx(float(clean.max()), rel=1e-5)
    assert deletion.probs[-1] == pytest.approx(float(black), rel=1e-4)
    assert insertion.probs[0] == pytest.approx(float(blur), rel=1e-3)
    assert 0 <= deletion.auc <= 1 and 0 <= insertion.auc <= 1


def test_all_steps_go_through_the_model_in_few_batches(image):
    model = IntactFraction(torch.ones(SIZE, SIZE))
    probe = FaithfulnessProbe(loaded(model), image, batch_size=32)
    before = model.calls
    a = probe.curves(np.random.default_rng(0).random((SIZE, SIZE)), steps=28)
    assert model.calls - before == 2  # 56 images in batches of 32
    one = FaithfulnessProbe(loaded(IntactFraction(torch.ones(SIZE, SIZE))), image, batch_size=1)
    b = one.curves(np.random.default_rng(0).random((SIZE, SIZE)), steps=28)
    np.testing.assert_allclose(a[0].probs, b[0].probs, atol=1e-6)
    np.testing.assert_allclose(a[1].probs, b[1].probs, atol=1e-6)


def test_linear_imputation_matches_the_road_reference_implementation():
    from pytorch_grad_cam.metrics.road import NoisyLinearImputer

    rng = np.random.default_rng(0)
    img = rng.standard_normal((3, 24, 24))
    removed = rng.random((24, 24)) < 0.6
    ours = impute_linear(img, removed, noise=0)[0]
    theirs = NoisyLinearImputer(noise=0)(torch.from_numpy(img).float(), torch.from_numpy((~removed).astype(np.float32)))
    np.testing.assert_allclose(ours, theirs.double().numpy(), atol=1e-5)


def test_linear_imputation_restores_a_linear_ramp_exactly():
    y, x = np.mgrid[0:20, 0:20]
    ramp = np.stack([0.3 * x + 0.1 * y, -0.2 * y, 0.05 * x])
    removed = np.zeros((20, 20), bool)
    removed[5:15, 4:12] = True  # an interior hole: the mean-value equations hold for a linear function
    filled = impute_linear(ramp, removed, noise=0)[0]
    np.testing.assert_allclose(filled, ramp, atol=1e-9)
    noisy = impute_linear(ramp, removed, noise=0.01, seed=3)[0]
    assert 0.005 < np.std(noisy - ramp, where=np.broadcast_to(removed, ramp.shape)) < 0.02
    assert np.array_equal(noisy[:, ~removed], ramp[:, ~removed])


def test_road_is_antisymmetric_in_the_map_and_zero_for_a_random_map(resnet18):
    x = torch.randn(1, 3, 48, 48, generator=torch.Generator().manual_seed(1))
    probe = FaithfulnessProbe(resnet18, x)
    values = np.random.default_rng(0).random((48, 48))
    forward = road(probe, values, noise=0)
    backward = road(probe, -values, mode="signed", noise=0)
    assert forward.combined == pytest.approx(-backward.combined, abs=1e-6)
    np.testing.assert_allclose(forward.morf, backward.lerf, atol=1e-6)
    scores = [road(probe, np.random.default_rng(s).random((48, 48)), seed=s).combined for s in range(4)]
    assert abs(np.mean(scores)) < 0.02
