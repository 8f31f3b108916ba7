"""What kind of image model a network is, read from what it returns: the one table of model kinds.

Every page and method used to assume a classifier (one score per class). The kind is read once, from the
first pass's output (interpret/models/first_pass.py), and kept on the LoadedModel (`lm.kind`); a caller
who knows better names it (`load_model(..., kind=...)`), and the first pass then checks the output fits.

| kind | what the model returns | what `lm.model(x)` returns after loading |
|---|---|---|
| classifier | batch x classes scores (a tensor, or picked from a tuple, dict or ModelOutput) | the scores |
| segmentation | batch x classes x h x w per-pixel scores (torchvision's dict with `out`, a `logits` entry) | those scores |
| detection | a list, one dict per image, of `boxes` (K x 4), `labels` (K) and `scores` (K) (torchvision) | the list |
| embedding | batch x dims, with no head after the last normalisation layer (a backbone with fc=Identity) | the vectors |
| regression | one real value per image (batch,), or a few (batch x outputs, named by the caller) | batch x outputs |

A 2-D output is a classifier unless the last weighted layer of the network is a normalisation layer of the
output's width: then nothing maps features to scores, and it is an embedding. A one-output head stays a binary
classifier (sigmoid) unless `kind="regression"` is named: the output alone cannot tell the two apart.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ..errors import ModelLoadError

DETECTION_KEYS = ("boxes", "labels", "scores")
_NORMS = (nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm, nn.LocalResponseNorm)


@dataclass(frozen=True)
class Kind:
    """One kind of model: its name, its label in words, and what its scores are (for messages)."""

    name: str
    label: str
    scores: str  # what one output of the model holds, as a phrase

    @property
    def a_model(self) -> str:
        """"an object detection model", "a regression model": the kind in a sentence."""
        return f"{'an' if self.label[0] in 'aeiou' else 'a'} {self.label} model"


KINDS: dict[str, Kind] = {kind.name: kind for kind in (
    Kind("classifier", "image classifier", "one score per class"),
    Kind("segmentation", "semantic segmentation", "one score per class and pixel"),
    Kind("detection", "object detection", "boxes with their labels and scores"),
    Kind("embedding", "embedding", "one vector per image"),
    Kind("regression", "regression", "one or a few real values per image"),
)}

MODEL_KINDS = tuple(KINDS)  # every kind: what a method that explains any target's score declares


def a_model(kind: str) -> str:
    """The kind named in a sentence: "an embedding model"."""
    return KINDS[kind].a_model


def check_kind(kind: str) -> str:
    """The kind's name, or a ModelLoadError naming the kinds there are."""
    if kind not in KINDS:
        raise ModelLoadError(f"The model kind must be one of {', '.join(KINDS)}, not '{str(kind)[:40]}'.")
    return kind


def is_detections(output: Any, batch: int | None = None) -> bool:
    """Whether `output` is a list of per-image dicts of boxes, labels and scores (torchvision's detections)."""
    if not isinstance(output, Sequence) or isinstance(output, (str, bytes, torch.Tensor)) or not output:
        return False
    if batch is not None and len(output) != batch:
        return False
    return all(isinstance(item, Mapping) and all(isinstance(item.get(k), torch.Tensor) for k in DETECTION_KEYS)
               for item in output)


def segmentation_pick(output: Any) -> tuple[tuple[str, Any], ...] | None:
    """Where per-pixel scores (N x C x h x w) are in `output`: () for such a tensor, a key of a dict ('out' first,
    then 'logits'), the `.logits` of a ModelOutput; None when there are none."""
    if isinstance(output, torch.Tensor):
        return () if output.ndim == 4 else None
    if isinstance(output, Mapping):
        for key in ("out", "logits"):
            value = output.get(key)
            if isinstance(value, torch.Tensor) and value.ndim == 4:
                return (("key", key),)
        return None
    value = getattr(output, "logits", None)
    return (("attr", "logits"),) if isinstance(value, torch.Tensor) and value.ndim == 4 else None


def _last_weighted_leaf(model: nn.Module) -> nn.Module | None:
    """The last registered module without children that holds parameters (the head, in most networks)."""
    last = None
    try:
        for module in model.modules():
            if not any(True for _ in module.children()) and any(True for _ in module.parameters(recurse=False)):
                last = module
    except (RuntimeError, AttributeError):  # a TorchScript or exported module that does not list its modules
        return None
    return last


def headless(model: nn.Module, width: int) -> bool:
    """Whether the network ends without a head: its last weighted layer normalises `width` features (a ResNet with
    fc=Identity ends in BatchNorm2d(512), a ViT without a head in LayerNorm)."""
    last = _last_weighted_leaf(model)
    if not isinstance(last, _NORMS):
        return False
    features = getattr(last, "num_features", None) or getattr(last, "num_channels", None)
    shape = getattr(last, "normalized_shape", None)
    if features is None and shape:
        features = shape[-1]
    return features == width


def read_kind(output: Any, model: nn.Module, batch: int) -> str:
    """The kind of model that returned `output` for a batch of `batch` images (see the module's table)."""
    if is_detections(output, batch):
        return "detection"
    if segmentation_pick(output) is not None:
        return "segmentation"
    if isinstance(output, torch.Tensor) and output.ndim == 1:
        return "regression"
    if isinstance(output, torch.Tensor) and output.ndim == 2 and headless(model, int(output.shape[1])):
        return "embedding"
    return "classifier"


def normalises_inside(model: nn.Module) -> bool:
    """Whether the network normalises its input itself (torchvision's detectors: a `transform` holding `image_mean`
    and `image_std`, applied to pixels in [0, 1]): its input must then be the pixels, not normalised again."""
    transform = getattr(model, "transform", None)
    return isinstance(transform, nn.Module) and all(
        isinstance(getattr(transform, name, None), (list, tuple)) for name in ("image_mean", "image_std"))


def detection_classes(model: nn.Module) -> int | None:
    """How many classes a torchvision detector scores (background included), from its head; None if unknown."""
    predictor = getattr(getattr(model, "roi_heads", None), "box_predictor", None)
    cls_score = getattr(predictor, "cls_score", None)
    if isinstance(cls_score, nn.Linear):
        return int(cls_score.out_features)
    classification = getattr(getattr(model, "head", None), "classification_head", None)
    count = getattr(classification, "num_classes", None)
    return int(count) if isinstance(count, int) else None
