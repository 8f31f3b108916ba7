"""interpret.models.private: the one private-copy service. Variants are built once per (model, kind),
own their lock, share no parameter with the shared model and go when the model goes; copies are new
every time; the shared model keeps no hook."""
import gc
import threading
import weakref

import torch
from torch import nn

from interpret.attribution import Target, attribute
from interpret.models import LoadedModel
from interpret.models.loaded import freeze
from interpret.models.private import _VARIANTS, private_copy, shared_variant
from interpret.preprocess import Preprocessing
from test_shared_model import untouched


def tiny_model() -> LoadedModel:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))
    return LoadedModel(spec="test:tiny", model=freeze(net), preprocessing=Preprocessing(crop_size=16, resize_size=16),
                       class_names=("a", "b"), device=torch.device("cpu"))


def storages(module: nn.Module) -> set[int]:
    return {t.untyped_storage().data_ptr() for t in [*module.parameters(), *module.buffers()]}


def test_a_variant_is_built_once_per_model_and_kind_with_its_own_lock_and_key():
    lm = tiny_model()
    built = []

    def halve(model):
        built.append(model)
        model[4].weight.mul_(0.5)
        return model

    first = shared_variant(lm, "halved", halve)
    again = shared_variant(lm, "halved", halve)
    other = shared_variant(lm, "plain", lambda model: model)
    assert first is again and len(built) == 1 and other is not first
    assert first.lock is not lm.lock and first.lock is not other.lock
    assert len({lm.key, first.key, other.key}) == 3
    assert first.preprocessing == lm.preprocessing and first.class_names == lm.class_names
    assert storages(first.model).isdisjoint(storages(lm.model))
    torch.testing.assert_close(first.model[4].weight, lm.model[4].weight * 0.5)
    assert not first.model.training and not any(p.requires_grad for p in first.model.parameters())


def test_concurrent_sessions_build_a_variant_only_once():
    lm = tiny_model()
    calls = []
    start = threading.Barrier(6)

    def slow(model):
        calls.append(1)
        threading.Event().wait(0.2)
        return model

    def session(results, i):
        start.wait()
        results[i] = shared_variant(lm, "slow", slow)

    results = [None] * 6
    threads = [threading.Thread(target=session, args=(results, i)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and all(r is results[0] for r in results)


def test_variants_go_when_their_model_is_garbage_collected():
    lm = tiny_model()
    variant = weakref.ref(shared_variant(lm, "plain", lambda model: model))
    assert variant() is not None and lm in _VARIANTS
    count, model = len(_VARIANTS), weakref.ref(lm)
    del lm
    gc.collect()
    # its entry is gone (others of models that died before may go in the same collection)
    assert variant() is None and model() is None and len(_VARIANTS) <= count - 1


def test_a_private_copy_is_new_every_time_and_changing_it_leaves_the_model_alone():
    lm = tiny_model()
    a, b = private_copy(lm), private_copy(lm)
    assert a.model is not b.model and a.lock is not b.lock and a.key != b.key != lm.key
    assert storages(a.model).isdisjoint(storages(lm.model)) and storages(a.model).isdisjoint(storages(b.model))
    before = lm.model[4].weight.clone()
    with torch.no_grad():
        a.model[4].weight.zero_()
    assert torch.equal(lm.model[4].weight, before) and torch.equal(b.model[4].weight, before)
    assert not a.model.training and not any(p.requires_grad for p in a.model.parameters())


def test_methods_that_change_relus_leave_the_shared_model_without_hooks(resnet18, coffee):
    x = resnet18.preprocessing.to_tensor(coffee.image)
    before = set(_VARIANTS.get(resnet18, {}))  # the session's model: other tests' methods may have made theirs (LRP)
    for method in ("guided_backprop", "deconvolution", "deeplift"):
        assert attribute(resnet18, x, method, Target(3)).status == "ok"
    assert untouched(resnet18)
    variants = _VARIANTS[resnet18]
    # Guided Backprop and Deconvolution change ReLU calls inside their own pass (a thread-local function mode):
    # no copy at all. DeepLIFT's Captum hooks live on a rewritten copy.
    assert "deeplift" in variants
    assert set(variants) - before - {"channels_last"} <= {"deeplift"}  # (the masked-image scorer's twin may exist too)
    for variant in variants.values():
        assert variant.lock is not resnet18.lock
        assert storages(variant.model).isdisjoint(storages(resnet18.model))
        assert not any(m._forward_hooks or m._backward_hooks for m in variant.model.modules())
