"""Private copies of a shared model: the one service for work that must hook or change a model.

The cached model is shared by every session and is never mutated. Work that must change it
(Guided Backprop's and DeepLIFT's modified ReLUs, the sanity check's randomised weights, feature
visualisation's hooks) works on a copy made here, under the shared model's lock, so no other
session's temporary hooks are copied along. Each copy is a LoadedModel of its own: own lock, own
cache key, same preprocessing, class names and device.

- `private_copy(lm)`: a new copy on every call, for work that changes weights.
- `shared_variant(lm, kind, transform)`: built once per (model, kind) and reused; weakly keyed by the
  shared model, so it goes when the model goes. Hook-based work on it holds the variant's own lock.
"""
from __future__ import annotations

import copy
import dataclasses
import itertools
import threading
import weakref
from collections.abc import Callable

from torch import nn

from .loaded import LoadedModel, freeze

_VARIANTS: weakref.WeakKeyDictionary[LoadedModel, dict[str, LoadedModel]] = weakref.WeakKeyDictionary()
_GUARD = threading.Lock()
_COUNTER = itertools.count()


def _twin(lm: LoadedModel, model: nn.Module, suffix: str) -> LoadedModel:
    return dataclasses.replace(lm, model=freeze(model), key=f"{lm.key}|{suffix}", lock=threading.RLock())


def private_copy(lm: LoadedModel) -> LoadedModel:
    """A frozen deep copy of `lm` in its own LoadedModel; its caller may hook or change it freely."""
    with lm.lock:
        model = copy.deepcopy(lm.model)
    return _twin(lm, model, f"private-{next(_COUNTER)}")


def shared_variant(lm: LoadedModel, kind: str, transform: Callable[[nn.Module], nn.Module]) -> LoadedModel:
    """`transform(deep copy of lm.model)` as a LoadedModel, built once per (model, kind) and then reused.

    `kind` names the transform (e.g. "guided_backprop"): one kind, one transform. The variant is
    shared by every session like the model it came from: never mutate it; hooks on it are registered
    while holding its own `lock`.
    """
    with _GUARD:
        cached = _VARIANTS.get(lm, {}).get(kind)
    if cached is not None:
        return cached
    with lm.lock:  # held across check and build: each (model, kind) is built once
        with _GUARD:
            cached = _VARIANTS.get(lm, {}).get(kind)
        if cached is not None:
            return cached
        variant = _twin(lm, transform(copy.deepcopy(lm.model)), kind)
        with _GUARD:
            _VARIANTS.setdefault(lm, {})[kind] = variant
        return variant
