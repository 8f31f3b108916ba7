"""Private, modified copies of a shared model, made once per model and kept while the model lives.

Guided Backprop, Deconvolution and DeepLIFT change how ReLUs back-propagate. Doing that with hooks on
the shared model would leak into every other session's pass, so they work on a deep copy whose ReLUs
are replaced (the shared model is never touched). The copy is made under the model's lock, so no
other session's temporary hooks are copied along.
"""
from __future__ import annotations

import threading
import weakref
from typing import Callable

from torch import nn

from ..models import LoadedModel
from ..models.loaded import freeze, private_model

_COPIES: "weakref.WeakKeyDictionary[LoadedModel, dict[str, nn.Module]]" = weakref.WeakKeyDictionary()
_LOCKS: dict[tuple[int, str], threading.RLock] = {}
_GUARD = threading.Lock()


def private_copy(lm: LoadedModel, kind: str, transform: Callable[[nn.Module], nn.Module]) -> nn.Module:
    """The model transformed by `transform(deepcopy)`, built once per (model, kind)."""
    with _GUARD:
        cached = _COPIES.get(lm, {}).get(kind)
    if cached is not None:
        return cached
    with lm.lock:  # held across check and build, so each (model, kind) is built once
        with _GUARD:
            cached = _COPIES.get(lm, {}).get(kind)
        if cached is not None:
            return cached
        model = freeze(transform(private_model(lm)))
        with _GUARD:
            _COPIES.setdefault(lm, {})[kind] = model
        return model


def copy_lock(lm: LoadedModel, kind: str) -> threading.RLock:
    """A lock for hook-based work on one private copy (the shared model's lock stays free)."""
    with _GUARD:
        return _LOCKS.setdefault((id(lm), kind), threading.RLock())


def replace_modules(model: nn.Module, match: Callable[[nn.Module], bool], make: Callable[[nn.Module], nn.Module]) -> nn.Module:
    """Swap every submodule for which `match` holds by `make(old)`, in place (use on a copy only)."""
    for name, module in list(model.named_modules()):
        if name and match(module):
            parent_name, _, child = name.rpartition(".")
            parent = model.get_submodule(parent_name) if parent_name else model
            setattr(parent, child, make(module))
    return model
