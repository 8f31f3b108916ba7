"""LIME and KernelSHAP equal Captum's Lime and KernelShap called directly with the same SLIC mask, samples, fill
and seed (Captum's global generator seeded as the method seeds its private one), and their cost is bounded."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from captum.attr import KernelShap, Lime
from skimage.segmentation import slic

from interpret.attribution import attribute
from interpret.attribution.base import prepare
from interpret.errors import ParameterError

TARGET = 3
SETTINGS = {"segments": 20, "samples": 60}


@pytest.fixture(scope="module")
def image(resnet18, coffee):
    return F.interpolate(resnet18.preprocessing.to_tensor(coffee.image), size=(64, 64), mode="area")


def slic_mask(lm, x: torch.Tensor, segments: int) -> torch.Tensor:
    """The superpixels straight from scikit-image, on the image's RGB pixels."""
    labels = slic(lm.preprocessing.denormalize(x), n_segments=segments, compactness=10.0, start_label=0)
    assert set(np.unique(labels)) == set(range(labels.max() + 1))  # consecutive here: Captum can use them as they are
    return torch.from_numpy(labels).long()[None, None]


def captum_map(lm, x, method, baseline: torch.Tensor, seed: int = 0) -> np.ndarray:
    explainer = {"lime": Lime, "kernel_shap": KernelShap}[method](lambda batch: lm.model(batch)[:, TARGET])
    torch.manual_seed(seed)
    with torch.no_grad():
        result = explainer.attribute(x, baselines=baseline, feature_mask=slic_mask(lm, x, SETTINGS["segments"]),
                                     n_samples=SETTINGS["samples"], return_input_shape=True)
    return result[0, 0].numpy()


def relative(ours: np.ndarray, reference: np.ndarray) -> float:
    return float(np.abs(ours - reference).max() / np.abs(reference).max())


@pytest.mark.parametrize("method", ["lime", "kernel_shap"])
def test_equal_to_captum_with_the_same_mask_samples_and_seed(resnet18, image, method):
    ours = attribute(resnet18, image, method, TARGET, params={**SETTINGS, "seed": 5}).values
    reference = captum_map(resnet18, image, method, torch.zeros_like(image), seed=5)
    assert relative(ours, reference) <= 1e-5, relative(ours, reference)
    assert len(np.unique(reference)) >= 3  # a map of several superpixels (Lasso zeroes many), not a constant


def test_a_black_fill_is_captums_black_baseline(resnet18, image):
    black = resnet18.preprocessing.standardise(torch.zeros_like(image))
    ours = attribute(resnet18, image, "kernel_shap", TARGET, params={**SETTINGS, "fill": "black"}).values
    assert relative(ours, captum_map(resnet18, image, "kernel_shap", black)) <= 1e-5


def test_the_seed_changes_the_samples(resnet18, image):
    maps = [attribute(resnet18, image, "lime", TARGET, params={**SETTINGS, "seed": seed}).values for seed in (0, 1)]
    assert not np.allclose(*maps)


def test_the_cost_is_bounded_before_any_pass(resnet18):
    with pytest.raises(ParameterError, match="MAX_PASSES|lie in"):
        prepare(resnet18, (224, 224), "lime", 0, params={"samples": 6000})
    with pytest.raises(ParameterError, match="MASKED_PIXELS"):  # 1000 copies of 1024 x 1024 px
        prepare(resnet18, (1024, 1024), "kernel_shap", 0, params={"samples": 1000})
    assert prepare(resnet18, (224, 224), "kernel_shap", 0, params={"samples": 5000}).params["samples"] == 5000


def test_an_image_slic_leaves_in_one_piece_is_refused_with_the_reason(resnet18):
    noise = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(0))  # SLIC merges its fragments
    with pytest.raises(ParameterError, match="single superpixel"):
        attribute(resnet18, noise, "kernel_shap", TARGET, params={"segments": 10, "samples": 16})
