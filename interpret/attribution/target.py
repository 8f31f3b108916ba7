"""What an attribution explains: a class score, its probability, the loss for a label, or a contrast."""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

OBJECTIVES = ("logit", "probability", "loss")


@dataclass(frozen=True)
class Target:
    """The scalar (per image) whose input attribution is computed.

    logit: the class score f_c(x); probability: softmax_c; loss: the cross-entropy loss for class c,
    as in the origin article. With `contrast` = b, the score is f_c(x) - f_b(x): "why c rather than b".
    """

    index: int
    objective: str = "logit"
    contrast: int | None = None

    def __post_init__(self):
        if self.objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {OBJECTIVES}, not {self.objective!r}")

    def score(self, logits: torch.Tensor) -> torch.Tensor:
        """One scalar per image of a batch of logits (N x classes) -> (N,)."""
        logits = logits.float()
        if self.objective == "probability":
            values = logits.softmax(-1)
        elif self.objective == "loss":
            labels = torch.full((logits.shape[0],), self.index, dtype=torch.long, device=logits.device)
            loss = F.cross_entropy(logits, labels, reduction="none")
            if self.contrast is None:
                return loss
            other = torch.full_like(labels, self.contrast)
            return loss - F.cross_entropy(logits, other, reduction="none")
        else:
            values = logits
        score = values[:, self.index]
        if self.contrast is not None:
            score = score - values[:, self.contrast]
        return score

    def describe(self, class_names: tuple[str, ...]) -> str:
        name = class_names[self.index]
        text = {"logit": f"score of '{name}'", "probability": f"probability of '{name}'",
                "loss": f"loss for '{name}'"}[self.objective]
        if self.contrast is not None:
            text += f" minus '{class_names[self.contrast]}'"
        return text
