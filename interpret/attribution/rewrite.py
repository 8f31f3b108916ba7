"""Module swaps for the modified copies that Guided Backprop, Deconvolution and DeepLIFT work on.

Used only inside a `shared_variant` transform (interpret.models.private): the swap happens on a
fresh deep copy, never on the shared model.
"""
from __future__ import annotations

from collections.abc import Callable

from torch import nn


def replace_modules(model: nn.Module, match: Callable[[nn.Module], bool], make: Callable[[nn.Module], nn.Module]) -> nn.Module:
    """Swap every submodule for which `match` holds by `make(old)`, in place (use on a copy only)."""
    for name, module in list(model.named_modules()):
        if name and match(module):
            parent_name, _, child = name.rpartition(".")
            parent = model.get_submodule(parent_name) if parent_name else model
            setattr(parent, child, make(module))
    return model
