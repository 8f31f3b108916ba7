"""Why A rather than B: maps of the predicted class, of the true class, and of their score difference.

The contrastive map attributes f_A(x) - f_B(x) (`Target(index=A, contrast=B)`), one pass of the chosen
method on the difference; for methods linear in the score (gradient, gradient x input) it equals the
difference of the two class maps, for the others it is its own explanation.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from ..attribution import Attribution, Target
from ..attribution.batch import attribute_batch
from ..errors import InterpretError
from ..models import LoadedModel
from ..progress import Progress


@dataclass(frozen=True)
class ContrastiveExplanation:
    predicted: Attribution  # why the model said A
    true: Attribution  # what speaks for B
    contrast: Attribution  # why A rather than B


def explain_mistake(lm: LoadedModel, x: torch.Tensor, predicted: int, true: int, method: str,
                    objective: str = "logit", layer: str | None = None, params: dict[str, Any] | None = None,
                    progress: Progress | None = None) -> ContrastiveExplanation:
    """Three maps of one image (1 x 3 x H x W, preprocessed) with the same method and settings.

    `progress` follows interpret.progress: each map reports its third; `Cancelled` passes up.
    A contrast needs two different classes: a one-output (binary) head has none to contrast with.
    """
    if lm.num_classes < 2:
        raise InterpretError(f"A contrastive map needs two classes; '{lm.spec}' has one output (a binary head).")
    for index in (predicted, true):
        if not 0 <= index < lm.num_classes:
            raise InterpretError(f"Class index {index} is out of range: this model has {lm.num_classes} classes.")
    if predicted == true:
        raise InterpretError(f"'{lm.label(true)}' was predicted correctly: a contrast needs two different classes.")
    targets = [Target(predicted, objective), Target(true, objective), Target(predicted, objective, contrast=true)]
    # the three maps in batched passes (one per target); methods without a batched form run one after another
    maps = attribute_batch(lm, x[:1].repeat(len(targets), 1, 1, 1), method, targets, layer=layer, params=params,
                           progress=progress)
    return ContrastiveExplanation(*maps)
