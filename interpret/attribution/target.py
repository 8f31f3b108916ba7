"""What an attribution explains: a class score, its probability, the loss for a label, or a contrast."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import torch

from ..heads import check_activation, class_loss, probabilities

if TYPE_CHECKING:
    from ..models import LoadedModel

OBJECTIVES = ("logit", "probability", "loss")


@dataclass(frozen=True)
class Target:
    """The scalar (per image) whose input attribution is computed.

    logit: the class score f_c(x); probability: softmax_c (sigmoid_c for a sigmoid head); loss: the
    cross-entropy loss for class c (binary for a sigmoid head), as in the origin article. With `contrast` = b,
    the score is f_c(x) - f_b(x): "why c rather than b". `activation` is the model's (LoadedModel.activation);
    `attribute()` sets it from the model. Targets of the other kinds of model are its subclasses
    (attribution/kind_targets.py), each naming the `kind` of model (models/kinds.py) it scores.
    """

    kind: ClassVar[str] = "classifier"
    index: int
    objective: str = "logit"
    contrast: int | None = None
    activation: str = "softmax"

    def __post_init__(self):
        if self.objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {OBJECTIVES}, not {self.objective!r}")
        check_activation(self.activation)

    def score(self, logits: torch.Tensor) -> torch.Tensor:
        """One scalar per image of a batch of logits (N x classes) -> (N,)."""
        logits = logits.float()
        if self.objective == "probability":
            values = probabilities(logits, self.activation)
        elif self.objective == "loss":
            loss = class_loss(logits, self.index, self.activation)
            if self.contrast is None:
                return loss
            return loss - class_loss(logits, self.contrast, self.activation)
        else:
            values = logits
        score = values[:, self.index]
        if self.contrast is not None:
            score = score - values[:, self.contrast]
        return score

    def describe(self, lm: LoadedModel) -> str:
        """What is explained, in words (an Attribution's `target_label`): the class's name, for a classifier."""
        return lm.label(self.index)
