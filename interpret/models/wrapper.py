"""A module that runs another one under the same layer names: its submodule, parameter and buffer dicts are the
inner module's own, so hooks, layer lists and state dicts see the inner module's layers.

The inner module is held unregistered and runs whole; moves, mode changes and copies go through it (a copy is a
copy of it, whose dicts the new wrapper shares again). Subclasses say how to wrap a copy (`rewrap`) and what
their forward does with the inner module.
"""
from __future__ import annotations

import copy
from typing import Any

from torch import nn


class SharedDicts(nn.Module):
    """The shared-dicts mechanics: `inner`, `train`, `_apply` and `__deepcopy__` through the inner module."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.__dict__["_interpret_inner"] = inner
        for shared in ("_modules", "_parameters", "_buffers"):
            self.__dict__[shared] = inner.__dict__[shared]
        self.training = inner.training

    @property
    def inner(self) -> nn.Module:
        return self.__dict__["_interpret_inner"]

    def rewrap(self, inner: nn.Module) -> SharedDicts:
        """This wrapper's twin around `inner` (a copy of the inner module)."""
        raise NotImplementedError

    def train(self, mode: bool = True) -> SharedDicts:
        if self.inner.training != mode:  # exported modules refuse train()/eval() even when nothing changes
            self.inner.train(mode)
        self.training = mode
        return self

    def _apply(self, fn: Any, recurse: bool = True) -> SharedDicts:
        self.inner._apply(fn, recurse)
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> SharedDicts:
        twin = self.rewrap(copy.deepcopy(self.inner, memo))
        memo[id(self)] = twin
        return twin
