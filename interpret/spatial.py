"""The one Gaussian blur of image-like tensors (attribution baselines, the insertion metric).

How a layer's output is read as a map (NCHW, NHWC, tokens) is each layer's own: interpret/layers.py."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

PADDINGS = ("replicate", "reflect")


def gaussian_blur(x: torch.Tensor, sigma: float, radius: int | None = None, padding: str = "replicate") -> torch.Tensor:
    """A separable Gaussian blur of an N x C x H x W tensor, the same size out.

    radius: the kernel is 2 * radius + 1 wide; by default ceil(3 sigma), at most the image size - 1.
    padding: "replicate" (edge pixels repeated: any radius) or "reflect" (mirrored without the edge,
    as torchvision's gaussian_blur: radius < H and W). The kernel is normalised, so a constant image
    stays constant with either.
    """
    if padding not in PADDINGS:
        raise ValueError(f"padding must be one of {PADDINGS}, not {padding!r}")
    if sigma <= 0:
        raise ValueError(f"sigma must be positive, not {sigma}")
    if radius is None:
        radius = max(1, min(int(math.ceil(3 * sigma)), max(x.shape[-2:]) - 1))
    t = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    kernel = torch.exp(-0.5 * (t / sigma) ** 2)
    kernel = kernel / kernel.sum()
    c = x.shape[1]
    x = F.pad(x, (radius, radius, radius, radius), mode=padding)
    x = F.conv2d(x, kernel.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return F.conv2d(x, kernel.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)
