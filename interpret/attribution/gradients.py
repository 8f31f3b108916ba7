"""Input-gradient methods without hooks: torch.autograd.grad on fresh inputs, safe on a shared model.

Own code rather than Captum's Saliency / InputXGradient / NoiseTunnel: parameters are frozen, so a
plain autograd.grad only back-propagates to the input (never into parameters), needs no hooks, no
lock and no global random state (noise comes from a seeded private generator), and is batched.
"""
from __future__ import annotations

from collections.abc import Callable

import torch

from ..progress import report
from .base import AttributionMethod, Context, Param, register
from .requirements import AUTOGRAD

GRAD_BATCH = 8  # samples per forward + backward: bounded memory (ResNet-50 at 224 px: +0.8 GB peak), good CPU speed


def input_gradient(ctx: Context, x: torch.Tensor, model: torch.nn.Module | None = None) -> torch.Tensor:
    """d score / d input for a batch (each row its own score); no parameter ever gets a .grad."""
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        score = ctx.score((model or ctx.lm.model)(x)).sum()
        (grad,) = torch.autograd.grad(score, x)
    return grad


def batched_gradients(ctx: Context, count: int, make: Callable[[int, int], torch.Tensor],
                      consume: Callable[[torch.Tensor, torch.Tensor, int], None], batch: int = GRAD_BATCH) -> None:
    """Gradients at `count` inputs built `batch` at a time by make(start, stop); consume(inputs, grads, start)."""
    for start in range(0, count, batch):
        stop = min(count, start + batch)
        inputs = make(start, stop)
        consume(inputs, input_gradient(ctx, inputs), start)
        report(ctx.progress, stop / count)


def generator(ctx: Context, seed: int) -> torch.Generator:
    """A private random generator: results repeat for a seed and never depend on other threads."""
    gen = torch.Generator(device=ctx.x.device)
    gen.manual_seed(int(seed))
    return gen


CHANNELS = Param("channels", "choice", "sum", choices=("sum", "max-abs"),
                 help="How the three colour channels become one map: signed sum, or the largest absolute value.")


def reduce_channels(grad: torch.Tensor, channels: str) -> torch.Tensor:
    return grad.abs().amax(0) if channels == "max-abs" else grad.sum(0)


@register
class Gradient(AttributionMethod):
    name = "gradient"
    label = "Gradient (saliency)"
    description = "The gradient of the target score with respect to the input pixels (Simonyan et al. 2014)."
    params = (CHANNELS,)
    requires = (AUTOGRAD,)

    def compute(self, ctx: Context, channels: str = "sum") -> torch.Tensor:
        return reduce_channels(input_gradient(ctx, ctx.x)[0], channels)


@register
class GradientXInput(AttributionMethod):
    name = "grad_x_input"
    label = "Gradient × Input"
    description = "Input times its gradient: each pixel's first-order contribution to the score (Shrikumar et al. 2016)."
    requires = (AUTOGRAD,)

    def compute(self, ctx: Context) -> torch.Tensor:
        return (input_gradient(ctx, ctx.x) * ctx.x)[0]


SAMPLES = Param("samples", "int", 16, 1, 512, help="Noisy copies of the image averaged.")
NOISE = Param("noise", "float", 0.15, 0.0, 1.0, help="Noise standard deviation as a fraction of the input's value range.")
SEED = Param("seed", "int", 0, 0, 2**31 - 1, help="Random seed (the same seed gives the same map).")


class _NoisyGradients(AttributionMethod):
    """SmoothGrad family (Smilkov et al. 2017; Adebayo et al. 2018): statistics of gradients at noisy copies."""

    params = (SAMPLES, NOISE, SEED)
    requires = (AUTOGRAD,)

    def passes(self, samples: int = 16, **_) -> int:
        return samples

    def reduce(self, total: torch.Tensor, squares: torch.Tensor, samples: int) -> torch.Tensor:
        raise NotImplementedError

    def compute(self, ctx: Context, samples: int = 16, noise: float = 0.15, seed: int = 0) -> torch.Tensor:
        x = ctx.x
        sigma = noise * float(x.max() - x.min())
        gen = generator(ctx, seed)
        total = torch.zeros_like(x[0])
        squares = torch.zeros_like(x[0])

        def make(start: int, stop: int) -> torch.Tensor:
            return x + sigma * torch.randn((stop - start, *x.shape[1:]), generator=gen, device=x.device, dtype=x.dtype)

        def consume(inputs: torch.Tensor, grads: torch.Tensor, start: int) -> None:
            total.add_(grads.sum(0))
            squares.add_(grads.square().sum(0))

        batched_gradients(ctx, samples, make, consume)
        return self.reduce(total, squares, samples)


@register
class SmoothGrad(_NoisyGradients):
    name = "smoothgrad"
    label = "SmoothGrad"
    description = "The gradient averaged over noisy copies of the image (Smilkov et al. 2017)."

    def reduce(self, total, squares, samples):
        return total / samples


@register
class SmoothGradSquared(_NoisyGradients):
    name = "smoothgrad_sq"
    label = "SmoothGrad²"
    signed = False
    description = "The mean squared gradient over noisy copies of the image (Hooker et al. 2019)."

    def reduce(self, total, squares, samples):
        return squares / samples


@register
class VarGrad(_NoisyGradients):
    name = "vargrad"
    label = "VarGrad"
    signed = False
    description = "The variance of the gradient over noisy copies of the image (Adebayo et al. 2018)."

    def reduce(self, total, squares, samples):
        mean = total / samples
        return (squares / samples - mean.square()).clamp_min(0)
