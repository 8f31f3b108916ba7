"""Class scores out of structured outputs: a tuple or list, a dict, or a transformers `ModelOutput`.

Many models return more than their logits: `(logits, features)`, `{"logits": ..., "aux": ...}`, or
transformers' `ImageClassifierOutput` (`.logits`). Every method here needs one tensor of class scores
(batch x classes), so the loader probes the model once, works out where its logits are (a "pick": an index,
a key or the `logits` attribute), and wraps the model so that its forward returns that tensor.

The wrapper keeps the model's layer names: it is an instance of a subclass of the model's own class that
shares the model's submodules, parameters and buffers, and only its `forward` differs (it calls the
original forward and applies the pick); an fx GraphModule (torch.export) is held by a module that shares
its dicts instead, as GraphModule manages its own classes, and a TorchScript module (no hookable layers) by a
plain one. So `layer4` stays `layer4` for capture hooks, layer lists, CAMs and feature maps, `get_submodule`
finds the same modules, and copies (`copy.deepcopy`) keep the pick.
The pick is structural (which item, not which shape), so it also holds under tracing.
"""
from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from ..errors import ModelLoadError
from .wrapper import SharedDicts

# One step from an output towards its logits: ("index", 0), ("key", "logits"), ("attr", "logits"), or
# ("unsqueeze", -1) for a model returning one value per image (a regression's batch, made batch x 1).
Pick = tuple[tuple[str, Any], ...]
_PICK_ATTRIBUTE = "_interpret_logits_pick"


def _shapes(items: list[Any]) -> str:
    return ", ".join(str(tuple(v.shape)) if isinstance(v, torch.Tensor) else type(v).__name__ for v in items[:6])


def _is_scores(value: Any, batch: int | None) -> bool:
    return isinstance(value, torch.Tensor) and value.ndim == 2 and (batch is None or int(value.shape[0]) == batch)


def _kind(output: Any) -> str:
    return type(output).__name__


def find_logits(output: Any, batch: int | None = None, name: str = "the model") -> Pick:
    """Where the class scores are in `output`: () for a tensor; else the steps to them.

    A tuple or list: its first 2-D tensor (with `batch` rows, where given). A mapping (a transformers
    `ModelOutput` is one): its "logits" entry, else its only tensor. Another object: its `.logits` tensor.
    Anything else is a ModelLoadError that says what the output holds."""
    if isinstance(output, torch.Tensor):
        return ()
    rows = f"{batch} x classes" if batch is not None else "batch x classes"
    if isinstance(output, Mapping):
        if isinstance(output.get("logits"), torch.Tensor):
            return (("key", "logits"),)
        tensors = [k for k, v in output.items() if isinstance(v, torch.Tensor)]
        if len(tensors) == 1:
            return (("key", tensors[0]),)
        keys = ", ".join(repr(str(k)[:40]) for k in list(output)[:8]) or "none"
        raise ModelLoadError(f"'{name}' returns {_kind(output)} with keys {keys} and no 'logits' tensor: name the "
                             "class scores 'logits', or return them alone.")
    if isinstance(output, (tuple, list)):
        for i, value in enumerate(output):
            if _is_scores(value, batch):
                return (("index", i),)
        raise ModelLoadError(f"'{name}' returns {_kind(output)}, not a tensor of class scores, and none of its "
                             f"{len(output)} items is one ({rows}): {_shapes(list(output)) or 'empty'}.")
    if isinstance(getattr(output, "logits", None), torch.Tensor):
        return (("attr", "logits"),)
    raise ModelLoadError(f"'{name}' returns {_kind(output)}, not a tensor of class scores ({rows}).")


def apply_pick(output: Any, pick: Pick) -> Any:
    """The value `pick` leads to in `output` (the logits, for the pick `find_logits` made)."""
    for how, where in pick:
        if how == "unsqueeze":
            output = output.unsqueeze(where)
        else:
            output = getattr(output, where) if how == "attr" else output[where]
    return output


def logits_of(output: Any, batch: int | None = None, name: str = "the model") -> torch.Tensor:
    """The class scores in a model's output: the tensor itself, or the one picked out of a tuple, dict or ModelOutput."""
    return apply_pick(output, find_logits(output, batch, name))


def describe_pick(pick: Pick) -> str:
    """The pick in words, e.g. "output[0]", "output['logits']", "output.logits"; "" for a plain tensor."""
    text = "output"
    for how, where in pick:
        if how == "unsqueeze":
            text = f"{text}.unsqueeze({where})"
        else:
            text += f".{where}" if how == "attr" else f"[{where!r}]"
    return text if pick else ""


def pick_of(model: nn.Module) -> Pick:
    """The pick a `with_logits` wrapper applies; () for a model that returns its logits itself."""
    return tuple(model.__dict__.get(_PICK_ATTRIBUTE, ()))


class _ScriptLogits(nn.Module):
    """The logits of a TorchScript module's structured output (such modules cannot be subclassed; they have no
    hookable layers here anyway, LoadedModel.hookable is False for them)."""

    def __init__(self, scripted: nn.Module, pick: Pick) -> None:
        super().__init__()
        self.scripted = scripted
        self.__dict__[_PICK_ATTRIBUTE] = pick

    def forward(self, *args: Any, **kwargs: Any) -> torch.Tensor:
        return apply_pick(self.scripted(*args, **kwargs), self.__dict__[_PICK_ATTRIBUTE])


class _SharedLogits(SharedDicts):
    """The logits of an fx GraphModule's structured output (torch.export's modules among them), under the same
    layer names (wrapper.SharedDicts). GraphModule keeps its generated forward on a class of its own and rewrites
    it on `recompile`, so it is not subclassed."""

    def __init__(self, inner: nn.Module, pick: Pick) -> None:
        super().__init__(inner)
        self.__dict__[_PICK_ATTRIBUTE] = pick

    def forward(self, *args: Any, **kwargs: Any) -> torch.Tensor:
        return apply_pick(self.inner(*args, **kwargs), self.__dict__[_PICK_ATTRIBUTE])

    def rewrap(self, inner: nn.Module) -> _SharedLogits:
        return _SharedLogits(inner, self.__dict__[_PICK_ATTRIBUTE])


def _logits_class(base: type[nn.Module]) -> type[nn.Module]:
    """A subclass of `base` whose forward returns the picked logits of `base.forward`."""

    def forward(self: nn.Module, *args: Any, **kwargs: Any) -> torch.Tensor:
        return apply_pick(base.forward(self, *args, **kwargs), self.__dict__[_PICK_ATTRIBUTE])

    def __deepcopy__(self: nn.Module, memo: dict[int, Any]) -> nn.Module:
        twin = object.__new__(type(self))
        memo[id(self)] = twin
        twin.__dict__.update(copy.deepcopy(self.__dict__, memo))
        return twin

    return type(base.__name__, (base,), {"forward": forward, "__deepcopy__": __deepcopy__, "__module__": base.__module__,
                                         "__qualname__": base.__qualname__, "__doc__": base.__doc__})


def with_logits(model: nn.Module, probe_output: Any, batch: int | None = None, name: str = "the model") -> nn.Module:
    """`model` itself when `probe_output` (what it returned for a probe batch) is a tensor; else a model whose
    forward returns the logits picked out of that structure, with the same layer names, modules and weights."""
    return with_pick(model, find_logits(probe_output, batch, name))


def with_pick(model: nn.Module, pick: Pick) -> nn.Module:
    """`model` itself for an empty pick; else a model whose forward returns `apply_pick(model's output, pick)`, with
    the same layer names, modules and weights (a TorchScript module and an fx GraphModule are held, not subclassed)."""
    if not pick:
        return model
    if isinstance(model, torch.jit.ScriptModule):
        return _ScriptLogits(model, pick).train(model.training)
    if isinstance(model, torch.fx.GraphModule):
        return _SharedLogits(model, pick)
    wrapped = object.__new__(_logits_class(type(model)))  # no __init__, no custom __new__: the model's own state
    wrapped.__dict__.update(model.__dict__)  # the same submodule, parameter and buffer dicts: one set of weights
    wrapped.__dict__[_PICK_ATTRIBUTE] = pick
    return wrapped
