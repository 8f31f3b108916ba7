"""DeepLIFT (rescale rule) through Captum, on a modified copy with one ReLU module per use.

Captum's DeepLift implements the rules well (ReLU rescale, MaxPool, summation-to-delta) but stores
per-module state in hooks: it refuses modules used twice (torchvision ResNets reuse each block's
ReLU) and its hooks must never sit on the shared model. So it runs on a shared variant of the model
(interpret.models.private, built once per model), rewritten with torch.fx so that every ReLU call
has its own module, under the variant's own lock while Captum's hooks exist: the shared model and its
lock stay free.

Captum's rule replaces the whole gradient of a hooked module's *input tensor* (a tensor hook, which also
collects what flows back through that tensor's other uses). So every hooked module gets a private copy
of its input (`x.clone()` inserted in the graph): without it ReLU6 = ReLU(x) - ReLU(x - 6), where `x - 6`
shares x, summed to 24.5 on the bundled EfficientNet-Lite0 where f(x) - f(baseline) = 10.08 (coffee,
black baseline); with it the two kinks are rescaled separately and the map sums to the difference.
Captum's own MaxPool rule breaks summation-to-delta for non-zero baselines (measured on a
random-weight ResNet-18, coffee photo, black baseline: off by 0.019 of a 0.41 logit difference;
exact with the rewrite), so max pooling is rewritten as a chain
max(a, b) = a + ReLU(b - a), which the ReLU rescale rule propagates exactly.

ReLU6 and hardtanh(0, upper), as modules or functional calls (F.relu6, F.hardtanh), are written
ReLU(x) - ReLU(x - upper), and functional ReLUs (F.relu, torch.relu, Tensor.relu) become ReLU modules: left
as they were, their gradient passed unrescaled (a small CNN with F.relu6 or nn.Hardtanh(0, 6): 52 % off).
Max pooling in ceil mode (SqueezeNet 1.1, GoogLeNet) is rewritten too, its last windows running past the
edge as torch's do (Captum's rule left it 74 % off on SqueezeNet 1.1, random weights, coffee photo).
The class score is the only objective: a probability or a loss is a softmax (log-softmax) of every score,
which no rescale rule propagates (random-weight ResNet-18, coffee: the loss map summed to -0.21 where the
difference was -0.57), so `objectives` refuses the others.

The rules cover ReLU, ReLU6 and max pooling; a model that also calls SiLU, GELU, sigmoid gates, layer
norms, attention, ... is refused (requirements.DEEPLIFT_RULES: their gradient would pass unrescaled and
the map would not sum). Every map is checked when computed: one more forward pass gives f(x) - f(baseline)
on the shared model, and the map's sum, the difference and their gap go into the Attribution
(`summation_gap`, `note`), flagged in the caption when the gap exceeds SUMMATION_TOLERANCE.
"""
from __future__ import annotations

import copy
import itertools
import operator
import threading
import weakref
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import fx, nn

from ..models import LoadedModel
from ..models.private import shared_variant
from .activations import clipped_relu_bounds, op_name
from .base import AttributionMethod, Context, register
from .baselines import BASELINE, BLUR, baseline_of
from .gradients import SEED, generator
from .requirements import AUTOGRAD, DEEPLIFT_RULES, MethodUnavailable, remember_refusal
from .rewrite import replace_modules

SPLIT = (nn.ReLU, nn.MaxPool2d, nn.MaxPool1d, nn.ELU, nn.LeakyReLU, nn.Sigmoid, nn.Tanh, nn.Softplus)
RELU_OPS = frozenset({"relu", "relu_"})  # F.relu, torch.relu, Tensor.relu and their in-place forms
CLIPPED_OPS = frozenset({"relu6", "relu6_", "hardtanh", "hardtanh_"})  # clipped ReLUs when the lower bound is 0
# relative gap |sum - (f(x) - f(baseline))| / max(1, |f(x) - f(baseline)|) above which the caption warns:
# float32 rounding over a full network stays below 1e-4 (measured: ResNet-18, EfficientNet-Lite0, 224 px)
SUMMATION_TOLERANCE = 1e-3


class ClippedReLU(nn.Module):
    """min(max(x, 0), upper) (ReLU6, hardtanh(0, upper)) written with two ReLUs, so DeepLIFT's rescale rule sees
    both kinks."""

    def __init__(self, upper: float = 6.0):
        super().__init__()
        self.upper = float(upper)
        self.low, self.high = nn.ReLU(), nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.low(x) - self.high(x - self.upper)


def pooled_size(size: int, kernel: int, stride: int, padding: int, ceil: bool) -> int:
    """Output length of a max pooling (dilation 1), as torch computes it: in ceil mode the last window may run past
    the end, but it starts inside the input or its left padding."""
    out = (size + 2 * padding - kernel + (stride - 1 if ceil else 0)) // stride + 1
    if ceil and (out - 1) * stride >= size + padding:
        out -= 1
    return out


def pool_windows(x: torch.Tensor, kernel: tuple[int, int], stride: tuple[int, int], padding: tuple[int, int],
                 ceil: bool) -> torch.Tensor:
    """The kh * kw shifted views of `x` whose elementwise maximum is the max pooling of `x`, stacked (first dim).

    Borders are replicated: that never changes a window's maximum (a window that reaches the padding holds the
    edge value). A leaf of torch.fx traces (`fx.wrap`): its sizes depend on the input's."""
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    out_h = pooled_size(x.shape[-2], kh, sh, ph, ceil)
    out_w = pooled_size(x.shape[-1], kw, sw, pw, ceil)
    extra_h = max(0, (out_h - 1) * sh + kh - (x.shape[-2] + 2 * ph))  # ceil mode: the last windows run past the end
    extra_w = max(0, (out_w - 1) * sw + kw - (x.shape[-1] + 2 * pw))
    pads = (pw, pw + extra_w, ph, ph + extra_h)
    padded = F.pad(x, pads, mode="replicate") if any(pads) else x
    return torch.stack([padded[..., i:i + sh * (out_h - 1) + 1:sh, j:j + sw * (out_w - 1) + 1:sw]
                        for i in range(kh) for j in range(kw)])


fx.wrap("pool_windows")


class MaxPoolAsReLUs(nn.Module):
    """MaxPool2d (dilation 1, floor or ceil mode) as pairwise maxima a + ReLU(b - a): exact under DeepLIFT's
    rescale rule."""

    def __init__(self, pool: nn.MaxPool2d):
        super().__init__()

        def pair(v):
            return (v, v) if isinstance(v, int) else tuple(v)

        self.kernel, self.stride, self.padding = pair(pool.kernel_size), pair(pool.stride or pool.kernel_size), pair(pool.padding)
        self.ceil_mode = bool(pool.ceil_mode)
        self.relus = nn.ModuleList(nn.ReLU() for _ in range(self.kernel[0] * self.kernel[1] - 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        windows = pool_windows(x, self.kernel, self.stride, self.padding, self.ceil_mode)
        result = windows[0]
        for i, relu in enumerate(self.relus, start=1):
            result = result + relu(windows[i] - result)
        return result


def _plain_pool(m: nn.Module) -> bool:
    return type(m) is nn.MaxPool2d and m.dilation in (1, (1, 1)) and not m.return_indices


def _pool_as_relus(module: nn.Module) -> nn.Module:
    assert isinstance(module, nn.MaxPool2d)  # chosen by _plain_pool
    return MaxPoolAsReLUs(module)


def _clipped(m: nn.Module) -> bool:
    """nn.ReLU6, or an nn.Hardtanh whose lower bound is 0: a ReLU clipped at its upper bound."""
    return isinstance(m, nn.Hardtanh) and float(m.min_val) == 0.0 and float(m.max_val) > 0


def _as_clipped(module: nn.Module) -> nn.Module:
    assert isinstance(module, nn.Hardtanh)  # chosen by _clipped
    return ClippedReLU(float(module.max_val))


def one_module_per_use(model: nn.Module) -> nn.Module:
    """A GraphModule in which every ReLU-type unit (module or functional) and max pooling is a call of its own
    ReLU module, fed a private copy of its input."""
    model = replace_modules(model, _clipped, _as_clipped)
    model = replace_modules(model, _plain_pool, _pool_as_relus)
    for module in model.modules():
        if isinstance(module, nn.ReLU):
            module.inplace = False
    graph_module = fx.symbolic_trace(model)
    _functional_units_as_modules(graph_module)
    used: set[str] = set()
    for i, node in enumerate(list(graph_module.graph.nodes)):
        if node.op == "call_module" and isinstance(graph_module.get_submodule(node.target), SPLIT):
            if node.target in used:
                name = f"{node.target.replace('.', '_')}_use{i}"
                graph_module.add_submodule(name, copy.deepcopy(graph_module.get_submodule(node.target)))
                node.target = name
            used.add(node.target)
            _private_input(graph_module, node)
    graph_module.graph.lint()
    graph_module.recompile()
    return graph_module


def _unit_of(node: fx.Node) -> str | float | None:
    """'relu' for a functional ReLU call (F.relu, torch.relu, Tensor.relu, in place or not), the upper bound of a
    functional clipped ReLU (F.relu6, F.hardtanh(x, 0, upper)), None for anything else."""
    if node.op == "call_function":
        name = op_name(node.target)
    elif node.op == "call_method" and isinstance(node.target, str):
        name = node.target
    else:
        return None
    if name in RELU_OPS:
        return "relu"
    if name in CLIPPED_OPS:
        bounds = node.args[1:3] + tuple(node.kwargs.get(k) for k in ("min_val", "max_val") if k in node.kwargs)
        if all(isinstance(b, (int, float)) for b in bounds):
            clipped = clipped_relu_bounds(name, tuple(node.args), dict(node.kwargs))
            return clipped[1] if clipped is not None else None
    return None


def _functional_units_as_modules(graph_module: fx.GraphModule) -> None:
    """Replace each functional ReLU-type call by calls of new nn.ReLU modules (a clipped ReLU by two: ReLU(x) -
    ReLU(x - upper)), which Captum's rescale rule then reaches."""
    graph = graph_module.graph
    for i, node in enumerate(list(graph.nodes)):
        unit = _unit_of(node)
        if unit is None or not node.args:
            continue
        source = node.args[0]
        with graph.inserting_before(node):
            graph_module.add_submodule(f"functional_relu_{i}", nn.ReLU())
            replacement = graph.call_module(f"functional_relu_{i}", (source,))
            if unit != "relu":
                graph_module.add_submodule(f"functional_relu_{i}_high", nn.ReLU())
                shifted = graph.call_function(operator.sub, (source, unit))
                high = graph.call_module(f"functional_relu_{i}_high", (shifted,))
                replacement = graph.call_function(operator.sub, (replacement, high))
        node.replace_all_uses_with(replacement)
        graph.erase_node(node)


def _private_input(graph_module: fx.GraphModule, node: fx.Node) -> None:
    """Feed the hooked module `node` a clone of its input: Captum's hook then rescales only this use's gradient."""
    source = node.args[0]
    with graph_module.graph.inserting_before(node):
        clone = graph_module.graph.call_method("clone", (source,))
    node.args = (clone, *node.args[1:])


class _Score(nn.Module):
    """The copy followed by the target's objective: one column, attributed as Captum's target 0."""

    def __init__(self, model: nn.Module, ctx: Context):
        super().__init__()
        self.model, self.objective = model, ctx.score

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.objective(self.model(x))[:, None]


def weights_state(model: nn.Module) -> tuple[tuple[int, int], ...]:
    """Which tensors the model holds and how often each was changed in place (torch's version counter):
    equal states mean equal weights, checked in microseconds (no value is read)."""
    return tuple((id(t), t._version) for t in itertools.chain(model.parameters(), model.buffers()))


@dataclass
class _Rewrite:
    """A model's rewritten copy and the state of the source's weights it was last given."""

    variant: LoadedModel
    state: tuple[tuple[int, int], ...]


# the rewritten copy of each source module (weakly keyed: it goes with the module), reused by every LoadedModel
# of that module: the sanity check's twins (one per randomisation stage) share their private module, and
# tracing a ResNet-50 again for each costs 0.6 s where copying its changed weights costs milliseconds
_REWRITES: weakref.WeakKeyDictionary[nn.Module, _Rewrite] = weakref.WeakKeyDictionary()
_GUARD = threading.Lock()


def _refresh(rewrite: _Rewrite, source: nn.Module) -> bool:
    """Give the rewritten copy the source's current weights, if they changed (under the copy's lock). False
    when the copy's tensors do not map one to one onto the source's (the copy must then be rebuilt)."""
    state = weights_state(source)
    if state == rewrite.state:
        return True
    theirs = source.state_dict(keep_vars=True)
    ours = rewrite.variant.model.state_dict(keep_vars=True)
    if set(ours) - set(theirs) or any(ours[k].shape != theirs[k].shape for k in ours):
        return False
    with torch.no_grad():
        for name, tensor in ours.items():
            tensor.copy_(theirs[name])
    rewrite.state = state
    return True


def split_copy(ctx: Context) -> LoadedModel:
    """The shared model rewritten by `one_module_per_use`, built once per model, with its own lock.

    Another LoadedModel of the same module (a sanity-check twin after its weights were re-initialised in
    place) gets the same rewritten copy with the module's current weights copied in, not a new trace; the
    shared model itself is only read."""
    source = ctx.lm.model
    with _GUARD:
        rewrite = _REWRITES.get(source)
    if rewrite is not None:
        with rewrite.variant.lock:
            if _refresh(rewrite, source):
                return rewrite.variant

    def transform(model: nn.Module) -> nn.Module:
        return one_module_per_use(model)

    try:
        variant = shared_variant(ctx.lm, "deeplift", transform)
    except Exception as exc:  # torch.fx cannot trace data-dependent control flow
        reason = f"torch.fx cannot trace this model ({str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__})"
        remember_refusal(ctx.lm, DEEPLIFT_RULES, reason)
        raise MethodUnavailable(f"DeepLIFT: {reason}.") from exc
    with _GUARD:
        _REWRITES[source] = _Rewrite(variant, weights_state(source))
    return variant


def deeplift(ctx: Context, baseline: torch.Tensor) -> torch.Tensor:
    """1 x 3 x H x W attributions for the target score (unchecked: `DeepLIFT.compute` checks the sum)."""
    from captum.attr import DeepLift

    variant = split_copy(ctx)
    with variant.lock, torch.enable_grad():  # Captum's hooks live on the variant while its lock is held
        inputs = ctx.x.detach().clone().requires_grad_(True)
        attributions = DeepLift(_Score(variant.model, ctx)).attribute(inputs, baselines=baseline, target=0)
    return attributions.detach()


@register
class DeepLIFT(AttributionMethod):
    name = "deeplift"
    label = "DeepLIFT"
    description = ("Differences from a baseline propagated with the rescale rule; attributions sum to "
                   "f(image) - f(baseline) (Shrikumar et al. 2017). Captum's implementation on a private copy.")
    params = (BASELINE, BLUR, SEED)
    requires = (AUTOGRAD, DEEPLIFT_RULES)
    objectives = ("logit",)  # a probability or a loss is a softmax / log-softmax of the scores: no rule rescales it

    def passes(self, **_) -> int:
        """Image and baseline through the rewritten copy (one doubled batch, forward and backward), and the
        summation check's forward of both through the shared model."""
        return 3

    def compute(self, ctx: Context, baseline: str = "black", blur: float = 10.0, seed: int = 0) -> torch.Tensor:
        reference = baseline_of(ctx, baseline, blur, generator(ctx, seed))
        attributions = deeplift(ctx, reference)[0]
        check_summation(ctx, reference, float(attributions.double().sum()))
        return attributions


def check_summation(ctx: Context, reference: torch.Tensor, total: float) -> None:
    """Record on `ctx` how far the map's sum is from f(x) - f(baseline), measured on the shared model."""
    with torch.inference_mode():
        scores = ctx.score(ctx.lm.model(torch.cat([ctx.x, reference]))).double()
    delta = float(scores[0] - scores[1])
    gap = total - delta
    ctx.summation_gap = gap
    relative = abs(gap) / max(1.0, abs(delta))
    if relative > SUMMATION_TOLERANCE:
        ctx.note = (f"WARNING: sums to {total:.4g}, not to f(x) - f(baseline) = {delta:.4g} (gap {gap:.3g}); "
                    "the rescale rule does not hold on this model")
    else:
        ctx.note = f"sums to f(x) - f(baseline) = {delta:.4g} (gap {gap:.1e})"
