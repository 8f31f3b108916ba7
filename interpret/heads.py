"""How a model's scores become probabilities: softmax for one class per image, sigmoid for multi-label or binary heads.

One place for it, so that predictions, the "probability" and "loss" objectives, RISE, the faithfulness curves
and the Mistakes page all read a sigmoid head the same way (a softmax over independent labels would make
their probabilities compete, and a one-output binary head would always show 100 %).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

ACTIVATIONS = ("softmax", "sigmoid")


def check_activation(activation: str) -> str:
    """The activation's name, or ValueError naming the ones there are."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, not {activation!r}")
    return activation


def probabilities(logits: torch.Tensor, activation: str = "softmax") -> torch.Tensor:
    """Class probabilities (N x classes, float32) from scores: a softmax over classes, or a sigmoid per class."""
    logits = logits.float()
    return logits.sigmoid() if check_activation(activation) == "sigmoid" else logits.softmax(-1)


def class_loss(logits: torch.Tensor, index: int, activation: str = "softmax") -> torch.Tensor:
    """The loss (N,) of labelling each image as class `index`: cross-entropy, or that label's binary cross-entropy."""
    logits = logits.float()
    if check_activation(activation) == "sigmoid":
        column = logits[:, index]
        return F.binary_cross_entropy_with_logits(column, torch.ones_like(column), reduction="none")
    labels = torch.full((logits.shape[0],), index, dtype=torch.long, device=logits.device)
    return F.cross_entropy(logits, labels, reduction="none")
