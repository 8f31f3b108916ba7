"""Image-like tensors in space: any layer output as a channels-first grid (CNN maps, NHWC maps,
transformer tokens), and the one Gaussian blur (attribution baselines, the insertion metric)."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

MAX_PREFIX_TOKENS = 8  # class + register/distillation tokens dropped from a token sequence


def token_grid_side(tokens: int) -> tuple[int, int] | None:
    """(side, prefix) when `tokens` = prefix + side**2 with a small prefix, else None."""
    for prefix in range(MAX_PREFIX_TOKENS + 1):
        side = math.isqrt(tokens - prefix) if tokens > prefix else 0
        if side > 1 and side * side == tokens - prefix:
            return side, prefix
    return None


def is_channels_last(shape: tuple[int, ...]) -> bool:
    """NHWC guess for 4-D outputs (torchvision Swin, ConvNeXt blocks): square H, W and more channels."""
    return len(shape) == 4 and shape[1] == shape[2] and shape[3] > shape[1] and shape[3] != shape[2]


def spatial_kind(shape: tuple[int, ...]) -> str | None:
    """'nchw', 'nhwc', 'tokens' or None for an output shape that includes the batch dimension."""
    if len(shape) == 4:
        if is_channels_last(shape):
            return "nhwc"
        if shape[2] > 1 or shape[3] > 1:
            return "nchw"
        return None
    if len(shape) == 3 and token_grid_side(shape[1]) is not None:
        return "tokens"
    return None


def as_grid(t: torch.Tensor) -> torch.Tensor | None:
    """N x C x H x W view of a spatial output (tokens reshaped, prefix tokens dropped), else None."""
    kind = spatial_kind(tuple(t.shape))
    if kind == "nchw":
        return t
    if kind == "nhwc":
        return t.permute(0, 3, 1, 2)
    grid = token_grid_side(t.shape[1]) if kind == "tokens" else None
    if grid is not None:
        side, prefix = grid
        return t[:, prefix:, :].transpose(1, 2).reshape(t.shape[0], t.shape[2], side, side)
    return None


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
