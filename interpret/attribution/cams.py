"""Class activation maps from one layer: Grad-CAM and its relatives, Score-CAM and Eigen-CAM.

Own code rather than Captum / pytorch-grad-cam / torchcam: Captum's LayerGradCam crashed under
threads on a shared model, pytorch-grad-cam mutates the model and back-propagates into every
parameter (2.7x slower on ResNet-18, measured side by side), torchcam leaves hooks on the model.
Here the layer output is captured with `interpret.capture.capture` under the model's lock (hooks
exist only during the forward pass), and torch.autograd.grad goes from the score back to that layer
only; Eigen-CAM and Score-CAM stop the capturing pass at the layer. Formulas follow the papers and
pytorch-grad-cam 1.5.7 (tests compare the maps). Token outputs (ViT, Swin) become a grid with
`interpret.layers.layer_grid`, class and register tokens dropped.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..capture import capture_layers
from ..errors import LayerError
from ..layers import called_once, layer_grid
from ..limits import MAX_PASSES
from ..models.kinds import MODEL_KINDS
from ..progress import report
from .base import AttributionMethod, Context, Param, check_masked_pixels, check_passes, register
from .forward import recorded_forward
from .guided import guided_gradient
from .passes import shared
from .perturbation import masked_rows
from .requirements import AUTOGRAD, LAYERS, RELU_UNITS
from .scoring import scoring_model


def _grid(ctx: Context, tensor: torch.Tensor) -> torch.Tensor:
    """The layer's output (or its gradient) as 1 x K x h x w, read with the layer's own layout."""
    return layer_grid(ctx.lm, _layer(ctx), tensor, (int(ctx.x.shape[-2]), int(ctx.x.shape[-1])))


def _layer(ctx: Context) -> str:
    if ctx.layer is None:
        raise LayerError("This method needs a layer; the model has no spatial layer to default to.")
    return ctx.layer


def _captured(ctx: Context, captured: dict) -> torch.Tensor:
    if ctx.layer not in captured:
        raise LayerError(f"The layer '{ctx.layer}' did not produce a tensor in the forward pass.")
    return captured[ctx.layer]


def activations_and_gradients(ctx: Context) -> tuple[torch.Tensor, torch.Tensor]:
    """The layer's output and d score / d output, both as N x K x h x w grids (N: ctx.x's rows, each scored by
    its own target in a batch), computed once for every gradient CAM of a `passes.shared_passes()` block.

    The output is captured as a leaf: layers before it record no graph, and the backward pass
    covers only the layers after it.
    """
    return shared(ctx, "layer-gradient", (), lambda: _layer_pass(ctx))


def _layer_pass(ctx: Context) -> tuple[torch.Tensor, torch.Tensor]:
    run = recorded_forward(ctx.lm, ctx.x, layers=(_layer(ctx),))
    activation = run.layer(_layer(ctx))
    with torch.enable_grad():
        score = ctx.score(run.logits).sum()
        grad = None
        if score.requires_grad:
            (grad,) = torch.autograd.grad(score, activation, retain_graph=True, allow_unused=True)
    if grad is None:  # e.g. a detector's region proposals: cut from the path of the box scores
        raise LayerError(f"The target's score does not depend on the output of '{_layer(ctx)}' (no gradient reaches "
                         "it): choose a layer the score is computed from.")
    return _grid(ctx, activation.detach()).float(), _grid(ctx, grad).float()


def activations(ctx: Context) -> torch.Tensor:
    """The layer's output as a 1 x K x h x w grid (one inference pass up to the layer, no gradients)."""
    layer = _layer(ctx)
    if called_once(ctx.lm, layer):
        captured, _ = capture_layers(ctx.lm, ctx.x, [layer], stop=True)
    else:  # a reused module: its last output, as the gradient CAMs see it
        captured, _ = capture_layers(ctx.lm, ctx.x, [layer])
    return _grid(ctx, _captured(ctx, captured)).float().to(ctx.x.device)


class _GradCAMFamily(AttributionMethod):
    family = "cam"
    signed = False
    requires = (AUTOGRAD, LAYERS)
    kinds = MODEL_KINDS  # only ever scores the target (or, Eigen-CAM, none): every kind of model
    uses_layer = True

    def cam(self, a: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        """h x w map (before the final ReLU) from activations and gradients (1 x K x h x w)."""
        raise NotImplementedError

    batchable = True

    def compute(self, ctx: Context) -> torch.Tensor:
        a, g = activations_and_gradients(ctx)
        return self.cam(a, g).clamp_min(0)

    def compute_batch(self, ctx: Context) -> list[torch.Tensor]:
        a, g = activations_and_gradients(ctx)
        return [self.cam(a[i:i + 1], g[i:i + 1]).clamp_min(0) for i in range(len(a))]


@register
class GradCAM(_GradCAMFamily):
    name = "gradcam"
    label = "Grad-CAM"
    description = "Layer channels weighted by their mean gradient, summed, ReLU (Selvaraju et al. 2017)."

    def cam(self, a, g):
        return (g.mean((2, 3), keepdim=True) * a).sum(1)[0]


@register
class GradCAMPlusPlus(_GradCAMFamily):
    name = "gradcam_pp"
    label = "Grad-CAM++"
    description = "Channels weighted by positive gradients with pixel-wise coefficients (Chattopadhay et al. 2018, eq. 19)."

    def cam(self, a, g):
        g2 = g.square()
        g3 = g2 * g
        alpha = g2 / (2 * g2 + a.sum((2, 3), keepdim=True) * g3 + 1e-6)
        alpha = torch.where(g != 0, alpha, torch.zeros_like(alpha))
        weights = (g.clamp_min(0) * alpha).sum((2, 3), keepdim=True)
        return (weights * a).sum(1)[0]


@register
class XGradCAM(_GradCAMFamily):
    name = "xgradcam"
    label = "XGrad-CAM"
    description = "Channels weighted by gradient x activation normalised by the channel's total activation (Fu et al. 2020)."

    def cam(self, a, g):
        weights = (g * a).sum((2, 3), keepdim=True) / (a.sum((2, 3), keepdim=True) + 1e-7)
        return (weights * a).sum(1)[0]


@register
class LayerCAM(_GradCAMFamily):
    name = "layercam"
    label = "LayerCAM"
    description = "Activations weighted pixel by pixel by their positive gradients (Jiang et al. 2021)."

    def cam(self, a, g):
        return (g.clamp_min(0) * a).sum(1)[0]


@register
class HiResCAM(_GradCAMFamily):
    name = "hirescam"
    label = "HiResCAM"
    description = "Gradient times activation, element-wise, summed over channels (Draelos & Carin 2020)."

    def cam(self, a, g):
        return (g * a).sum(1)[0]


@register
class GuidedGradCAM(AttributionMethod):
    name = "guided_gradcam"
    label = "Guided Grad-CAM"
    family = "cam"
    uses_layer = True
    description = "Guided Backprop multiplied by the upsampled Grad-CAM map (Selvaraju et al. 2017)."
    requires = (AUTOGRAD, LAYERS, RELU_UNITS)

    def passes(self, **_) -> int:
        return 2

    def compute(self, ctx: Context) -> torch.Tensor:
        cam = GradCAM().compute(ctx)
        cam = F.interpolate(cam[None, None], size=ctx.x.shape[-2:], mode="bilinear", align_corners=False)[0, 0]
        return guided_gradient(ctx) * cam



def principal_projection(a: torch.Tensor) -> torch.Tensor:
    """Centred activations (h*w x K) projected on their first principal direction (thin SVD).

    The SVD's sign is arbitrary: it is chosen so that the map correlates positively with the
    channel-summed activation (strongly active regions come out positive).
    """
    k, h, w = a.shape[1:]
    rows = a[0].reshape(k, h * w).T.double()
    rows = torch.nan_to_num(rows) - torch.nan_to_num(rows).mean(0)
    _, _, vh = torch.linalg.svd(rows, full_matrices=False)
    projection = (rows @ vh[0]).reshape(h, w)
    total = a[0].sum(0).double()
    if float(((projection - projection.mean()) * (total - total.mean())).sum()) < 0:
        projection = -projection
    return projection.float()


@register
class EigenCAM(AttributionMethod):
    name = "eigencam"
    label = "Eigen-CAM"
    family = "cam"
    signed = False
    uses_layer = True
    description = "The layer's first principal component, class-independent (Muhammad & Yeasin 2020)."
    requires = (LAYERS,)
    kinds = MODEL_KINDS  # only ever scores the target (or, Eigen-CAM, none): every kind of model

    def compute(self, ctx: Context) -> torch.Tensor:
        return principal_projection(activations(ctx)).clamp_min(0)


def distinct_masks(maps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The channels (K x h x w) whose Score-CAM mask must be scored, and for each channel the row of its mask
    among them. A channel zero everywhere has the mask 0 (its upsampled map is exactly 0, and 0 / (0 + 1e-8)
    is 0): all of them share one row, scored once. Channels equal element for element share their mask too."""
    flat = maps.flatten(1)
    zero = ~flat.any(1)
    rows, inverse = torch.unique(torch.where(zero[:, None], torch.zeros_like(flat), flat), dim=0, return_inverse=True)
    return rows.view(-1, *maps.shape[1:]), inverse


@register
class ScoreCAM(AttributionMethod):
    name = "scorecam"
    masked_forwards = True
    cheaper = "fewer channels"
    label = "Score-CAM"
    family = "cam"
    signed = False
    uses_layer = True
    description = ("Each channel, upsampled and scaled to [0, 1], masks the image; the target scores of the masked "
                   "images (softmax over channels) weight the channels (Wang et al. 2020). One forward per distinct "
                   "mask: channels zero everywhere share the blank mask, scored once (the map is the same).")
    params = (Param("channels", "int", 0, 0, 100000,
                    help="Use only the channels with the largest mean activation (0 = all, as in the paper; "
                         "any other value approximates the map)."),)
    requires = (LAYERS,)

    def passes(self, channels: int = 0, **_) -> int:
        """One forward for the activations, one per channel kept (at most: channels zero everywhere share one).
        With channels=0 (all) the count is known only with the layer: 512 stands in for it here, and compute
        checks the real count before its first mask."""
        return 1 + (channels or 512)

    def compute(self, ctx: Context, channels: int = 0) -> torch.Tensor:
        a = activations(ctx)
        keep = torch.arange(a.shape[1], device=a.device)
        if channels and channels < a.shape[1]:
            keep = a[0].mean((1, 2)).topk(channels).indices
        check_passes(self.label, 1 + len(keep), f"Set channels to at most {MAX_PASSES - 1} (this layer has {a.shape[1]}).")
        check_masked_pixels(self, 1 + len(keep), (int(ctx.x.shape[-2]), int(ctx.x.shape[-1])))
        kept = a[0, keep]
        distinct, inverse = distinct_masks(kept)
        unique_scores = torch.empty(len(distinct), device=a.device)
        rows = masked_rows(ctx.x)
        model = scoring_model(ctx.lm, ctx.x)
        with torch.inference_mode():
            for start in range(0, len(distinct), rows):
                maps = distinct[start:start + rows][:, None]
                # align_corners=True as pytorch-grad-cam's UpsamplingBilinear2d, so the maps agree
                maps = F.interpolate(maps, size=ctx.x.shape[-2:], mode="bilinear", align_corners=True)
                low = maps.amin((2, 3), keepdim=True)
                high = maps.amax((2, 3), keepdim=True)
                masks = (maps - low) / (high - low + 1e-8)
                unique_scores[start:start + len(masks)] = ctx.score(model(ctx.x * masks)).float()
                report(ctx.progress, (start + len(masks)) / len(distinct))
        # every channel keeps its own term in the softmax (the shared blank mask's score counts once per channel)
        weights = unique_scores[inverse].softmax(0)
        blank = int((~kept.flatten(1).any(1)).sum())
        ctx.note = (f"all {len(keep)} channels" if len(keep) == a.shape[1]
                    else f"top {len(keep)} of {a.shape[1]} channels by mean activation (an approximation)")
        ctx.note += f", {len(distinct)} masked forwards ({blank} zero everywhere share one blank mask, exact)"
        return (weights[:, None, None] * kept).sum(0).clamp_min(0)
