"""A model ready for explanation: network, preprocessing, class names, device and a lock."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field

import torch
from torch import nn

from ..errors import InterpretError
from ..heads import check_activation, probabilities
from ..preprocess import Preprocessing
from .keys import canonical_key
from .kinds import check_kind


@dataclass(frozen=True, eq=False)
class LoadedModel:
    """A frozen, eval-mode model shared by every session.

    Never mutate `model`. Code that must register hooks on it holds `lock` for as long as
    the hooks exist, so that concurrent sessions never see each other's hooks.
    """

    spec: str
    model: nn.Module
    preprocessing: Preprocessing
    class_names: tuple[str, ...]
    device: torch.device
    hookable: bool = True  # False for TorchScript files: no module hooks, no layer capture
    activation: str = "softmax"  # "sigmoid" for multi-label or binary heads (interpret/heads.py)
    report: str = ""  # one line on how the weights were matched (checkpoints), shown beside the model
    kind: str = "classifier"  # what the model returns (interpret/models/kinds.py): read by its first pass
    key: str = ""  # identifies what was loaded (spec, device, weights, class names): the cache key of results
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    def __post_init__(self) -> None:
        check_activation(self.activation)
        check_kind(self.kind)
        if not self.key:
            object.__setattr__(self, "key", canonical_key("loaded", self.spec, str(self.device), list(self.class_names)))

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def label(self, index: int) -> str:
        return self.class_names[index]

    def find_class(self, target: int | str) -> int:
        """A class index from an index, an index as text, or a class name (case-insensitive)."""
        if isinstance(target, int) or (isinstance(target, str) and target.strip().lstrip("-").isdigit()):
            index = int(target)
            if not 0 <= index < self.num_classes:
                raise InterpretError(f"Class index {index} is out of range: this model has {self.num_classes} classes.")
            return index
        text = str(target).strip()
        for i, name in enumerate(self.class_names):
            if name == text:
                return i
        lowered = text.lower()
        for i, name in enumerate(self.class_names):
            if name.lower() == lowered:
                return i
        raise InterpretError(f"No class named '{text}' in this model's {self.num_classes} classes.")

    def probabilities(self, logits: torch.Tensor) -> torch.Tensor:
        """This model's class probabilities from its scores (softmax or sigmoid, per `activation`)."""
        return probabilities(logits, self.activation)

    def input_tensor(self, x: torch.Tensor) -> torch.Tensor:
        """Move a preprocessed batch to the model's device."""
        return x.to(self.device, non_blocking=True)


def freeze(model: nn.Module) -> nn.Module:
    """Eval mode and parameters that never collect gradients: safe to share, and faster."""
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model
