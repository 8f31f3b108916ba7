"""Input gradients without hooks: torch.autograd.grad on a fresh input, safe on a shared model."""
from __future__ import annotations

import torch

from .base import AttributionMethod, Context, Param, register


def input_gradient(ctx: Context, x: torch.Tensor) -> torch.Tensor:
    """d score / d input for a batch (each row its own score); no parameter ever gets a .grad."""
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        score = ctx.score(ctx.lm.model(x)).sum()
        (grad,) = torch.autograd.grad(score, x)
    return grad


@register
class Gradient(AttributionMethod):
    name = "gradient"
    label = "Gradient (saliency)"
    description = "The gradient of the target score with respect to the input pixels (Simonyan et al. 2014)."
    params = (
        Param("channels", "choice", "sum", choices=("sum", "max-abs"),
              help="How the three colour channels become one map: signed sum, or the largest absolute value."),
    )

    def compute(self, ctx: Context, channels: str = "sum") -> torch.Tensor:
        grad = input_gradient(ctx, ctx.x)[0]
        return grad.abs().amax(0) if channels == "max-abs" else grad.sum(0)
