"""Many maps of one image in one request: the methods grouped by the passes they share, each pass once.

`attribute_many(lm, x, methods, target)` plans the request (`plan`): methods that need the same pass
(the gradient-CAM family at one layer: one forward and one backward to the layer; Gradient and
Gradient x Input: one backward to the input; the SmoothGrad family with the same samples, noise and
seed: one set of noisy gradients) form a group, computed together inside one `passes.shared_passes()`
block, so each shared pass runs once; the others run alone. Every map is the one `attribute()` gives
alone (the same passes, the same arithmetic). The logits of the prediction can be shared too
(`shared_logits`). Progress is split over the groups by their cost.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from ..models import LoadedModel
from ..progress import Progress, report, scaled
from .base import Attribution, Context, attribute, get_method, prepare
from .passes import shared, shared_passes
from .target import Target

# method name -> the pass it shares with others, by family (settings of the pass are added by `pass_key`)
SHARED_PASS = {
    "gradcam": "layer-gradient", "gradcam_pp": "layer-gradient", "xgradcam": "layer-gradient",
    "layercam": "layer-gradient", "hirescam": "layer-gradient", "guided_gradcam": "layer-gradient",
    "layercam_fusion": "layer-gradient",  # its chosen layer's pass is one of the layer passes it computes at once
    "gradient": "input-gradient", "grad_x_input": "input-gradient",
    "smoothgrad": "noisy-gradients", "smoothgrad_sq": "noisy-gradients", "vargrad": "noisy-gradients",
}
# methods whose pass also computes their group's shared pass, but not the other way round: run first in the group
COMPUTES_FIRST = {"layercam_fusion"}


def pass_key(method: str, params: dict[str, Any], layer: str | None) -> tuple | None:
    """What a method's main pass depends on (None: it shares nothing with the others)."""
    kind = SHARED_PASS.get(method)
    if kind is None:
        return None
    impl = get_method(method)
    resolved = impl.resolve_params(params)
    if kind == "layer-gradient":
        return (kind, layer)
    if kind == "noisy-gradients":
        return (kind, resolved["samples"], resolved["noise"], resolved["seed"])
    return (kind,)


@dataclass
class Group:
    """Methods computed from the same pass (`key` None: one method on its own) and what they cost together."""

    key: tuple | None
    methods: list[str] = field(default_factory=list)
    passes: int = 0


def plan(methods: Sequence[str], params: dict[str, dict[str, Any]] | None = None, layer: str | None = None,
         size: tuple[int, int] = (224, 224)) -> list[Group]:
    """The requested methods grouped by shared pass, in the order each group is first asked for.

    A group's cost is its most expensive member's passes (the shared pass is paid once; Guided Grad-CAM
    adds its guided backward to the layer pass); a method that shares nothing is its own group."""
    params = params or {}
    groups: list[Group] = []
    by_key: dict[tuple, Group] = {}
    for method in dict.fromkeys(methods):
        impl = get_method(method)
        given = params.get(method, {})
        cost = impl.passes(size=size, **impl.resolve_params(given))
        key = pass_key(method, given, layer)
        if key is None:
            groups.append(Group(None, [method], cost))
            continue
        if key not in by_key:
            by_key[key] = Group(key)
            groups.append(by_key[key])
        group = by_key[key]
        group.methods.insert(0 if method in COMPUTES_FIRST else len(group.methods), method)
        group.passes = max(group.passes, cost)
    return groups


def attribute_many(
    lm: LoadedModel,
    x: torch.Tensor,
    methods: Sequence[str],
    target: int | Target,
    layer: str | None = None,
    params: dict[str, dict[str, Any]] | None = None,
    progress: Progress | None = None,
) -> dict[str, Attribution]:
    """The maps of several methods for one image (1 x 3 x H x W), target and layer, each shared pass once.

    `params` maps a method name to its parameters. Returns {method: Attribution}, in the request's order;
    each Attribution is the one `attribute()` returns for that method alone (its `seconds`: its own share).
    Errors (an unknown method, bad parameters, a method the model cannot run) are raised before any work.
    """
    params = params or {}
    size = (int(x.shape[-2]), int(x.shape[-1]))
    for method in dict.fromkeys(methods):  # every refusal before the first pass
        prepare(lm, size, method, target, layer, params.get(method))
    groups = plan(methods, params, layer, size)
    total = sum(max(1, g.passes) for g in groups)
    done = 0
    results: dict[str, Attribution] = {}
    with shared_passes():
        for group in groups:
            share = max(1, group.passes)
            step = scaled(progress, done / total, (done + share) / total)
            for i, method in enumerate(group.methods):  # the first pays for the shared pass and reports it
                results[method] = attribute(lm, x, method, target, layer=layer, params=params.get(method),
                                            progress=None if i else step)
            report(step, 1.0)
            done += share
    report(progress, 1.0)
    return {method: results[method] for method in dict.fromkeys(methods)}


def shared_logits(lm: LoadedModel, x: torch.Tensor) -> torch.Tensor:
    """The model's logits for x (1 x classes): one inference forward per image in a `shared_passes()` block,
    so the prediction shown next to the maps costs nothing more there."""
    ctx = Context(lm=lm, x=lm.input_tensor(x[:1]), target=Target(0, activation=lm.activation))

    def forward() -> torch.Tensor:
        with torch.inference_mode():
            return lm.model(ctx.x).float()

    return shared(ctx, "logits", (), forward)
