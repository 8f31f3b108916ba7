"""The sanity check of many maps of one image at once (the Trust metrics over a set, the quality benchmark):
one private copy randomised once per stage for all of them, the maps of each stage from one shared request,
and every result equal to the check of that map alone. DeepLIFT's rewritten copy is traced once per module,
not once per randomisation stage, and still computes on each stage's weights."""
from __future__ import annotations

import dataclasses
import threading

import numpy as np
import pytest
import torch

from benchmarks.shapes.model import ShapesNet
from interpret.attribution import REGISTRY, Attribution, attribute, deeplift
from interpret.metrics import SanityOptions, cascading_randomisation, cascading_randomisation_many
from interpret.metrics.sanity import reinitialise
from interpret.models import LoadedModel
from interpret.models.loaded import freeze
from interpret.models.private import private_copy
from interpret.preprocess import Preprocessing

METHODS = [m for m in ("gradient", "grad_x_input", "gradcam", "gradcam_pp", "smoothgrad", "deeplift", "rise")
           if m in REGISTRY]
PARAMS = {"smoothgrad": {"samples": 4}, "rise": {"masks": 16}}
OPTIONS = SanityOptions(seed=3, only=(0, -1))


@pytest.fixture(scope="module")
def tiny() -> LoadedModel:
    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = ShapesNet(width=4).to(memory_format=torch.channels_last)
        with torch.no_grad():
            for module in model.modules():
                if isinstance(module, torch.nn.BatchNorm2d):
                    module.running_mean.normal_(0, 0.1)
                    module.running_var.uniform_(0.5, 2.0)
    return LoadedModel("test:tiny-shapes", freeze(model), Preprocessing(crop_size=32, resize_size=32),
                       tuple("abcdefgh"), torch.device("cpu"), threading.RLock())


@pytest.fixture(scope="module")
def x() -> torch.Tensor:
    return torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(1))


def test_many_maps_checked_at_once_equal_each_check_alone(tiny, x):
    originals = [attribute(tiny, x, m, 2, params=PARAMS.get(m)) for m in METHODS]
    edges = np.abs(np.diff(x[0].sum(0).numpy(), axis=0, append=0)).astype(np.float32)
    reference = Attribution("edges", 2, "", (), edges, False, 0.0)
    together = cascading_randomisation_many(tiny, x, [*originals, reference], OPTIONS,
                                            map_fns=[None] * len(originals) + [lambda twin: edges])
    for original, result in zip(originals, together[:-1], strict=True):
        alone = cascading_randomisation(tiny, x, original, OPTIONS)
        assert [s.index for s in result.stages] == [s.index for s in alone.stages] == [0, 4]
        for a, b in zip(result.stages, alone.stages, strict=True):
            np.testing.assert_allclose(a.values, b.values, rtol=1e-5, atol=1e-6, err_msg=original.method)
            assert a.spearman_abs == pytest.approx(b.spearman_abs, abs=1e-6)
            assert len(a.draws) == len(b.draws) and a.draws == pytest.approx(b.draws, abs=1e-6)
    assert together[-1].stages[0].spearman_abs == pytest.approx(1.0)  # the model-free map never changes


def test_deeplift_is_traced_once_per_module_and_follows_its_current_weights(tiny, x, monkeypatch):
    traces = []
    real = deeplift.one_module_per_use
    monkeypatch.setattr(deeplift, "one_module_per_use", lambda model: traces.append(1) or real(model))
    twin = private_copy(tiny)
    first = attribute(dataclasses.replace(twin, key="twin|1"), x, "deeplift", 2)
    reinitialise(twin.model.fc, torch.Generator().manual_seed(0))  # in place, as the sanity check does
    second = attribute(dataclasses.replace(twin, key="twin|2"), x, "deeplift", 2)
    assert len(traces) == 1  # the second twin got the first one's rewritten copy, with the new weights
    fresh = attribute(private_copy(twin), x, "deeplift", 2)  # another module: traced anew
    assert len(traces) == 2
    np.testing.assert_allclose(second.values, fresh.values, rtol=1e-5, atol=1e-7)
    assert not np.allclose(second.values, first.values)
    assert abs(second.summation_gap) < 1e-4 and abs(first.summation_gap) < 1e-4


def test_the_shared_model_is_never_changed_by_a_refresh(tiny, x):
    before = {k: v.clone() for k, v in tiny.model.state_dict().items()}
    original = attribute(tiny, x, "deeplift", 2)
    cascading_randomisation(tiny, x, original, OPTIONS)
    again = attribute(tiny, x, "deeplift", 2)
    assert all(torch.equal(before[k], v) for k, v in tiny.model.state_dict().items())
    np.testing.assert_array_equal(again.values, original.values)
