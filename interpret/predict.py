"""Top-k predictions for one image or a batch."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .errors import InterpretError
from .models import LoadedModel
from .models.kinds import KINDS


@dataclass(frozen=True)
class Prediction:
    index: int
    label: str
    prob: float


def probabilities(lm: LoadedModel, x: torch.Tensor) -> torch.Tensor:
    """Class probabilities (softmax or sigmoid, per the model; N x classes, on the CPU) for a preprocessed batch.
    A model of another kind (models/kinds.py) has none: refused with one line, never a softmax of something else."""
    if lm.kind != "classifier":
        kind = KINDS[lm.kind]
        raise InterpretError(f"'{lm.spec}' is {kind.a_model} ({kind.scores}): it gives no class probabilities, "
                             "which only an image classifier has.")
    with torch.inference_mode():
        return lm.probabilities(lm.model(lm.input_tensor(x))).cpu()


def top_k(lm: LoadedModel, x: torch.Tensor, k: int = 5) -> list[list[Prediction]]:
    """The k most probable classes of each image in the batch, most probable first."""
    probs = probabilities(lm, x)
    k = max(1, min(k, probs.shape[1]))
    values, indices = probs.topk(k, dim=1)
    return [
        [Prediction(int(i), lm.label(int(i)), float(v)) for v, i in zip(row_v, row_i, strict=True)]
        for row_v, row_i in zip(values, indices, strict=True)
    ]
