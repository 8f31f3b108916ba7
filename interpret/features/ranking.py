"""Which channels matter: order a layer's channels by index, activation, or their drive on a class."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from ..attribution.target import Target
from ..capture import SCRIPTED, capture
from ..errors import LayerError
from ..layers import classifier_layers, layer_info
from ..models import LoadedModel
from .activations import LayerActivations, channels_first
from .stats import channel_maxima, channel_means

SORTS = ("index", "mean", "max", "grad")
SORT_LABELS = {
    "index": "channel index",
    "mean": "mean activation",
    "max": "max activation",
    "grad": "drive on the target class (gradient × activation)",
}


def grad_x_activation(lm: LoadedModel, x: torch.Tensor, layer: str,
                      target: int | Target | None = None) -> tuple[LayerActivations, np.ndarray]:
    """The layer's activations and, per image and channel, sum over space of d score / d A * A.

    A channel with a large positive value pushes the target score up for this photo. The hooks of
    `capture` live only while `lm.lock` is held; the captured output is a fresh leaf and the gradient
    is taken with torch.autograd.grad with respect to it only, so no parameter ever receives a .grad.
    target=None takes each image's predicted class (read from `activations.logits`).
    Returns (activations, scores N x C).
    """
    if not lm.hookable:
        raise LayerError(SCRIPTED)
    target = target if isinstance(target, Target) or target is None else Target(int(target))
    target = None if target is None else replace(target, activation=lm.activation)
    if target is not None and not 0 <= target.index < lm.num_classes:
        raise LayerError(f"Class index {target.index} is out of range: this model has {lm.num_classes} classes.")
    with lm.lock, torch.enable_grad(), capture(lm.model, [layer], keep="leaf") as captured:
        logits = lm.model(lm.input_tensor(x))  # the layer's output is a leaf: no graph is recorded before it
        output = captured.get(layer)
        if output is None:
            raise LayerError(f"The layer '{layer}' did not produce a tensor in the forward pass.")
        if target is None:
            score = logits.float().gather(1, logits.detach().argmax(1, keepdim=True))
        else:
            score = target.score(logits)
        (grad,) = torch.autograd.grad(score.sum(), output, allow_unused=True)
    grad = torch.zeros_like(output) if grad is None else grad
    info = layer_info(lm, layer)
    values, kind = channels_first(output, info)
    grads, _ = channels_first(grad, info)
    product = grads * values
    scores = product.reshape(product.shape[0], product.shape[1], -1).sum(-1)
    names = lm.class_names if layer in classifier_layers(lm) else None
    acts = LayerActivations(layer, values, kind, tuple(output.shape[1:]), logits.detach().float().cpu().numpy(), names)
    return acts, scores


def sort_keys(values: np.ndarray, by: str, grad_scores: np.ndarray | None = None) -> np.ndarray:
    """One key per channel of a C x H x W (or C) array; larger keys come first."""
    if by == "index":
        return -np.arange(values.shape[0], dtype=np.float64)
    if by == "mean":
        return channel_means(values)
    if by == "max":
        return channel_maxima(values)
    if by == "grad":
        if grad_scores is None:
            raise ValueError("sorting by 'grad' needs the gradient x activation scores")
        return np.asarray(grad_scores, dtype=np.float64)
    raise ValueError(f"sort must be one of {SORTS}, not {by!r}")


def channel_order(values: np.ndarray, by: str = "index", grad_scores: np.ndarray | None = None) -> np.ndarray:
    """Channel indices, top channels first (ties keep index order)."""
    keys = sort_keys(values, by, grad_scores)
    return np.argsort(-keys, kind="stable")
