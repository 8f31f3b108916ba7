"""Reference inputs for path and difference methods (IG, Expected Gradients, DeepLIFT, Occlusion)."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .base import Context, Param

BASELINES = ("black", "blurred", "noise", "mean")
BASELINE = Param("baseline", "choice", "black", choices=BASELINES,
                 help="The reference image: black, a blurred copy, uniform noise, or the dataset mean (grey).")
BLUR = Param("blur", "float", 10.0, 0.5, 100.0, help="Standard deviation in pixels of the blurred baseline.")


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """A separable Gaussian blur with replicated borders (any sigma, any image size)."""
    radius = max(1, min(int(math.ceil(3 * sigma)), max(x.shape[-2:]) - 1))
    t = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    kernel = torch.exp(-0.5 * (t / sigma) ** 2)
    kernel = kernel / kernel.sum()
    c = x.shape[1]
    x = F.pad(x, (radius, radius, radius, radius), mode="replicate")
    x = F.conv2d(x, kernel.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return F.conv2d(x, kernel.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


def black(ctx: Context) -> torch.Tensor:
    return ctx.lm.preprocessing.zero_pixel().to(ctx.x.device, ctx.x.dtype).expand_as(ctx.x).clone()


def uniform_noise(ctx: Context, count: int, gen: torch.Generator) -> torch.Tensor:
    """`count` images of uniform random pixels, normalised like real inputs."""
    pre = ctx.lm.preprocessing
    pixels = torch.rand((count, *ctx.x.shape[1:]), generator=gen, device=ctx.x.device, dtype=ctx.x.dtype)
    mean = torch.tensor(pre.mean, device=ctx.x.device, dtype=ctx.x.dtype).view(1, 3, 1, 1)
    std = torch.tensor(pre.std, device=ctx.x.device, dtype=ctx.x.dtype).view(1, 3, 1, 1)
    return (pixels - mean) / std


def baseline_of(ctx: Context, kind: str, blur: float = 10.0, gen: torch.Generator | None = None) -> torch.Tensor:
    """One reference image (1 x 3 x H x W) of the given kind."""
    if kind == "black":
        return black(ctx)
    if kind == "blurred":
        return gaussian_blur(ctx.x, blur)
    if kind == "noise":
        if gen is None:
            gen = torch.Generator(device=ctx.x.device)
            gen.manual_seed(0)
        return uniform_noise(ctx, 1, gen)
    return torch.zeros_like(ctx.x)
