"""A loaded model under edited preprocessing shares its network and lock (interpret/models/preprocessed.py):
editing a model file's preprocessing in the app no longer loads its weights a second time."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from interpret.errors import ModelLoadError
from interpret.models import DEFAULT_SPEC, LoadedModel, load_model, with_preprocessing
from interpret.models.loaded import freeze
from interpret.predict import top_k
from interpret.preprocess import Preprocessing

SMALLER = Preprocessing(crop_size=160, resize_size=182, interpolation="bicubic")


def test_the_network_and_its_lock_are_shared_and_the_results_are_those_of_a_fresh_load(bundled, coffee):
    edited = with_preprocessing(bundled, SMALLER)
    assert edited.model is bundled.model and edited.lock is bundled.lock  # one copy of the weights, hooks exclusive
    assert edited.preprocessing == SMALLER and edited.key != bundled.key  # its results are its own
    fresh = load_model(DEFAULT_SPEC, preprocessing=SMALLER)
    x = SMALLER.to_tensor(coffee.image)
    assert x.shape[-1] == 160
    ours, theirs = top_k(edited, x)[0], top_k(fresh, x)[0]
    assert [p.index for p in ours] == [p.index for p in theirs]
    assert [p.prob for p in ours] == pytest.approx([p.prob for p in theirs], abs=1e-6)


def test_the_same_preprocessing_is_the_model_itself(bundled):
    assert with_preprocessing(bundled, bundled.preprocessing) is bundled


def _tiny(model: nn.Module, classes: int) -> LoadedModel:
    return LoadedModel("test:fixed-size", freeze(model), Preprocessing(crop_size=32, resize_size=32),
                       tuple(f"c{i}" for i in range(classes)), torch.device("cpu"))


def test_an_input_size_the_network_cannot_take_is_refused_with_the_reason():
    lm = _tiny(nn.Sequential(nn.Conv2d(3, 4, 4, stride=4), nn.Flatten(), nn.Linear(4 * 8 * 8, 5)), 5)
    with pytest.raises(ModelLoadError, match="failed in its first forward pass"):
        with_preprocessing(lm, Preprocessing(crop_size=64, resize_size=64))


def test_an_input_size_that_changes_the_number_of_scores_is_refused():
    lm = _tiny(nn.Sequential(nn.Conv2d(3, 2, 8, stride=8), nn.Flatten()), 2 * 4 * 4)
    with pytest.raises(ModelLoadError, match="gives 128 scores at a 64-pixel input, not its 32 classes"):
        with_preprocessing(lm, Preprocessing(crop_size=64, resize_size=64))
