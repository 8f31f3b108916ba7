"""Random robustness transforms for feature visualisation: padding, jitter, scale and rotation.

A feature the model really detects survives small shifts, zooms and turns; optimising through
random ones stops the image from exploiting pixel-exact adversarial patterns (lucid's
standard_transforms). All differentiable, one affine resampling per step.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

SCALES = tuple(1 + (i - 5) / 50 for i in range(11))  # 0.9 .. 1.1
ANGLES = tuple(range(-10, 11))  # degrees


def _jitter(image: torch.Tensor, d: int, generator: torch.Generator) -> torch.Tensor:
    if d <= 0:
        return image
    h, w = image.shape[-2:]
    dy, dx = (int(v) for v in torch.randint(0, d + 1, (2,), generator=generator))
    return image[..., dy:h - d + dy, dx:w - d + dx]


def robust_transform(image: torch.Tensor, size: int, generator: torch.Generator, pad: int = 12,
                     jitter: int = 8, scale: bool = True, rotate: bool = True) -> torch.Tensor:
    """Pad, jitter, randomly scale and rotate, jitter again, and resize to size x size."""
    image = F.pad(image, (pad,) * 4, mode="constant", value=0.5)
    image = _jitter(image, jitter, generator)
    factor = SCALES[int(torch.randint(len(SCALES), (1,), generator=generator))] if scale else 1.0
    angle = math.radians(ANGLES[int(torch.randint(len(ANGLES), (1,), generator=generator))]) if rotate else 0.0
    if factor != 1.0 or angle != 0.0:
        cos, sin = math.cos(angle) / factor, math.sin(angle) / factor
        theta = torch.tensor([[[cos, -sin, 0.0], [sin, cos, 0.0]]], dtype=image.dtype, device=image.device)
        grid = F.affine_grid(theta, list(image.shape), align_corners=False)
        image = F.grid_sample(image, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    image = _jitter(image, jitter // 2, generator)
    return F.interpolate(image, size=(size, size), mode="bilinear", align_corners=False)
