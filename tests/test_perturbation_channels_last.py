"""A model whose convolution weights are channels-last (the shapes CNN, trained so) computes channels-last
whatever its input: masked batches are handed to it channels-last, which saves a conversion per forward and
leaves the maps and the faithfulness curves exactly as they were."""
from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from benchmarks.shapes.model import ShapesNet
from interpret.attribution import attribute, perturbation
from interpret.attribution.perturbation import channels_last_model, model_input
from interpret.metrics import FaithfulnessProbe
from interpret.metrics import faithfulness as faithfulness_module
from interpret.models import LoadedModel
from interpret.models.loaded import freeze
from interpret.preprocess import Preprocessing


def loaded(memory_format: torch.memory_format) -> LoadedModel:
    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = ShapesNet(width=4).to(memory_format=memory_format)
    return LoadedModel("test:cl", freeze(model), Preprocessing(crop_size=24, resize_size=24), tuple("abcdefgh"),
                       torch.device("cpu"), threading.RLock())


@pytest.fixture(scope="module")
def x() -> torch.Tensor:
    return torch.randn(1, 3, 24, 24, generator=torch.Generator().manual_seed(2))


def test_only_a_channels_last_model_gets_channels_last_batches(x):
    cl, plain = loaded(torch.channels_last), loaded(torch.contiguous_format)
    assert channels_last_model(cl.model) and not channels_last_model(plain.model)
    batch = x.repeat(4, 1, 1, 1)
    assert model_input(cl.model, batch).is_contiguous(memory_format=torch.channels_last)
    assert model_input(plain.model, batch) is batch


@pytest.mark.parametrize("method, params", [("rise", {"masks": 16}), ("occlusion", {"window": 8, "stride": 8})])
def test_maps_are_the_same_with_and_without_the_conversion(x, method, params, monkeypatch):
    lm = loaded(torch.channels_last)
    converted = attribute(lm, x, method, 1, params=params).values
    monkeypatch.setattr(perturbation, "model_input", lambda model, batch: batch)
    as_given = attribute(lm, x, method, 1, params=params).values
    assert np.abs(converted).max() > 0
    np.testing.assert_allclose(converted, as_given, rtol=1e-6, atol=1e-7)


def test_curves_are_the_same_with_and_without_the_conversion(x, monkeypatch):
    lm = loaded(torch.channels_last)
    values = np.random.default_rng(0).random((24, 24))
    converted = FaithfulnessProbe(lm, x).curves(values, steps=8)
    monkeypatch.setattr(faithfulness_module, "model_input", lambda model, batch: batch)
    as_given = FaithfulnessProbe(lm, x).curves(values, steps=8)
    for a, b in zip(converted, as_given, strict=True):
        np.testing.assert_allclose(a.probs, b.probs, rtol=1e-6, atol=1e-7)
