"""Capturing layer outputs with hooks that live only inside a context manager.

The model is shared by every session, and a hook registered on a shared module fires for every
thread that runs through it. So each hook here acts only for the thread that registered it (other
sessions' forward passes go through untouched), and whoever registers hooks also holds the model's
lock until they are removed (see LoadedModel).
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Iterator

import torch
from torch import nn

from .errors import LayerError
from .models import LoadedModel


def get_module(model: nn.Module, name: str) -> nn.Module:
    """The submodule called `name`, or a LayerError that says so."""
    try:
        return model.get_submodule(name)
    except AttributeError as exc:
        raise LayerError(f"The model has no layer named '{name}'.") from exc


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


@contextmanager
def capture(model: nn.Module, names: list[str], keep_graph: bool = False,
            leaf: bool = False) -> Iterator[dict[str, torch.Tensor]]:
    """Record the outputs of the named modules during forward passes inside the block.

    keep_graph=False stores detached clones (a later in-place ReLU cannot overwrite them).
    keep_graph=True stores the output itself, part of the autograd graph, and feeds a clone
    downstream, so gradients can be taken with respect to it and in-place ops leave it intact.
    leaf=True (with keep_graph) stores the output as a new leaf that requires grad: the layers before
    it record no graph (about a forward pass cheaper) and gradients stop there.
    Hooks act only for the calling thread and are removed on exit, whatever happens.
    """
    captured: dict[str, torch.Tensor] = {}
    handles = []
    owner = threading.get_ident()

    def make_hook(name: str):
        def hook(module, args, output):
            if threading.get_ident() != owner:
                return None
            tensor = first_tensor(output)
            if tensor is None:
                return None
            if keep_graph:
                if leaf:
                    tensor = tensor.detach().requires_grad_(True)
                captured[name] = tensor
                return _replace_first(output, tensor.clone())
            captured[name] = tensor.detach().clone()
            return None

        return hook

    try:
        for name in names:
            handles.append(get_module(model, name).register_forward_hook(make_hook(name)))
        yield captured
    finally:
        for handle in handles:
            handle.remove()


def capture_layers(lm: LoadedModel, x: torch.Tensor, names: list[str]) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """One inference forward pass; returns ({layer: output on CPU}, logits on CPU)."""
    if not lm.hookable:
        raise LayerError("Layers of a TorchScript model cannot be captured; load the architecture with a weights file instead.")
    with lm.lock, torch.inference_mode(), capture(lm.model, names) as captured:
        logits = lm.model(lm.input_tensor(x))
        result = {name: t.cpu() for name, t in captured.items()}
    missing = [n for n in names if n not in result]
    if missing:
        raise LayerError(f"The layer '{missing[0]}' did not produce a tensor in the forward pass.")
    return result, logits.cpu()
