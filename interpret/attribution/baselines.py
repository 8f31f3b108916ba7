"""Reference inputs for path and difference methods (IG, Expected Gradients, DeepLIFT, Occlusion)."""
from __future__ import annotations

import torch

from ..spatial import gaussian_blur
from .base import Context, Param

BASELINES = ("black", "blurred", "noise", "mean")
BASELINE = Param("baseline", "choice", "black", choices=BASELINES,
                 help="The reference image: black, a blurred copy, uniform noise, or the dataset mean (grey).")
BLUR = Param("blur", "float", 10.0, 0.5, 100.0, help="Standard deviation in pixels of the blurred baseline.")


def black(ctx: Context) -> torch.Tensor:
    return ctx.lm.preprocessing.zero_pixel(ctx.x.device, ctx.x.dtype).expand_as(ctx.x).clone()


def uniform_noise(ctx: Context, count: int, gen: torch.Generator) -> torch.Tensor:
    """`count` images of uniform random pixels, normalised like real inputs."""
    pixels = torch.rand((count, *ctx.x.shape[1:]), generator=gen, device=ctx.x.device, dtype=ctx.x.dtype)
    return ctx.lm.preprocessing.standardise(pixels)


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
