"""Guided Backprop and Deconvolution: ReLUs that back-propagate only positive signals.

The rule is applied to the ReLU-type units the model really calls, wherever they come from: nn.ReLU and
nn.ReLU6 modules, functional F.relu / torch.relu / Tensor.relu, and the aten relu/hardtanh ops of a
torch.export graph. A thread-local `TorchFunctionMode` active only during this method's forward pass swaps
each such call for a function with the modified backward; the forward values are unchanged. No hooks,
no lock, no copy of the model: other sessions' passes through the shared model never see the mode, and
results never depend on what other threads do.

Rules (Springenberg et al. 2015, Zeiler & Fergus 2014), per unit with input x and incoming signal R:
Guided Backprop passes R.clamp(min=0) where the unit's own gradient is 1 (x > 0; for ReLU6 and
hardtanh(0, u), 0 < x < u); Deconvolution passes R.clamp(min=0) whatever x is. For ReLU this is exactly
Captum's GuidedBackprop / Deconvolution. No such rule is established for SiLU, GELU, sigmoid gates and
the like, so a model that calls them is refused (requirements.RELU_UNITS) rather than given a map that is
part plain gradient; so is a TorchScript model, whose calls run where the mode cannot see them. In-place
forms (relu_) are computed out of place: the checked requirement runs the model with and without the mode
and refuses it if the outputs differ.
"""
from __future__ import annotations

import weakref

import torch
from torch.overrides import TorchFunctionMode

from ..models import LoadedModel
from .activations import CLIPPED_NAMES, RELU_NAMES, clipped_relu_bounds, op_name, probe_input
from .base import AttributionMethod, Context, register
from .gradients import input_gradient
from .requirements import AUTOGRAD, RELU_UNITS, MethodUnavailable


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
        if ctx.deconv:  # Deconvolution: the ReLU of the signal, ignoring the forward mask
            return positive, None, None
        inside = x > 0 if ctx.upper is None else (x > 0) & (x < ctx.upper)
        return positive * inside, None, None


class ModifiedReLUs(TorchFunctionMode):
    """While active (in this thread only), every ReLU-type call back-propagates by the guided or deconv rule."""

    def __init__(self, deconv: bool):
        super().__init__()
        self.deconv = deconv
        self.applied = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = op_name(func)
        if name in RELU_NAMES and name not in ("relu6", "relu6_") and args and isinstance(args[0], torch.Tensor):
            self.applied += 1
            return _GuidedReLU.apply(args[0], None, self.deconv)
        if (name in CLIPPED_NAMES or name in ("relu6", "relu6_")) and args and isinstance(args[0], torch.Tensor):
            bounds = clipped_relu_bounds(name, args, kwargs)
            if bounds is not None:
                self.applied += 1
                return _GuidedReLU.apply(args[0], bounds[1], self.deconv)
        return func(*args, **kwargs)


_UNCHANGED: weakref.WeakKeyDictionary[LoadedModel, bool] = weakref.WeakKeyDictionary()


def forward_is_unchanged(lm: LoadedModel) -> bool:
    """Whether the model's outputs are the same with the modified ReLUs (only the backward may change)."""
    if lm not in _UNCHANGED:
        x = probe_input(lm)
        with torch.inference_mode():
            plain = lm.model(x)
            with ModifiedReLUs(deconv=False):
                modified = lm.model(x)
        _UNCHANGED[lm] = bool(torch.equal(plain, modified))
    return _UNCHANGED[lm]


def guided_gradient(ctx: Context, deconv: bool = False) -> torch.Tensor:
    """3 x H x W guided (or deconvolution) gradient of the target score."""
    with ModifiedReLUs(deconv) as mode:
        grad = input_gradient(ctx, ctx.x)[0]
    if not mode.applied:  # the census said otherwise: never a plain gradient under this name
        raise MethodUnavailable(f"{'Deconvolution' if deconv else 'Guided Backprop'}: no ReLU-type unit was "
                                "modified in this pass, so the map would be the plain gradient.")
    return grad


@register
class GuidedBackprop(AttributionMethod):
    name = "guided_backprop"
    label = "Guided Backprop"
    description = ("The gradient with only positive signals passed back through positive ReLU inputs (Springenberg et al. "
                   "2015). ReLU-type networks only.")
    requires = (AUTOGRAD, RELU_UNITS)

    def compute(self, ctx: Context) -> torch.Tensor:
        return guided_gradient(ctx)


@register
class Deconvolution(AttributionMethod):
    name = "deconvolution"
    label = "Deconvolution"
    description = ("Back-propagation where each ReLU passes on only the positive part of the signal (Zeiler & Fergus "
                   "2014). ReLU-type networks only.")
    requires = (AUTOGRAD, RELU_UNITS)

    def compute(self, ctx: Context) -> torch.Tensor:
        return guided_gradient(ctx, deconv=True)
