"""One forward pass of a batch, kept with its graph, for the prediction and every gradient map of that batch.

A dataset run needs, for each batch of images, the prediction (its top classes decide the targets) and then
the maps, and a gradient map's own forward pass is the same forward again: about a third of a Gradient
pass and most of a Grad-CAM pass paid twice. Inside `planned_forward(input_grad, layers)` (which opens a
`passes.shared_passes()` block) the first request for a batch runs one forward that keeps what every
planned map needs: the input as a leaf that requires grad, the named layers' outputs in the graph. The
prediction reads its logits; Gradient and Gradient x Input take d score / d input from it, the gradient
CAMs d score / d layer (each with retain_graph, so the next map can go back through the same graph).

The graph is what a batch's forward + backward holds anyway (`batch.batch_rows` budgets it): the caller
keeps one plan per batch, and the block's end frees it. Outside a plan, `recorded_forward` runs the forward
its caller asks for and caches nothing, so a map computed alone costs what it did before.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

import torch

from ..capture import capture
from ..errors import LayerError
from ..models import LoadedModel
from .passes import active_cache, digest, shared_passes


@dataclass(frozen=True)
class Forward:
    """A batch's forward pass: the input it ran on (a leaf requiring grad where `input_grad`), its logits, and
    the named layers' outputs, all parts of one autograd graph."""

    x: torch.Tensor
    logits: torch.Tensor
    layers: dict[str, torch.Tensor]
    input_grad: bool

    def layer(self, name: str) -> torch.Tensor:
        if name not in self.layers:
            raise LayerError(f"The layer '{name}' did not produce a tensor in the forward pass.")
        return self.layers[name]


@dataclass(frozen=True)
class Plan:
    """What the one forward of each batch in a `planned_forward` block keeps: the input's gradient, layers."""

    input_grad: bool
    layers: tuple[str, ...]


_PLAN: ContextVar[Plan | None] = ContextVar("interpret_planned_forward", default=None)


@contextmanager
def planned_forward(input_grad: bool, layers: tuple[str, ...] = ()) -> Iterator[None]:
    """A block in which each batch's prediction and gradient maps share one forward pass keeping `layers` (and
    the input's gradient where `input_grad`); the block's end releases the passes and their graphs."""
    with shared_passes():
        token = _PLAN.set(Plan(input_grad, tuple(dict.fromkeys(layers))))
        try:
            yield
        finally:
            _PLAN.reset(token)


def recorded_forward(lm: LoadedModel, x: torch.Tensor, input_grad: bool = False,
                     layers: tuple[str, ...] = ()) -> Forward:
    """A forward pass of `x` keeping at least what is asked: inside a `planned_forward` block the batch's one
    pass (the plan's input gradient and layers, if it covers the request), elsewhere a pass of its own."""
    plan, cache = _PLAN.get(), active_cache()
    if plan is None or cache is None or (input_grad and not plan.input_grad) or not set(layers) <= set(plan.layers):
        return _run(lm, x, input_grad, layers)
    key = (lm.key, id(lm.model), digest(x), "forward", plan)
    return cache.get_or_compute(key, lambda: _run(lm, x, plan.input_grad, plan.layers))


def _run(lm: LoadedModel, x: torch.Tensor, input_grad: bool, layers: tuple[str, ...]) -> Forward:
    """The forward pass itself. Captured layers stay in the graph when the input's gradient is wanted too, and
    are cut into leaves otherwise (layers before them then record no graph)."""
    x = x.detach().requires_grad_(True) if input_grad else x.detach()
    if not layers:
        with torch.enable_grad():
            return Forward(x, lm.model(x), {}, input_grad)
    with lm.lock, torch.enable_grad(), capture(lm.model, list(layers), keep="graph" if input_grad else "leaf") as got:
        logits = lm.model(x)
    return Forward(x, logits, {name: got[name] for name in layers if name in got}, input_grad)
