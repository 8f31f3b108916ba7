"""One contract for every attribution method: a registered subclass with declared parameters.

A method receives a Context (shared model, input, target, layer, progress callback) and returns a
map. It must not mutate the shared model: hook-free autograd, hooks (interpret.capture) under
`ctx.lm.lock`, or work on a copy from interpret.models.private. Long methods report progress with
interpret.progress.report(ctx.progress, fraction); a Cancelled raised there stops them.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import InterpretError, ParameterError
from ..limits import MASKED_PIXELS, MAX_PASSES
from ..models import LoadedModel
from ..models.kinds import a_model
from ..progress import Progress, report
from .kind_targets import RegressionTarget, TargetError
from .requirements import Requirement, require
from .target import OBJECTIVES, Target


@dataclass(frozen=True)
class Param:
    """A method parameter, described well enough to draw a widget and parse a CLI value."""

    name: str
    kind: str  # "int", "float", "choice" or "bool"
    default: Any
    low: float | None = None
    high: float | None = None
    choices: tuple = ()
    help: str = ""

    def parse(self, value: Any) -> Any:
        """Validate a value (or its text form) and return it in the parameter's type."""
        try:
            if self.kind == "int":
                value = int(value)
            elif self.kind == "float":
                value = float(value)
                if not math.isfinite(value):  # NaN passes every range comparison
                    raise ValueError(value)
            elif self.kind == "bool":
                value = value if isinstance(value, bool) else str(value).strip().lower() in ("1", "true", "yes", "on")
            elif self.kind == "choice":
                value = type(self.default)(value) if not isinstance(value, type(self.default)) else value
        except (TypeError, ValueError, OverflowError) as exc:  # int(inf) raises OverflowError
            expected = "a finite number" if self.kind == "float" else "a whole number" if self.kind == "int" else self.kind
            raise ParameterError(f"Parameter '{self.name}' expects {expected}, got {value!r}.") from exc
        if self.kind == "choice" and value not in self.choices:
            raise ParameterError(f"Parameter '{self.name}' must be one of {', '.join(map(str, self.choices))}; got {value!r}.")
        if self.kind in ("int", "float"):
            if (self.low is not None and value < self.low) or (self.high is not None and value > self.high):
                raise ParameterError(f"Parameter '{self.name}' must lie in [{self.low}, {self.high}]; got {value}.")
        return value

    def as_dict(self) -> dict:
        return {"name": self.name, "kind": self.kind, "default": self.default, "low": self.low, "high": self.high,
                "choices": list(self.choices), "help": self.help}


@dataclass
class Context:
    """Everything a method needs for one map."""

    lm: LoadedModel
    x: torch.Tensor  # 1 x 3 x H x W, normalised, on the model's device
    target: Target
    layer: str | None = None
    progress: Progress | None = None  # called through interpret.progress.report; may raise Cancelled
    note: str = ""  # set by a method that checked its own result (DeepLIFT's summation), shown in the caption
    summation_gap: float | None = None  # sum of the map minus f(x) - f(baseline), where a method checks it
    # a batch (interpret.attribution.batch): each row's own target, and the rows one batched pass may hold
    row_targets: tuple[Target, ...] | None = None
    batch_rows: int = 8
    # a batch: each row's (note, summation_gap), where a method checks every map it computes (LRP's conservation)
    row_checks: tuple[tuple[str, float | None], ...] | None = None

    def score(self, logits: torch.Tensor) -> torch.Tensor:
        """One scalar per row of a batch of logits: the target's score, or each row's own in a batch."""
        if self.row_targets is None:
            return self.target.score(logits)
        return row_scores(self.row_targets, logits)


def row_scores(targets: tuple[Target, ...], logits: Any) -> torch.Tensor:
    """Row i's score under targets[i] (N,), differentiable; rows with the same target scored together."""
    if len(targets) != len(logits):
        raise ValueError(f"{len(targets)} targets for {len(logits)} rows of logits")
    groups: dict[Target, list[int]] = {}
    for row, target in enumerate(targets):
        groups.setdefault(target, []).append(row)
    if len(groups) == 1:
        return targets[0].score(logits)
    order = [row for rows in groups.values() for row in rows]
    scores = torch.cat([target.score(_rows(logits, rows)) for target, rows in groups.items()])
    inverse = torch.empty(len(order), dtype=torch.long, device=scores.device)
    inverse[torch.tensor(order, device=scores.device)] = torch.arange(len(order), device=scores.device)
    return scores[inverse]


def _rows(output: Any, rows: list[int]) -> Any:
    """Those rows of a model's output: a tensor's, or a detector's list of per-image dicts."""
    return [output[row] for row in rows] if isinstance(output, (list, tuple)) else output[rows]


@dataclass(frozen=True)
class Attribution:
    """A computed map as plain arrays: what every page, metric and CLI command consumes."""

    method: str
    target: int
    target_label: str
    params: tuple[tuple[str, Any], ...]
    values: np.ndarray = field(repr=False)  # float32 H x W at the input resolution the model sees
    signed: bool
    seconds: float
    layer: str | None = None
    objective: str = "logit"
    contrast: int | None = None
    note: str = ""  # what the method checked about this map, e.g. DeepLIFT's summation to f(x) - f(baseline)
    summation_gap: float | None = None  # sum of the map minus f(x) - f(baseline) (DeepLIFT), None where unchecked

    @property
    def status(self) -> str:
        """'ok', 'nan' (non-finite values), 'blank' (all zero) or 'constant'."""
        return map_status(self.values)

    def caption(self) -> str:
        settings = ", ".join(f"{k}={v}" for k, v in self.params)
        layer = f" @ {self.layer}" if self.layer else ""
        return (f"{self.method}{layer} · {self.target_label}" + (f" · {settings}" if settings else "")
                + f" · {self.seconds:.2f} s" + (f" · {self.note}" if self.note else ""))


def map_status(values: np.ndarray) -> str:
    if not np.all(np.isfinite(values)):
        return "nan"
    if not np.any(values):
        return "blank"
    if float(values.max() - values.min()) <= 1e-12 * max(1.0, float(np.abs(values).max())):
        return "constant"
    return "ok"


class AttributionMethod:
    """Base class: subclasses set the class attributes and implement `compute`."""

    name: ClassVar[str]
    label: ClassVar[str]
    family: ClassVar[str] = "gradient"  # "gradient", "cam" or "perturbation"
    signed: ClassVar[bool] = True
    uses_layer: ClassVar[bool] = False
    params: ClassVar[tuple[Param, ...]] = ()
    description: ClassVar[str] = ""
    # what the method needs from a model (interpret.attribution.requirements); `attribute()` refuses a model
    # that lacks one, with the reason, and the pages list the method as not available there
    requires: ClassVar[tuple[Requirement, ...]] = ()
    # what it can explain (target.OBJECTIVES): a method whose rules hold for the class score only refuses the others
    objectives: ClassVar[tuple[str, ...]] = OBJECTIVES
    # the kinds of model it explains (models/kinds.py): a method whose map is honest for other kinds' targets
    # (kind_targets.py) says so; the others are refused there with the reason (requirements.applicable)
    kinds: ClassVar[tuple[str, ...]] = ("classifier",)

    # True where `compute_batch` computes the maps of many images in batched passes (interpret.attribution.batch);
    # other methods are computed one image at a time there
    batchable: ClassVar[bool] = False
    # True where the method's passes are forward-only scores of masked copies of the input, batched within
    # MASKED_BATCH_BYTES (Score-CAM, Occlusion, RISE): its cost is counted in masked images, not in backward passes,
    # and bounded by their pixels too (MASKED_PIXELS); `cheaper` says which parameters lower it
    masked_forwards: ClassVar[bool] = False
    cheaper: ClassVar[str] = ""

    def compute(self, ctx: Context, **params: Any) -> torch.Tensor:
        """A map as a tensor of shape H x W (any resolution; resized to the input) or 3 x H x W."""
        raise NotImplementedError

    def compute_batch(self, ctx: Context, **params: Any) -> list[torch.Tensor]:
        """The maps of ctx.x's N images (ctx.row_targets: one target each), each as `compute` returns it, from
        passes of at most ctx.batch_rows rows. Only where `batchable`."""
        raise NotImplementedError

    def passes(self, size: tuple[int, int] = (224, 224), **params: Any) -> int:
        """How many forward (+ backward) passes of one image the method needs with these parameters, for an
        input of `size` (H, W): its cost, bounded by MAX_PASSES. Batching does not change it."""
        return 1

    def resolve_params(self, given: dict[str, Any] | None) -> dict[str, Any]:
        given = dict(given or {})
        known = {p.name: p for p in self.params}
        unknown = set(given) - set(known)
        if unknown:
            raise ParameterError(f"{self.name} has no parameter {', '.join(sorted(unknown))}; "
                                 f"it takes: {', '.join(known) or 'none'}.")
        return {name: p.parse(given[name]) if name in given else p.default for name, p in known.items()}

    def describe(self) -> dict:
        return {"name": self.name, "label": self.label, "family": self.family, "signed": self.signed,
                "uses_layer": self.uses_layer, "description": self.description, "params": [p.as_dict() for p in self.params],
                "requires": [r.needs for r in self.requires]}


REGISTRY: dict[str, AttributionMethod] = {}


def register(cls: type[AttributionMethod]) -> type[AttributionMethod]:
    """Class decorator: make a method available by its name everywhere (UI, CLI, metrics)."""
    REGISTRY[cls.name] = cls()
    return cls


def get_method(name: str) -> AttributionMethod:
    if name not in REGISTRY:
        raise InterpretError(f"Unknown method '{name}'. Methods: {', '.join(REGISTRY)}.")
    return REGISTRY[name]


def to_input_resolution(result: torch.Tensor, size: tuple[int, int]) -> np.ndarray:
    """Reduce a method's output to one float32 H x W map at the model's input size."""
    result = result.detach().float()
    if result.ndim == 4:
        result = result[0]
    if result.ndim == 3:
        result = result.sum(0)
    if tuple(result.shape) != tuple(size):
        result = F.interpolate(result[None, None], size=size, mode="bilinear", align_corners=False)[0, 0]
    return result.cpu().numpy().astype(np.float32)


def check_passes(label: str, cost: int, how: str) -> None:
    """Refuse a map that would cost more than MAX_PASSES forward passes, saying how to lower the cost."""
    if cost > MAX_PASSES:
        raise ParameterError(f"{label} with these settings needs {cost:,} forward passes; one map may cost up to "
                             f"{MAX_PASSES:,} (limit MAX_PASSES). {how}")


def check_cost(impl: AttributionMethod, params: dict[str, Any], size: tuple[int, int]) -> None:
    """Refuse a map whose resolved `params` cost too much for an input of `size`: more than MAX_PASSES passes, or
    masked images of more than MASKED_PIXELS pixels together. A caller that runs other passes first (the CLI's
    prediction of the target) calls it before them."""
    cost = impl.passes(size=size, **params)
    check_passes(impl.label, cost, _how_to_lower(impl, params, size, cost))
    check_masked_pixels(impl, cost, size)


def check_masked_pixels(impl: AttributionMethod, images: int, size: tuple[int, int]) -> None:
    """Refuse a `masked_forwards` map whose masked images hold more than MASKED_PIXELS pixels together (`images` of
    H x W `size`): its cost, which MAX_PASSES alone does not bound at large inputs. Says what to change."""
    pixels = images * size[0] * size[1]
    if not impl.masked_forwards or pixels <= MASKED_PIXELS:
        return
    most = MASKED_PIXELS // (size[0] * size[1])
    raise ParameterError(f"{impl.label} with these settings scores {images:,} masked images of {size[0]} x {size[1]} px "
                         f"({pixels / 1e6:,.0f} M pixels); one map's masked images may hold up to "
                         f"{MASKED_PIXELS / 1e6:,.0f} M pixels (limit MASKED_PIXELS): {most:,} at this size. "
                         f"Use {impl.cheaper or 'other settings'}, or a smaller input (the model's crop size).")


def _how_to_lower(impl: AttributionMethod, params: dict[str, Any], size: tuple[int, int], cost: int) -> str:
    """The parameters whose default would cost less (e.g. 'Change stride (default 16) or window (default 32).')."""
    levers = []
    for p in impl.params:
        if p.kind in ("int", "float") and params[p.name] != p.default:
            if impl.passes(size=size, **{**params, p.name: p.default}) < cost:
                levers.append(f"{p.name} (default {p.default})")
    return f"Change {' or '.join(levers)}." if levers else "Use other settings."


@dataclass(frozen=True)
class Request:
    """One map's request, checked: the method, its parsed parameters, the model's target and the layer."""

    impl: AttributionMethod
    params: dict[str, Any]
    target: Target
    layer: str | None


def prepare(lm: LoadedModel, size: tuple[int, int], method: str, target: int | Target, layer: str | None = None,
            params: dict[str, Any] | None = None) -> Request:
    """Check a request before any work: parameters, cost (MAX_PASSES, MASKED_PIXELS), the model's requirements; the
    default layer."""
    impl = get_method(method)
    resolved = impl.resolve_params(params)
    check_cost(impl, resolved, size)  # before any forward pass
    chosen = model_target(lm, target)
    require(lm, method, chosen.objective)
    return Request(impl, resolved, chosen, chosen_layer(lm, impl, layer))


def model_target(lm: LoadedModel, target: int | Target) -> Target:
    """A Target that reads this model's head (its activation); an index is a class of a classifier, an output of a
    regression. A target of another kind of model than `lm`'s is refused."""
    if not isinstance(target, Target):
        target = RegressionTarget(int(target)) if lm.kind == "regression" else Target(int(target))
        if target.kind != lm.kind:
            raise TargetError(f"'{lm.spec}' is {a_model(lm.kind)}: explain it with a target of its kind "
                              "(interpret.attribution.kind_targets), not a class index.")
    if target.kind != lm.kind:
        raise TargetError(f"'{lm.spec}' is {a_model(lm.kind)}; a {target.kind} target does not apply to it.")
    return replace(target, activation=lm.activation)


def chosen_layer(lm: LoadedModel, impl: AttributionMethod, layer: str | None) -> str | None:
    """The layer a method uses: the one asked for, the model's default CAM layer, or None for a method without one."""
    if not impl.uses_layer:
        return None
    if layer is None:
        from ..layers import default_cam_layer

        layer = default_cam_layer(lm)
    return layer


def result_of(lm: LoadedModel, req: Request, ctx: Context, values: np.ndarray, seconds: float) -> Attribution:
    """The Attribution of one computed map."""
    target = ctx.target
    return Attribution(
        method=req.impl.name, target=target.index, target_label=target.describe(lm), params=tuple(req.params.items()),
        values=values, signed=req.impl.signed, seconds=seconds, layer=ctx.layer, objective=target.objective,
        contrast=target.contrast, note=ctx.note, summation_gap=ctx.summation_gap,
    )


def attribute(
    lm: LoadedModel,
    x: torch.Tensor,
    method: str,
    target: int | Target,
    layer: str | None = None,
    params: dict[str, Any] | None = None,
    progress: Progress | None = None,
) -> Attribution:
    """Compute one map for one preprocessed image (1 x 3 x H x W).

    A method that cannot compute an honest map on this model (see `requires`) is refused with
    requirements.MethodUnavailable naming the reason, before any work. Inside a
    `passes.shared_passes()` block, passes another map of the same image, target and layer already
    computed are reused (the map is the same); many images at once: interpret.attribution.batch.
    """
    size = (int(x.shape[-2]), int(x.shape[-1]))
    req = prepare(lm, size, method, target, layer, params)
    ctx = Context(lm=lm, x=lm.input_tensor(x[:1]), target=req.target, layer=req.layer, progress=progress)
    start = time.perf_counter()
    result = req.impl.compute(ctx, **req.params)
    values = to_input_resolution(result, size)
    seconds = time.perf_counter() - start
    report(ctx.progress, 1.0)
    return result_of(lm, req, ctx, values, seconds)
