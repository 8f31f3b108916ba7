"""The one way to hook a model: record layer outputs inside a context manager, optionally stopping early.

The model is shared by every session, and a hook registered on a shared module fires for every
thread that runs through it. So each hook here acts only for the thread that registered it (other
sessions' forward passes go through untouched), and whoever registers hooks also holds the model's
lock (or a private copy's lock, see interpret.models.private) until they are removed.

`stop=True` ends the forward pass as soon as every requested layer has produced its output (as
baukit's `Trace(stop=True)`): callers that need an early layer do not pay for the rest of the network.
"""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal, overload

import torch
from torch import nn

from .errors import LayerError
from .models import LoadedModel

KEEPS = ("clone", "graph", "leaf", "shape")
SCRIPTED = "Layers of a TorchScript model cannot be captured; load the architecture with a weights file instead."


def get_module(model: nn.Module, name: str) -> nn.Module:
    """The submodule called `name`, or a LayerError that says so (or that a TorchScript model has none)."""
    if isinstance(model, torch.jit.ScriptModule):
        raise LayerError(SCRIPTED)
    try:
        module = model.get_submodule(name)
    except AttributeError as exc:
        raise LayerError(f"The model has no layer named '{name}'.") from exc
    except RuntimeError as exc:  # a name inside a ScriptModule (a TorchScript file wrapped for its logits)
        raise LayerError(SCRIPTED) from exc
    if isinstance(module, torch.jit.ScriptModule):
        raise LayerError(SCRIPTED)
    return module


def first_tensor(output) -> torch.Tensor | None:
    """The tensor a module returned (the first one, for tuples and lists)."""
    if isinstance(output, torch.Tensor):
        return output
    if isinstance(output, (tuple, list)) and output and isinstance(output[0], torch.Tensor):
        return output[0]
    return None


def _replace_first(output, tensor):
    if isinstance(output, torch.Tensor):
        return tensor
    return type(output)([tensor, *output[1:]])


class _StopForward(Exception):
    """Raised by a hook once every requested layer has produced its output; caught by `capture`."""


class Captured(dict):
    """Layer name -> captured output, filled during forward passes inside `capture`'s block.

    `order` lists the layers in the order of their first output, `shapes` holds the shape of each
    layer's first output (batch dimension included), `calls` how many outputs each layer produced
    (a module reused in one pass, like a torchvision ResNet block's ReLU, counts more than once),
    `stopped` tells whether a pass ended early.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.order: list[str] = []
        self.shapes: dict[str, tuple[int, ...]] = {}
        self.calls: dict[str, int] = {}
        self.stopped = False

    def run(self, *args: Any, **kwargs: Any) -> Any:
        """Call the model; its output, or None when the pass stopped after the last requested layer."""
        try:
            return self.model(*args, **kwargs)
        except _StopForward:
            self.stopped = True
            return None


@contextmanager
def capture(model: nn.Module, names: list[str], keep: str = "clone", stop: bool = False) -> Iterator[Captured]:
    """Record the outputs of the named modules during forward passes inside the block.

    keep="clone" stores detached clones (a later in-place ReLU cannot overwrite them);
    keep="graph" stores the output itself, part of the autograd graph, and feeds a clone downstream,
    so gradients can be taken with respect to it and in-place ops leave it intact;
    keep="leaf" stores the output as a new leaf that requires grad: the layers before it record no
    graph (no autograd bookkeeping for them) and gradients stop there;
    keep="shape" stores nothing but `order` and `shapes`.
    A module called twice keeps its last output. stop=True ends a pass once every named layer has
    produced an output (its first, for a reused module: see `interpret.layers.called_once`):
    `captured.run(x)` returns None then, and a bare `model(x)` in the block leaves the block (the
    rest of it is skipped). Hooks act only for the calling thread and are
    removed on exit, whatever happens.
    """
    if keep not in KEEPS:
        raise ValueError(f"keep must be one of {KEEPS}, not {keep!r}")
    if isinstance(model, torch.jit.ScriptModule):
        raise LayerError(SCRIPTED)  # get_submodule and forward hooks are not supported on ScriptModules
    captured = Captured(model)
    wanted = dict.fromkeys(names)  # unique, in the caller's order
    handles = []
    owner = threading.get_ident()

    def make_hook(name: str):
        def hook(module, args, output):
            if threading.get_ident() != owner:
                return None
            tensor = first_tensor(output)
            if tensor is None:
                return None
            if name not in captured.shapes:
                captured.shapes[name] = tuple(tensor.shape)
                captured.order.append(name)
            captured.calls[name] = captured.calls.get(name, 0) + 1
            if keep == "clone":
                captured[name] = tensor.detach().clone()
            elif keep == "leaf":
                tensor = tensor.detach().requires_grad_(True)
                captured[name] = tensor
            elif keep == "graph":
                captured[name] = tensor
            if stop and len(captured.shapes) == len(wanted):
                raise _StopForward
            return _replace_first(output, tensor.clone()) if keep in ("graph", "leaf") else None

        return hook

    try:
        for name in wanted:
            handles.append(get_module(model, name).register_forward_hook(make_hook(name)))
        yield captured
    except _StopForward:
        captured.stopped = True
    finally:
        for handle in handles:
            handle.remove()


@overload
def capture_layers(lm: LoadedModel, x: torch.Tensor, names: list[str],
                   stop: Literal[False] = False) -> tuple[dict[str, torch.Tensor], torch.Tensor]: ...
@overload
def capture_layers(lm: LoadedModel, x: torch.Tensor, names: list[str],
                   stop: Literal[True]) -> tuple[dict[str, torch.Tensor], None]: ...
def capture_layers(lm: LoadedModel, x: torch.Tensor, names: list[str],
                   stop: bool = False) -> tuple[dict[str, torch.Tensor], torch.Tensor | None]:
    """One inference forward pass; returns ({layer: output on CPU}, logits on CPU).

    stop=True ends the pass after the last requested layer; the logits are None then. A detector's "logits" are its
    list of per-image dicts (models/kinds.py), each tensor on the CPU.
    """
    if not lm.hookable:
        raise LayerError(SCRIPTED)
    with lm.lock, torch.inference_mode(), capture(lm.model, names, stop=stop) as captured:
        logits = captured.run(lm.input_tensor(x))
        result = {name: t.cpu() for name, t in captured.items()}
    missing = [n for n in names if n not in result]
    if missing:
        raise LayerError(f"The layer '{missing[0]}' did not produce a tensor in the forward pass.")
    return result, None if logits is None else _on_cpu(logits)


def _on_cpu(output: Any) -> Any:
    """A model's output on the CPU: a tensor, or a detector's list of dicts of tensors."""
    if isinstance(output, (list, tuple)):
        return [{key: value.cpu() for key, value in item.items()} for item in output]
    return output.cpu()
