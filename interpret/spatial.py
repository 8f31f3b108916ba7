"""Seeing any layer output as a channels-first grid: CNN maps, NHWC maps and transformer tokens."""
from __future__ import annotations

import math

import torch

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
    if kind == "tokens":
        side, prefix = token_grid_side(t.shape[1])
        return t[:, prefix:, :].transpose(1, 2).reshape(t.shape[0], t.shape[2], side, side)
    return None
