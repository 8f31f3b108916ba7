"""Two gradient CAMs built on the others: Finer-CAM (another score) and LayerCAM's fusion of several layers.

Finer-CAM (Zhang et al. 2025) explains the target against the classes the model finds most alike: the score is the
target's logit minus `alpha` times each of the `classes` classes whose logits are closest to it, weighted by their
probabilities, as pytorch-grad-cam's `FinerCAM` (the authors' implementation) computes it; the CAM of the base method
(Grad-CAM by default) is taken with that score. It is a target (`FinerTarget`), so the one layer-gradient pass of the
gradient CAMs (cams.activations_and_gradients) computes it, batches included.

LayerCAM's fusion (Jiang et al. 2021, eq. 9; torchcam's `fuse_cams`) combines the LayerCAM of the chosen layer with
those of the ends of the earlier, finer stages: each normalised to [0, 1], scaled by tanh(gamma x), upsampled to the
finest grid, and their maximum taken. Every layer's gradient comes from one forward and one backward pass; each
layer's result is the same "layer-gradient" pass a single-layer CAM uses, so inside a `passes.shared_passes()` block
a Grad-CAM or LayerCAM of one of those layers reuses it, and the other way round. A separate method rather than a
LayerCAM parameter: it needs maps at several resolutions (ViTs have one, and are refused with that reason), and its
values are per-layer normalised, not LayerCAM's.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import partial

import torch
import torch.nn.functional as F

from ..capture import capture
from ..errors import LayerError
from ..heads import probabilities
from ..layers import layer_grid, layer_info, stage_ends
from ..models import LoadedModel
from .base import REGISTRY, AttributionMethod, Context, Param, register
from .cams import activations_and_gradients
from .passes import shared
from .requirements import AUTOGRAD, LAYERS, Requirement
from .target import Target

BASES = ("gradcam", "gradcam_pp", "layercam")
LOOK_ALIKES = Requirement("classes", "two or more classes, to compare the target with",
                          lambda lm: None if lm.num_classes >= 2 else "it compares the target with other classes, and "
                          "this model has one output")


@dataclass(frozen=True)
class FinerTarget(Target):
    """Finer-CAM's score: sum_i p_i (y_c - alpha y_i) / (sum_i p_i + 1e-9) over the comparison classes i (the
    `classes` other classes whose logits are closest to y_c, or the contrast class where one is given), p_i their
    probabilities (pytorch-grad-cam's FinerWeightedTarget; its weights are a softmax whatever the head, here the
    model's own activation, the same for a softmax head)."""

    classes: int = 3
    alpha: float = 1.0
    # the comparison classes each score() call picked (first row), for the map's caption; not part of the target
    seen: list = field(default_factory=list, compare=False, repr=False)

    def comparisons(self, logits: torch.Tensor) -> torch.Tensor:
        """N x k comparison classes per row of logits."""
        if self.contrast is not None:
            return torch.full((len(logits), 1), self.contrast, dtype=torch.long, device=logits.device)
        distance = (logits - logits[:, self.index:self.index + 1]).detach().abs()
        distance[:, self.index] = float("inf")
        return distance.topk(min(self.classes, logits.shape[1] - 1), dim=1, largest=False).indices

    def score(self, logits: torch.Tensor) -> torch.Tensor:
        logits = logits.float()
        others = self.comparisons(logits)
        self.seen.append(tuple(int(i) for i in others[0]))
        weights = probabilities(logits, self.activation).gather(1, others)
        gaps = logits[:, self.index:self.index + 1] - self.alpha * logits.gather(1, others)
        return (weights * gaps).sum(1) / (weights.sum(1) + 1e-9)


@register
class FinerCAM(AttributionMethod):
    name = "finer_cam"
    label = "Finer-CAM"
    family = "cam"
    signed = False
    uses_layer = True
    batchable = True
    description = ("The base CAM of the target's score minus the scores of the classes the model finds most alike "
                   "(the closest logits), weighted by their probabilities: what sets the class apart from its "
                   "look-alikes (Zhang et al. 2025).")
    params = (
        Param("classes", "int", 3, 1, 100, help="Look-alike classes compared with (the closest logits to the "
              "target's); with a contrast class, that class alone."),
        Param("alpha", "float", 1.0, 0.0, 10.0, help="Weight of the look-alikes' scores (0: the base CAM alone)."),
        Param("base", "choice", "gradcam", choices=BASES, help="The CAM computed with the contrastive score."),
    )
    requires = (AUTOGRAD, LAYERS, LOOK_ALIKES)
    objectives = ("logit",)

    def compute(self, ctx: Context, classes: int = 3, alpha: float = 1.0, base: str = "gradcam") -> torch.Tensor:
        return self.compute_batch(ctx, classes, alpha, base)[0]

    def compute_batch(self, ctx: Context, classes: int = 3, alpha: float = 1.0, base: str = "gradcam"
                      ) -> list[torch.Tensor]:
        target = _finer(ctx.target, classes, alpha)
        rows = None if ctx.row_targets is None else tuple(_finer(t, classes, alpha) for t in ctx.row_targets)
        a, g = activations_and_gradients(replace(ctx, target=target, row_targets=rows))
        ctx.note = _compared(ctx.lm, target, classes)
        cam = REGISTRY[base].cam  # type: ignore[attr-defined]
        return [cam(a[i:i + 1], g[i:i + 1]).clamp_min(0) for i in range(len(a))]


def _finer(target: Target, classes: int, alpha: float) -> FinerTarget:
    return FinerTarget(target.index, target.objective, target.contrast, target.activation, classes, alpha)


def _compared(lm: LoadedModel, target: FinerTarget, classes: int) -> str:
    """What the map was compared with, for its caption."""
    if target.contrast is not None:
        return f"compared with '{lm.label(target.contrast)}' (the contrast class)"
    if not target.seen:  # the pass came from a shared_passes() block
        return f"compared with the {classes} classes whose scores are closest to the target's"
    return "compared with " + ", ".join(f"'{lm.label(i)}'" for i in target.seen[0])


# ---------------------------------------------------------------- LayerCAM's fusion of several layers


def _stages_check(lm: LoadedModel) -> str | None:
    grids = {info.grid for info in stage_ends(lm)}
    if len(grids) >= 2:
        return None
    if not grids:
        return "it has no spatial layers that hooks can capture"
    grid = next(iter(grids))
    shown = f" ({grid[0]} x {grid[1]})" if grid is not None else ""
    return (f"its maps all have one resolution{shown}, and the fusion combines the chosen layer's CAM with the finer "
            "maps of earlier stages")


STAGES = Requirement("stages", "spatial layers at two or more resolutions (the stages of a CNN)", _stages_check)


def fused_layers(lm: LoadedModel, layer: str, stages: int) -> list[str]:
    """The chosen layer and the ends of the `stages - 1` stages before it whose maps are finer, finest first."""
    chosen = layer_info(lm, layer)
    if chosen.grid is None:
        raise LayerError(f"The layer '{layer}' has no spatial output to fuse.")
    finer = [info for info in stage_ends(lm) if info.order < chosen.order and info.grid is not None
             and info.grid[0] * info.grid[1] > chosen.grid[0] * chosen.grid[1]]
    if not finer:
        raise LayerError(f"No earlier stage has a finer map than '{layer}' ({chosen.grid[0]} x {chosen.grid[1]}): "
                         "choose a later layer to fuse with the stages before it.")
    return [info.name for info in finer[-(stages - 1):]] + [layer]


def layer_gradients(ctx: Context, layers: list[str]) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Each layer's output and d score / d output as N x K x h x w grids, all from one forward and one backward
    pass; each is the "layer-gradient" pass of ctx at that layer, shared as such (cams.activations_and_gradients)."""
    found: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}

    def one(name: str) -> tuple[torch.Tensor, torch.Tensor]:
        if not found:
            found.update(_layers_pass(ctx, layers))
        return found[name]

    return [shared(replace(ctx, layer=name), "layer-gradient", (), partial(one, name)) for name in layers]


def _layers_pass(ctx: Context, layers: list[str]) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """The first layer is captured as a leaf (the layers before it record no graph), the others in its graph."""
    first = min(layers, key=lambda name: layer_info(ctx.lm, name).order)
    rest = [name for name in layers if name != first]
    with ctx.lm.lock, torch.enable_grad(), capture(ctx.lm.model, [first], keep="leaf") as early, \
            capture(ctx.lm.model, rest, keep="graph") as late:
        logits = ctx.lm.model(ctx.x.detach())
    captured = {**early, **late}
    missing = [name for name in layers if name not in captured]
    if missing:
        raise LayerError(f"The layer '{missing[0]}' did not produce a tensor in the forward pass.")
    with torch.enable_grad():
        grads = torch.autograd.grad(ctx.score(logits).sum(), [captured[name] for name in layers])
    size = (int(ctx.x.shape[-2]), int(ctx.x.shape[-1]))
    return {name: (layer_grid(ctx.lm, name, captured[name].detach(), size).float(),
                   layer_grid(ctx.lm, name, grad, size).float()) for name, grad in zip(layers, grads, strict=True)}


def normalised(cam: torch.Tensor) -> torch.Tensor:
    """A map shifted to minimum 0 and divided by its maximum (+ 1e-8), as torchcam normalises a CAM."""
    cam = cam - cam.amin((-2, -1), keepdim=True)
    return cam / (cam.amax((-2, -1), keepdim=True) + 1e-8)


def fuse(cams: list[torch.Tensor], gamma: float) -> torch.Tensor:
    """LayerCAM's fusion of N x h_i x w_i maps: tanh(gamma x normalised map), upsampled to the largest grid, maximum."""
    shape = (max(c.shape[-2] for c in cams), max(c.shape[-1] for c in cams))
    scaled = [F.interpolate(torch.tanh(gamma * normalised(c))[:, None], size=shape, mode="bilinear",
                            align_corners=False)[:, 0] for c in cams]
    return torch.stack(scaled).amax(0)


@register
class LayerCAMFusion(AttributionMethod):
    name = "layercam_fusion"
    label = "LayerCAM fused over stages"
    family = "cam"
    signed = False
    uses_layer = True
    batchable = True
    description = ("LayerCAM of the chosen layer and of the ends of the earlier, finer stages, each normalised and "
                   "scaled by tanh, combined by their maximum on the finest grid (Jiang et al. 2021): the coarse "
                   "layer's localisation with the finer layers' detail.")
    params = (
        Param("stages", "int", 3, 2, 8, help="Layers fused: the chosen one and the ends of the stages before it "
              "with finer maps (fewer where the model has fewer)."),
        Param("gamma", "float", 2.0, 0.1, 20.0, help="Scale inside tanh before the maximum (LayerCAM's and torchcam's 2)."),
    )
    requires = (AUTOGRAD, LAYERS, STAGES)

    def compute(self, ctx: Context, stages: int = 3, gamma: float = 2.0) -> torch.Tensor:
        return self.compute_batch(ctx, stages, gamma)[0]

    def compute_batch(self, ctx: Context, stages: int = 3, gamma: float = 2.0) -> list[torch.Tensor]:
        if ctx.layer is None:
            raise LayerError("This method needs a layer; the model has no spatial layer to default to.")
        layers = fused_layers(ctx.lm, ctx.layer, stages)
        cams = [(g.clamp_min(0) * a).sum(1).clamp_min(0) for a, g in layer_gradients(ctx, layers)]
        ctx.note = "fused " + ", ".join(f"{name} ({c.shape[-2]}x{c.shape[-1]})" for name, c in zip(layers, cams,
                                                                                                    strict=True))
        return list(fuse(cams, gamma))
