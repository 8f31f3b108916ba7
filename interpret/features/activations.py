"""One layer's output for a batch of photos, as channels-first arrays: all a page needs to show it."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..capture import capture_layers
from ..layers import LayerInfo, called_once, classifier_layers, layer_info
from ..models import LoadedModel


@dataclass(frozen=True)
class LayerActivations:
    """The output of one layer: N x C x H x W for spatial outputs (ViT tokens as grids), else N x C.

    `kind` is the raw output's layout ('nchw', 'nhwc', 'tokens' or None), `raw_shape` its shape
    without the batch dimension; `logits` are the model's outputs from the same forward pass (None
    when the pass stopped at the layer); `unit_names` the class of each unit of a classifier layer.
    """

    layer: str
    values: np.ndarray
    kind: str | None
    raw_shape: tuple[int, ...]
    logits: np.ndarray | None = None
    unit_names: tuple[str, ...] | None = None

    @property
    def spatial(self) -> bool:
        return self.values.ndim == 4

    @property
    def channels(self) -> int:
        return self.values.shape[1]

    def image(self, i: int = 0) -> np.ndarray:
        """The activations of photo `i`: C x H x W, or C for a non-spatial layer."""
        return self.values[i]


def channels_first(output: torch.Tensor, info: LayerInfo) -> tuple[np.ndarray, str | None]:
    """A raw output of the layer `info` (N x ...) as float32 N x C x H x W (a map: NHWC permuted, tokens as
    their patch grid without the class and register tokens) or N x units, and its layout."""
    values = info.as_grid(output) if info.spatial else output.reshape(output.shape[0], -1)
    return values.detach().float().cpu().contiguous().numpy(), info.spatial


def layer_activations(lm: LoadedModel, x: torch.Tensor, layer: str, with_logits: bool = False) -> LayerActivations:
    """Capture one layer for a preprocessed batch (nothing else is kept).

    The forward pass stops after the layer unless `with_logits` asks for the model's outputs too
    (or the layer's module runs more than once per pass: its last output is the one kept).
    """
    if with_logits or not called_once(lm, layer):
        captured, logits = capture_layers(lm, x, [layer])
        scores = logits.float().numpy()
    else:
        captured, _ = capture_layers(lm, x, [layer], stop=True)
        scores = None
    output = captured[layer]
    values, kind = channels_first(output, layer_info(lm, layer))
    names = lm.class_names if layer in classifier_layers(lm) else None
    return LayerActivations(layer, values, kind, tuple(output.shape[1:]), scores, names)
