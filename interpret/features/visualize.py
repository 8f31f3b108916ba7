"""What does this channel look for? Activation maximisation with a robust image parameterisation.

The optimisation runs on a private copy of the model (interpret.models.private.private_copy, taken
under the shared model's lock, so no other session's hooks are copied) under the copy's own lock:
the capture that stops each forward pass at the chosen layer (see interpret.layers.called_once)
never touches the shared model, and the shared model's lock is held only while it is copied.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from ..attribution.base import check_passes
from ..capture import capture, get_module
from ..errors import LayerError
from ..layers import LayerInfo, called_once, layer_info
from ..models import LoadedModel
from ..models.private import private_copy
from ..progress import Progress, report
from .parameterization import ImageParam
from .transforms import robust_transform


@dataclass(frozen=True)
class FeatureVisualization:
    layer: str
    channel: int
    image: np.ndarray  # uint8 H x W x 3: the optimised image, before any transform
    objective: tuple[float, ...]  # the channel's mean activation at every step
    seconds: float


def _channel_value(output: torch.Tensor, info: LayerInfo, channel: int) -> torch.Tensor:
    """The mean activation of one channel over the map (tokens: the patch grid; the value of one unit of a
    layer that is not a map), a view of `output` that the gradient flows through."""
    flat = info.as_grid(output).flatten(2) if info.spatial else output.reshape(output.shape[0], -1)
    if not 0 <= channel < flat.shape[1]:
        raise LayerError(f"Channel {channel} does not exist: the layer has {flat.shape[1]} channels.")
    return flat[:, channel].mean()


def visualize_channel(lm: LoadedModel, layer: str, channel: int, steps: int = 128, lr: float = 0.05,
                      parameterization: str = "fourier", decorrelate: bool = True, transforms: bool = True,
                      seed: int = 0, private: LoadedModel | None = None,
                      progress: Progress | None = None) -> FeatureVisualization:
    """Optimise an image so that `channel` of `layer` is as active as possible (mean over space).

    `progress(fraction)` is called after every step; raising `interpret.progress.Cancelled` (or any
    exception) from it ends the optimisation, and nothing is left behind. `private`: a copy of `lm`
    from `interpret.models.private.private_copy` to reuse. Deterministic for a given seed.
    """
    start = time.perf_counter()
    if not lm.hookable:
        raise LayerError("Feature visualisation needs the model's layers; a TorchScript model does not expose them.")
    check_passes("Feature visualisation", steps, "Use fewer steps (default 128).")  # one forward + backward a step
    private = private_copy(lm) if private is None else private
    get_module(private.model, layer)  # an unknown layer fails before any work
    info = layer_info(lm, layer)
    size = lm.preprocessing.crop_size
    generator = torch.Generator().manual_seed(seed)
    param = ImageParam(size, parameterization, decorrelate, seed).to(private.device)
    optimizer = torch.optim.Adam(param.parameters(), lr=lr)
    trace: list[float] = []
    stop = called_once(lm, layer)  # a reused module's output is its last one: that pass runs to the end
    with private.lock, torch.enable_grad(), capture(private.model, [layer], keep="graph", stop=stop) as captured:
        for step in range(steps):
            image = param()
            if transforms:
                image = robust_transform(image, size, generator)
            captured.run(lm.preprocessing.standardise(image))  # ends at the layer: the rest is never run
            output = captured.pop(layer, None)
            if output is None:
                raise LayerError(f"The layer '{layer}' did not produce a tensor in the forward pass.")
            value = _channel_value(output, info, channel)
            optimizer.zero_grad(set_to_none=True)
            (-value).backward()
            optimizer.step()
            trace.append(float(value.detach()))
            report(progress, (step + 1) / steps)
    with torch.no_grad():
        pixels = param()[0].permute(1, 2, 0).mul(255).round().clamp(0, 255).byte().cpu().numpy()
    return FeatureVisualization(layer, channel, pixels, tuple(trace), time.perf_counter() - start)
