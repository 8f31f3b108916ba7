"""Layer-wise relevance propagation (LRP) through zennit's composites and canonizers.

zennit (LGPL-3.0-or-later) is a dependency, called as its documentation shows: nothing of it is copied here. Its
composites attach a rule to each layer by type (EpsilonPlusFlat: the flat rule on the first layer, z+ on the other
convolutions, epsilon on linear layers; EpsilonGammaBox: the z-box rule bounded by the pixel range on the first
convolution, gamma on the others, epsilon on linear layers; both: relevance passed through activations, split by the
inputs' share at sums and average pooling). Its canonizers first bring the model into the form the rules assume: each
batch norm merged into the convolution or linear layer before it (SequentialMergeBatchNorm), and a torchvision
ResNet block's residual addition turned into a layer the sum rule is attached to (ResNetCanonizer).

Both change the model (merged weights, replaced block forwards, hooks), so they run on a shared variant of it
(interpret.models.private, built once per model, canonizers applied once) under the variant's own lock; the shared
model is only read. The relevance starts at the output as the target's score (the score's gradient with respect to
the logits times the logits: one logit, or two for a contrast), and the map's sum is checked against it: the gap goes
into the Attribution (`summation_gap`, `note`) as DeepLIFT's does. Relevance is conserved layer by layer where the
model has no biases (up to the rules' stabilisers, SUMMATION_TOLERANCE); biases keep their share, so on most models the
gap is part of the answer, and it is stated, not flagged.

The rules hold for a model built only of what they cover: convolutions, linear layers, ReLU-type activations,
pooling, batch norms the canonizer can merge, and additions a canonizer turns into sum layers. Every other model is
refused with the reason (LRP_RULES): other activations (SiLU in EfficientNet, GELU), attention and layer norms,
layers of other types, and arithmetic between layers that no rule sees (an unrewritten residual addition would
hand its whole relevance to both branches). The check runs the canonized copy once and compares what it computes with
what its rule-bearing layers compute, and its outputs with the model's. Only the class score can be explained: a
probability or a loss is a softmax of every score, which the rules do not propagate.
"""
from __future__ import annotations

import weakref
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from typing import ClassVar

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from ..capture import capture
from ..models import LoadedModel
from ..models.private import private_copy, shared_variant
from ..progress import report
from .activations import census, is_torchscript, op_name, probe_input
from .base import AttributionMethod, Context, Param, register
from .deeplift import SUMMATION_TOLERANCE
from .requirements import AUTOGRAD, TORCHSCRIPT_HINT, Requirement

STABILIZER = 1e-6  # zennit's default for the rules other than epsilon
# relative difference of the canonized copy's outputs from the model's above which the canonizer is taken to have
# misread the model: zennit's merged batch norm still divides by sqrt(1 + eps), 5e-6 per layer (ResNet-50: 53 layers)
CANONIZED_TOLERANCE = 1e-3
# torch functions each of which a layer with a rule must compute: their calls must equal those layers' calls
RULED_OPS = {
    "conv": frozenset({"conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d"}),
    "linear": frozenset({"linear"}),
    "batch_norm": frozenset({"batch_norm"}),
    "avg_pool": frozenset({"avg_pool1d", "avg_pool2d", "avg_pool3d", "adaptive_avg_pool1d", "adaptive_avg_pool2d",
                           "adaptive_avg_pool3d"}),
    "sum": frozenset({"sum"}),
    "stack": frozenset({"stack"}),
}
# functions that only route values (their gradient carries relevance unchanged) or are rule-free units (a ReLU's
# gradient equals the pass rule wherever relevance is not zero; max pooling's routes it to the winner)
ROUTING_OPS = frozenset({
    "relu", "relu_", "relu6", "hardtanh", "hardtanh_", "max_pool1d", "max_pool2d", "max_pool3d",
    "max_pool2d_with_indices", "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d", "dropout",
    "dropout1d", "dropout2d", "dropout3d", "flatten", "view", "reshape", "cat", "concat", "contiguous", "squeeze",
    "unsqueeze", "dim", "size", "__get__", "__getitem__", "identity", "clone",
})
PASSIVE = (nn.ReLU, nn.ReLU6, nn.Hardtanh, nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d, nn.AdaptiveMaxPool1d,
           nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d, nn.Flatten, nn.Dropout, nn.Dropout1d, nn.Dropout2d,
           nn.Dropout3d, nn.Identity)


def _ruled_types() -> dict[str, tuple[type, ...]]:
    """The layer types zennit's composites attach a rule to, by the op family each computes."""
    from zennit.layer import Sum
    from zennit.types import AvgPool, BatchNorm, Convolution

    return {"conv": (Convolution,), "linear": (nn.Linear,), "batch_norm": (BatchNorm,), "avg_pool": (AvgPool,),
            "sum": (Sum,)}


def canonizers_for(model: nn.Module) -> list:
    """zennit's canonizers for this model: ResNetCanonizer for torchvision ResNet blocks (their batch norms merged, their
    residual additions made sum layers), else SequentialMergeBatchNorm (each batch norm merged into the layer before)."""
    from torchvision.models.resnet import BasicBlock, Bottleneck
    from zennit.canonizers import SequentialMergeBatchNorm
    from zennit.torchvision import ResNetCanonizer

    if any(isinstance(m, (BasicBlock, Bottleneck)) for m in model.modules()):
        return [ResNetCanonizer()]
    return [SequentialMergeBatchNorm()]


# the batch norms each canonized module had merged (by module identity), weakly keyed by the canonized module
_MERGED: weakref.WeakKeyDictionary[nn.Module, frozenset[int]] = weakref.WeakKeyDictionary()


def canonize(model: nn.Module) -> nn.Module:
    """Apply the model's canonizers for good (on a copy only: they change weights and block forwards)."""
    merged = set()
    for canonizer in canonizers_for(model):
        for applied in canonizer.apply(model):
            norm = getattr(applied, "batch_norm", None)
            if norm is not None:
                merged.add(id(norm))
    _MERGED[model] = frozenset(merged)
    return model


def canonical(lm: LoadedModel) -> LoadedModel:
    """The model with zennit's canonizers applied, built once per model, with its own lock."""
    return shared_variant(lm, "lrp", canonize)


# ---- what the rules need from a model ----------------------------------------------------------------------------


def _layer_types(model: nn.Module) -> str | None:
    """Why a layer has no rule here: a layer of another type, or weights outside convolutions, linear layers and batch
    norms (None: every layer is covered)."""
    ruled = tuple(t for types in _ruled_types().values() for t in types)
    for name, module in model.named_modules():
        own = next(module.parameters(recurse=False), None) is not None
        leaf = next(module.children(), None) is None
        if isinstance(module, ruled) or (not own and not leaf):
            continue
        if isinstance(module, nn.Hardtanh) and float(module.min_val) != 0.0:
            return f"its layer '{name}' is a Hardtanh with a lower bound other than 0, which no rule here covers"
        if not own and isinstance(module, PASSIVE):
            continue
        kind = "holds weights of a " if own else "is a "
        return f"its layer '{name}' {kind}{type(module).__name__}, which no rule of these composites covers"
    return None


def _unmerged(model: nn.Module) -> str | None:
    """Why a batch norm stays in the canonized copy (the rules would skip its scale and shift)."""
    from zennit.types import BatchNorm

    merged = _MERGED.get(model, frozenset())
    for name, module in model.named_modules():
        if isinstance(module, BatchNorm) and id(module) not in merged:
            return (f"its batch norm '{name}' does not directly follow a convolution or linear layer, so zennit's "
                    "canonizer cannot merge it into one")
    return None


class _Calls(TorchFunctionMode):
    """Counts the torch functions a forward pass calls (thread-local, no hooks)."""

    def __init__(self) -> None:
        super().__init__()
        self.counts: Counter[str] = Counter()

    def __torch_function__(self, func, types, args=(), kwargs=None):
        self.counts[op_name(func)] += 1
        return func(*args, **(kwargs or {}))


def _ruled_layers(model: nn.Module) -> dict[str, str]:
    """Layer name -> the op family of its rule, for every layer a composite attaches a rule to."""
    found = {}
    for name, module in model.named_modules():
        for family, types in _ruled_types().items():
            if name and isinstance(module, types):
                found[name] = family
                break
    return found


def _uncovered(counts: Counter[str], ruled: dict[str, str], calls: dict[str, int]) -> str | None:
    """Why a function the forward pass called is not covered by a rule: arithmetic between the layers, or a function
    the rule-bearing layers compute called outside them."""
    known = ROUTING_OPS.union(*RULED_OPS.values())
    others = sorted(((op, n) for op, n in counts.items() if op not in known), key=lambda item: (-item[1], item[0]))
    if others:
        shown = ", ".join(f"{op} ({_times(n)})" for op, n in others[:4])
        return (f"it also computes {shown} between its layers, which no rule covers (an addition that no zennit "
                "canonizer rewrites would give its whole relevance to both branches)")
    layer_calls: Counter[str] = Counter()
    for name, family in ruled.items():
        layer_calls[family] += calls.get(name, 0)
    layer_calls["stack"] = layer_calls["sum"]  # a canonized block stacks its two branches for its sum layer
    for family, ops in RULED_OPS.items():
        called = sum(counts[op] for op in ops)
        if called != layer_calls[family]:
            ops_text = "/".join(sorted(op for op in ops if counts[op]))
            return (f"it calls {ops_text} {_times(called)} but its {family.replace('_', ' ')} layers run "
                    f"{_times(layer_calls[family])}: the rest is functional code outside any layer a rule is attached to")
    return None


def _times(count: int) -> str:
    return {0: "no times", 1: "once", 2: "twice"}.get(count, f"{count} times")


def _first_layer(model: nn.Module, order: list[str], ruled: dict[str, str]) -> str | None:
    """Why the composites' first-layer rule would land elsewhere: they give it to the first convolution or linear
    layer in registration order, which must be the first one the input reaches."""
    linear = [name for name, family in ruled.items() if family in ("conv", "linear")]
    ran = [name for name in order if name in linear]
    if linear and ran and ran[0] != linear[0]:
        return (f"the input reaches '{ran[0]}' first, but its first registered layer is '{linear[0]}', where the "
                "composites put their input rule")
    return None


def _forward_check(lm: LoadedModel, copy: LoadedModel) -> str | None:
    """Run the canonized copy once: its computations covered by rules, its input rule where the input arrives, and its
    outputs the model's."""
    model = copy.model
    ruled = _ruled_layers(model)
    x = probe_input(lm)
    calls = _Calls()
    with copy.lock, torch.inference_mode(), capture(model, list(ruled), keep="shape") as captured:
        with calls:
            out = captured.run(x)
        reference = lm.model(x)
    reason = _uncovered(calls.counts, ruled, captured.calls) or _first_layer(model, captured.order, ruled)
    if reason is not None:
        return reason
    if not isinstance(out, torch.Tensor) or not isinstance(reference, torch.Tensor) or out.shape != reference.shape:
        return "its canonized copy does not return the model's scores"
    off = float((out.float() - reference.float()).abs().max() / reference.float().abs().max().clamp_min(1e-12))
    if off > CANONIZED_TOLERANCE:
        return (f"zennit's canonizer changed its outputs ({off:.1e} relative): its layers are not in the order the "
                "canonizer reads them in")
    return None


def _lrp_rules(lm: LoadedModel) -> str | None:
    if is_torchscript(lm) or not lm.hookable:
        return f"zennit's rules are attached to a model's layers, which a TorchScript model does not expose ({TORCHSCRIPT_HINT})"
    found = census(lm)
    if found.others:
        return (f"its rules cover convolutions, linear layers, ReLU-type activations, pooling and batch norms, and this "
                f"model also uses {found.others_text()}")
    reason = _layer_types(lm.model)
    if reason is not None:
        return reason
    copy = private_copy(lm)  # thrown away after the check: a refused model keeps no canonized copy
    try:
        canonize(copy.model)
    except Exception as exc:  # noqa: BLE001 - a canonizer that cannot read the model is a reason, not a crash
        first = str(exc).splitlines()[0][:120] if str(exc) else ""
        return (f"zennit's canonizer merges each batch norm into the layer registered before it, which fails on this "
                f"model ({type(exc).__name__}: {first})")
    return _unmerged(copy.model) or _forward_check(lm, copy)


LRP_RULES = Requirement("lrp_rules", "layers zennit's LRP rules and canonizers cover (convolutions, linear layers, "
                        "ReLU-type activations, pooling, batch norms, torchvision ResNet blocks)", _lrp_rules)


# ---- the maps --------------------------------------------------------------------------------------------------


def _seed(ctx: Context, scores: list[torch.Tensor]) -> Callable[[torch.Tensor], torch.Tensor]:
    """The output relevance: d score / d logits x logits (the target's logit, or both logits of a contrast), so the
    relevance starts as the score itself; keeps each row's score in `scores`."""
    def attr_output(output: torch.Tensor) -> torch.Tensor:
        logits = output.detach().requires_grad_(True)
        with torch.enable_grad():
            score = ctx.score(logits)
            (weights,) = torch.autograd.grad(score.sum(), logits)
        scores.append(score.detach())
        return weights.to(output.dtype) * output.detach()

    return attr_output


def relevance(ctx: Context, composite: object) -> tuple[torch.Tensor, torch.Tensor]:
    """Each row's input relevance (N x 3 x H x W) and the score it started from (N,), by `composite`'s rules on the
    canonized copy; the hooks exist only while the copy's lock is held."""
    from zennit.attribution import Gradient

    variant = canonical(ctx.lm)
    scores: list[torch.Tensor] = []
    with variant.lock, torch.enable_grad(), Gradient(variant.model, composite) as attributor:
        _, result = attributor(ctx.x.detach().clone(), _seed(ctx, scores))
    return result.detach(), scores[0].double()


def has_bias(model: nn.Module) -> bool:
    """Whether a convolution or linear layer adds a non-zero bias (merged batch norms give them one)."""
    biases = [getattr(m, "bias", None) for m in model.modules() if isinstance(m, (nn.Linear, nn.modules.conv._ConvNd))]
    return any(isinstance(b, torch.Tensor) and bool(b.any()) for b in biases)


def conservation(total: float, score: float, biased: bool) -> tuple[str, float]:
    """The note beside the map and its gap (sum of relevance minus the score)."""
    gap = total - score
    if biased:
        return f"relevance sums to {total:.4g} of the score {score:.4g} (gap {gap:.3g}: the biases keep their share)", gap
    if abs(gap) / max(1.0, abs(score)) > SUMMATION_TOLERANCE:
        return (f"WARNING: relevance sums to {total:.4g}, not to the score {score:.4g} (gap {gap:.3g}), on a model "
                "without biases"), gap
    return f"relevance sums to the score {score:.4g} (gap {gap:.1e})", gap


class _LRP(AttributionMethod):
    family = "lrp"
    requires = (AUTOGRAD, LRP_RULES)
    objectives = ("logit",)  # a probability or a loss is a softmax / log-softmax of every score: no rule propagates it
    batchable = True
    cost: ClassVar[int] = 4  # gradient passes one map costs (ResNet-18 and ResNet-50 at 96 px, least of 10, one thread)

    def passes(self, **_) -> int:
        """A forward and a backward pass in which each layer with a rule recomputes its output and its input gradient
        once per term of its rule: `cost` gradient passes."""
        return self.cost

    def composite(self, ctx: Context, **params) -> object:
        raise NotImplementedError

    def maps(self, ctx: Context, **params) -> list[torch.Tensor]:
        """Each row's map (3 x H x W), its conservation note and gap in ctx.row_checks (the first also in ctx)."""
        rows = max(1, ctx.batch_rows // 2)  # zennit keeps a copy of each hooked layer's input: twice a gradient's memory
        biased = has_bias(canonical(ctx.lm).model)
        maps, checks = [], []
        for start in range(0, len(ctx.x), rows):
            part = ctx if len(ctx.x) <= rows else _rows(ctx, start, start + rows)
            result, scores = relevance(part, self.composite(part, **params))
            for row, score in zip(result, scores.tolist(), strict=True):
                maps.append(row)
                checks.append(conservation(float(row.double().sum()), score, biased))
            report(ctx.progress, min(1.0, (start + rows) / len(ctx.x)))
        ctx.row_checks = tuple(checks)
        ctx.note, ctx.summation_gap = checks[0]
        return maps

    def compute(self, ctx: Context, **params) -> torch.Tensor:
        return self.maps(ctx, **params)[0]

    def compute_batch(self, ctx: Context, **params) -> list[torch.Tensor]:
        return self.maps(ctx, **params)


def _rows(ctx: Context, start: int, stop: int) -> Context:
    targets = ctx.row_targets[start:stop] if ctx.row_targets is not None else None
    return replace(ctx, x=ctx.x[start:stop], row_targets=targets)


EPSILON = Param("epsilon", "float", 1e-6, 1e-9, 100.0, help="The epsilon rule's stabiliser on linear layers: larger "
                "values absorb weak or contradictory relevance (a sparser, less noisy map).")


@register
class LRPEpsilonPlusFlat(_LRP):
    name = "lrp_epsilon_plus_flat"
    label = "LRP (ε, z⁺, flat)"
    description = ("Layer-wise relevance propagation (Bach et al. 2015; Montavon et al. 2019) with zennit's "
                   "EpsilonPlusFlat composite: the flat rule on the first layer, z⁺ on the other convolutions, epsilon "
                   "on linear layers, batch norms merged and ResNet additions split by zennit's canonizers. "
                   "Relevance starts as the target's score; the caption states how much of it reaches the pixels.")
    params = (EPSILON,)
    cost = 4  # measured 3.3 to 3.4 x a gradient map: z+ has two terms, epsilon one

    def composite(self, ctx: Context, epsilon: float = 1e-6) -> object:
        from zennit.composites import EpsilonPlusFlat

        return EpsilonPlusFlat(epsilon=epsilon, stabilizer=STABILIZER)


@register
class LRPEpsilonGammaBox(_LRP):
    name = "lrp_epsilon_gamma_box"
    label = "LRP (ε, γ, box)"
    description = ("Layer-wise relevance propagation with zennit's EpsilonGammaBox composite: the z-box rule bounded "
                   "by the pixel range on the first convolution, gamma (favouring positive contributions) on the "
                   "others, epsilon on linear layers (Montavon et al. 2019), zennit's canonizers first. Relevance "
                   "starts as the target's score; the caption states how much of it reaches the pixels.")
    params = (EPSILON, Param("gamma", "float", 0.25, 0.0, 100.0, help="How much the gamma rule favours positive "
                             "contributions (0: the plain z rule)."))
    cost = 8  # measured 7.0 to 7.7 x a gradient map: gamma has five terms, each with its own modified weights

    def composite(self, ctx: Context, epsilon: float = 1e-6, gamma: float = 0.25) -> object:
        from zennit.composites import EpsilonGammaBox

        low, high = pixel_bounds(ctx)
        return EpsilonGammaBox(low=low, high=high, epsilon=epsilon, gamma=gamma, stabilizer=STABILIZER)


def pixel_bounds(ctx: Context) -> tuple[torch.Tensor, torch.Tensor]:
    """The lowest and highest value each input channel can take (black and white pixels, normalised), 1 x 3 x 1 x 1."""
    unit = torch.ones((1, 3, 1, 1), device=ctx.x.device, dtype=ctx.x.dtype)
    standardise = ctx.lm.preprocessing.standardise
    return standardise(unit * 0), standardise(unit)

