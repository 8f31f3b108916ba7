"""What does this channel look for? Activation maximisation with a robust image parameterisation.

The optimisation runs on a private deepcopy of the model (taken while holding the shared model's
lock, so no other session's hooks are copied): the hook that stops the forward pass at the chosen
layer never touches the shared model, and the shared model's lock is held only for the copy.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import nn

from ..capture import first_tensor, get_module
from ..errors import LayerError
from ..models import LoadedModel
from ..models.loaded import private_model
from ..spatial import as_grid
from .parameterization import ImageParam
from .transforms import robust_transform


@dataclass(frozen=True)
class FeatureVisualization:
    layer: str
    channel: int
    image: np.ndarray  # uint8 H x W x 3: the optimised image, before any transform
    objective: tuple[float, ...]  # the channel's mean activation at every step
    seconds: float


class _Reached(Exception):
    """Raised by the hook to end the forward pass once the layer has produced its output."""

    def __init__(self, output: torch.Tensor):
        super().__init__("layer reached")
        self.output = output


def private_copy(lm: LoadedModel) -> nn.Module:
    """A deepcopy of the shared model that this caller may hook and change freely."""
    if not lm.hookable:
        raise LayerError("Feature visualisation needs the model's layers; a TorchScript model does not expose them.")
    return private_model(lm)


def _channel_value(output: torch.Tensor, channel: int) -> torch.Tensor:
    """The mean activation of one channel (or the value of one unit of a non-spatial layer)."""
    grid = as_grid(output)
    flat = output.reshape(output.shape[0], -1) if grid is None else grid.flatten(2)
    if not 0 <= channel < flat.shape[1]:
        raise LayerError(f"Channel {channel} does not exist: the layer has {flat.shape[1]} channels.")
    return flat[:, channel].mean()


def visualize_channel(lm: LoadedModel, layer: str, channel: int, steps: int = 128, lr: float = 0.05,
                      parameterization: str = "fourier", decorrelate: bool = True, transforms: bool = True,
                      seed: int = 0, model: nn.Module | None = None,
                      progress: Callable[[float], None] | None = None) -> FeatureVisualization:
    """Optimise an image so that `channel` of `layer` is as active as possible (mean over space).

    `progress(fraction)` is called after every step; an exception raised by it (a page's stop
    button) ends the optimisation, and nothing is left behind. `model`: a private copy to reuse.
    Deterministic for a given seed, so results can be cached.
    """
    start = time.perf_counter()
    model = private_copy(lm) if model is None else model
    module = get_module(model, layer)
    size = lm.preprocessing.crop_size
    device = lm.device
    mean = torch.tensor(lm.preprocessing.mean, device=device).view(1, 3, 1, 1)
    std = torch.tensor(lm.preprocessing.std, device=device).view(1, 3, 1, 1)
    generator = torch.Generator().manual_seed(seed)
    param = ImageParam(size, parameterization, decorrelate, seed).to(device)
    optimizer = torch.optim.Adam(param.parameters(), lr=lr)

    def hook(mod, args, output):
        tensor = first_tensor(output)
        if tensor is not None:
            raise _Reached(tensor)

    trace: list[float] = []
    handle = module.register_forward_hook(hook)
    try:
        with torch.enable_grad():
            for step in range(steps):
                image = param()
                if transforms:
                    image = robust_transform(image, size, generator)
                try:
                    model((image - mean) / std)
                except _Reached as reached:
                    output = reached.output
                else:
                    raise LayerError(f"The layer '{layer}' did not produce a tensor in the forward pass.")
                value = _channel_value(output, channel)
                optimizer.zero_grad(set_to_none=True)
                (-value).backward()
                optimizer.step()
                trace.append(float(value.detach()))
                if progress is not None:
                    progress((step + 1) / steps)
    finally:
        handle.remove()
    with torch.no_grad():
        pixels = param()[0].permute(1, 2, 0).mul(255).round().clamp(0, 255).byte().cpu().numpy()
    return FeatureVisualization(layer, channel, pixels, tuple(trace), time.perf_counter() - start)
