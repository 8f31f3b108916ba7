"""A program exported for a fixed batch of one image (`torch.export.export(model, (x,))`, the default) run on any batch.

The program's graph holds its batch size as a constant, so it runs one image per call. `StaticBatch` calls it once
per row and concatenates the rows: each image's scores and input gradients are exactly the program's, whatever the
batch. Its submodules are the program's own, under the same names (its module, parameter and buffer dicts are the
program's), so hooks and layer lists work as on the program. A hook sees one row per call, so a pass that captures a
layer must hold one image: batched captured passes (attribution/batch.py) ask `static_batch(model)` for their rows.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from .wrapper import SharedDicts

_BATCH = "_interpret_static_batch"


def _join(parts: list[Any]) -> Any:
    """The per-row outputs joined along the batch: tensors concatenated, tuples, lists and mappings item by item."""
    first = parts[0]
    if isinstance(first, torch.Tensor):
        return torch.cat(parts)
    if isinstance(first, Mapping):
        return {key: _join([part[key] for part in parts]) for key in first}
    if isinstance(first, (tuple, list)):
        return type(first)(_join([part[i] for part in parts]) for i in range(len(first)))
    return first


class StaticBatch(SharedDicts):
    """A module exported for one image per call, run row by row on a batch (same submodules, same layer names:
    wrapper.SharedDicts)."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__(inner)
        self.__dict__[_BATCH] = 1

    def forward(self, x: torch.Tensor) -> Any:
        return _join([self.inner(x[i:i + 1]) for i in range(int(x.shape[0]))])

    def rewrap(self, inner: nn.Module) -> StaticBatch:
        return StaticBatch(inner)


def static_batch(model: nn.Module) -> int | None:
    """The fixed batch a model runs per call (1 for a `StaticBatch`, also once wrapped for its logits); None if any."""
    value = model.__dict__.get(_BATCH)
    return int(value) if value else None
