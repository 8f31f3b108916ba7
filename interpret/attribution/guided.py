"""Guided Backprop and Deconvolution: ReLUs that back-propagate only positive signals.

Own code rather than Captum's GuidedBackprop / Deconvolution: those register backward hooks on the
model's ReLU modules, which every other session's pass through the shared model would see. Here a
shared variant of the model (interpret.models.private, built once per model) has its ReLUs replaced
by modules with a custom backward, so the pass needs no hooks and no lock, and results never depend
on what other threads do.
"""
from __future__ import annotations

import torch
from torch import nn

from ..models.private import shared_variant
from .base import AttributionMethod, Context, register
from .gradients import input_gradient
from .rewrite import replace_modules

RELUS = (nn.ReLU, nn.ReLU6)


class _GuidedReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, upper, deconv):
        ctx.save_for_backward(x)
        ctx.upper, ctx.deconv = upper, deconv
        return x.clamp(0, upper) if upper is not None else x.clamp_min(0)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        positive = grad.clamp_min(0)
        if ctx.deconv:  # Deconvolution: the ReLU of the gradient, ignoring the forward mask
            return positive, None, None
        inside = x > 0 if ctx.upper is None else (x > 0) & (x < ctx.upper)
        return positive * inside, None, None


class ModifiedReLU(nn.Module):
    """A ReLU (or ReLU6) whose backward is Guided Backprop's or Deconvolution's rule."""

    def __init__(self, upper: float | None, deconv: bool):
        super().__init__()
        self.upper, self.deconv = upper, deconv

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _GuidedReLU.apply(x, self.upper, self.deconv)


def modified_copy(ctx: Context, deconv: bool) -> nn.Module:
    def transform(model: nn.Module) -> nn.Module:
        return replace_modules(model, lambda m: type(m) in RELUS,
                               lambda m: ModifiedReLU(6.0 if isinstance(m, nn.ReLU6) else None, deconv))

    return shared_variant(ctx.lm, "deconvolution" if deconv else "guided_backprop", transform).model


def guided_gradient(ctx: Context, deconv: bool = False) -> torch.Tensor:
    """3 x H x W guided (or deconvolution) gradient of the target score."""
    return input_gradient(ctx, ctx.x, modified_copy(ctx, deconv))[0]


@register
class GuidedBackprop(AttributionMethod):
    name = "guided_backprop"
    label = "Guided Backprop"
    description = "The gradient with only positive signals passed back through positive ReLU inputs (Springenberg et al. 2015)."

    def compute(self, ctx: Context) -> torch.Tensor:
        return guided_gradient(ctx)


@register
class Deconvolution(AttributionMethod):
    name = "deconvolution"
    label = "Deconvolution"
    description = "Back-propagation where each ReLU passes on only the positive part of the signal (Zeiler & Fergus 2014)."

    def compute(self, ctx: Context) -> torch.Tensor:
        return guided_gradient(ctx, deconv=True)
