"""One layer's channels across a whole set (`--channels LAYER`): every image's per-channel maxima, a store column
captured in the forward pass that predicts the shard (no second pass), and, for the few images a view shows, the
channel's map computed again on demand.

Why maxima, and maps only on demand: a layer's maps are C x h x w per image (EfficientNet-Lite0's blocks.3.2:
80 x 14 x 14, 63 KB as float32; an early 32 x 112 x 112 layer: 1.6 MB), terabytes over a large set, while a view
shows one channel's top dozen images at a time. The maxima (C float32 per image: 5 KB for 1280 channels) rank every
image for every channel; the maps of the images shown come from one batched forward of those images.
"""
from __future__ import annotations

import numpy as np
import torch

from ..capture import SCRIPTED
from ..errors import LayerError, ParameterError
from ..features import layer_activations
from ..layers import LayerInfo, layer_info
from ..limits import DATASET_CHANNELS
from ..models import LoadedModel


def channels_layer(lm: LoadedModel, layer: str) -> LayerInfo:
    """The layer whose channels a run keeps, checked: a map (its channels have a region to draw), of at most
    DATASET_CHANNELS channels; a LayerError or ParameterError saying why not."""
    if not lm.hookable:
        raise LayerError(SCRIPTED)
    info = layer_info(lm, layer)
    if info.spatial is None:
        raise ParameterError(f"--channels needs a layer whose output is a map, and '{layer}' is not one "
                             f"({info.reason or 'no spatial output'}): `interpret layers` marks the maps.")
    if (info.channels or 0) > DATASET_CHANNELS:
        raise ParameterError(f"'{layer}' has {info.channels} channels, more than a store keeps per image "
                             f"({DATASET_CHANNELS}, limit DATASET_CHANNELS): choose a narrower layer.")
    return info


def channel_maxima(info: LayerInfo, output: torch.Tensor) -> np.ndarray:
    """Each image's maximum of each channel (N x C float32) from the layer's raw output (N x ...)."""
    return info.as_grid(output).flatten(2).amax(2).float().cpu().numpy()


def channel_maps(lm: LoadedModel, x: torch.Tensor, layer: str, channel: int) -> np.ndarray:
    """One channel's map (N x h x w float32) for a preprocessed batch: a view's few top images, computed again."""
    values = layer_activations(lm, x, layer).values
    if not 0 <= channel < values.shape[1]:
        raise LayerError(f"Channel {channel} does not exist: '{layer}' has {values.shape[1]} channels.")
    return values[:, channel]
