"""Pointing game, AUROC, relevance rank / mass accuracy, reference maps and similarity: closed forms."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from interpret.metrics import (
    auroc,
    centre_map,
    mass_accuracy,
    pointing_game,
    random_map,
    rank_accuracy,
    same_maps,
    sobel_map,
    spearman,
    ssim,
)


@pytest.fixture
def mask() -> np.ndarray:
    m = np.zeros((40, 40), bool)
    m[10:20, 12:22] = True
    return m


def test_pointing_game_with_and_without_tolerance(mask):
    values = np.zeros((40, 40))
    values[8, 15] = 1.0  # two pixels above the object
    assert not pointing_game(values, mask)
    assert pointing_game(values, mask, tolerance=3)
    assert not pointing_game(values, mask, tolerance=1.5)
    assert pointing_game(mask.astype(float), mask)
    values[12, 14] = -2.0  # signed maps rank by magnitude by default
    assert pointing_game(values, mask)
    assert not pointing_game(values, mask, mode="positive")


def test_auroc_of_reference_maps(mask):
    assert auroc(mask.astype(float), mask) == 1.0
    assert auroc(1 - mask.astype(float), mask) == 0.0
    assert auroc(np.ones((40, 40)), mask) == 0.5
    values = random_map((40, 40), seed=0)
    assert auroc(values, mask) == pytest.approx(roc_auc_score(mask.ravel(), values.ravel()), abs=1e-12)
    scores = [auroc(random_map((40, 40), seed=s), mask) for s in range(50)]
    assert np.mean(scores) == pytest.approx(0.5, abs=0.02)


def test_rank_and_mass_accuracy(mask):
    assert rank_accuracy(mask.astype(float), mask) == 1.0
    assert mass_accuracy(mask.astype(float), mask) == 1.0
    assert mass_accuracy(np.ones((40, 40)), mask) == pytest.approx(100 / 1600)
    assert rank_accuracy(np.ones((40, 40)), mask) == pytest.approx(100 / 1600, abs=0.05)  # random tie order
    half = np.zeros((40, 40))
    half[10:20, 12:17] = 1.0  # half the object
    half[30:35, 0:10] = 1.0  # and as many pixels outside
    assert rank_accuracy(half, mask) == pytest.approx(0.5)
    assert mass_accuracy(half, mask) == pytest.approx(0.5)
    assert mass_accuracy(np.zeros((40, 40)), mask) == 0.0


def test_reference_maps():
    centre = centre_map((41, 41))
    assert np.unravel_index(centre.argmax(), centre.shape) == (20, 20)
    np.testing.assert_allclose(centre, centre[::-1, ::-1], atol=1e-7)
    noise = random_map((30, 30), seed=1)
    assert noise.min() >= 0 and noise.max() < 1 and np.array_equal(noise, random_map((30, 30), seed=1))
    flat = np.full((30, 30, 3), 120, np.uint8)
    assert np.abs(sobel_map(flat)).max() < 1e-9
    edge = flat.copy()
    edge[:, 15:] = 250
    sob = sobel_map(edge)
    assert sob[:, 14:16].min() > 0.1 and sob[:, :10].max() < 1e-9


def test_similarity():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((20, 20))
    assert spearman(a, np.exp(a), absolute=False) == pytest.approx(1.0)
    assert spearman(a, -a, absolute=False) == pytest.approx(-1.0)
    assert spearman(a, -a, absolute=True) == pytest.approx(1.0)
    assert spearman(a, np.ones_like(a)) == 0.0
    assert abs(spearman(a, rng.standard_normal((20, 20)))) < 0.2
    assert ssim(a, a) == pytest.approx(1.0)
    assert ssim(a, rng.standard_normal((20, 20))) < 0.3


def test_spearman_equals_scipy_with_and_without_ties():
    from scipy.stats import spearmanr

    rng = np.random.default_rng(1)
    a = rng.standard_normal((30, 30))
    b = np.maximum(a + rng.standard_normal((30, 30)), 0)  # many tied zeros
    for absolute in (True, False):
        x, y = (np.abs(a), np.abs(b)) if absolute else (a, b)
        assert spearman(a, b, absolute) == pytest.approx(spearmanr(x.ravel(), y.ravel())[0], abs=1e-12)


@pytest.mark.parametrize("shape", [(224, 224), (48, 48), (12, 12), (6, 9)])
def test_ssim_equals_scikit_image(shape):
    from skimage.metrics import structural_similarity

    rng = np.random.default_rng(0)
    a = rng.standard_normal(shape).astype(np.float32)
    b = a + 0.5 * rng.standard_normal(shape).astype(np.float32)
    unit = [np.abs(m) / np.abs(m).max() for m in (a, b)]
    window = min(7, min(shape) if min(shape) % 2 else min(shape) - 1)
    expected = structural_similarity(*unit, data_range=1.0, win_size=window)
    assert ssim(a, b) == pytest.approx(expected, abs=1e-6)  # the reference ran in float32
    assert ssim(a, a) == pytest.approx(1.0)


def test_same_maps_groups_maps_equal_up_to_a_positive_factor():
    rng = np.random.default_rng(2)
    a, b = rng.random((12, 12)), rng.random((12, 12))
    nearly = 3 * a + 1e-7 * rng.standard_normal((12, 12))  # float rounding of another formula, at another scale
    maps = [a, b, np.zeros((12, 12)), nearly, a + 1e-3, b.copy(), np.full((12, 12), np.nan), -a]
    assert same_maps(maps) == [(0, 3), (1, 5)]  # zeros and NaN maps are in no group; -a is not a
    assert same_maps([a, a[:6]]) == [] and same_maps([a]) == [] and same_maps([]) == []


def test_grad_cam_xgrad_cam_and_hirescam_are_one_map_before_global_average_pooling(resnet18, coffee):
    """On ResNet-18's last stage (global average pooling, then the linear head) their formulas coincide; one stage
    earlier they do not, and LayerCAM differs at both."""
    from interpret.attribution import attribute

    x = resnet18.preprocessing.to_tensor(coffee.image)
    methods = ["gradcam", "layercam", "xgradcam", "hirescam"]
    for layer, expected in (("layer4", [(0, 2, 3)]), ("layer3", [])):
        maps = [attribute(resnet18, x, m, 1, layer=layer).values for m in methods]
        assert same_maps(maps) == expected, layer
