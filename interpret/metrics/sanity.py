"""Cascading model-parameter randomisation (Adebayo et al. 2018, "Sanity Checks for Saliency Maps").

The classifier is re-initialised first, then each block down to the first layer, cumulatively, on
a private deep copy of the model (the shared one is never touched). After each stage the same map is
recomputed and compared with the original: a map that still looks the same once the top layers are
random does not depend on what the model learned there, and is flagged.

Results are data (similarities, a `Verdict`); the sentences that explain them to a user live in
`interpret/ui/verdicts.py`.
"""
from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import torch
from torch import nn

from ..attribution import Attribution, Target, attribute
from ..attribution.planner import attribute_many
from ..attribution.requirements import MethodUnavailable
from ..models import LoadedModel
from ..models.private import private_copy
from ..progress import Cancelled, Progress, report
from .similarity import ranks, spearman_of_ranks, ssim

MapFn = Callable[[LoadedModel], np.ndarray]  # the map of a randomised model (for maps that are not a method's)
SIMILAR = 0.5  # Spearman at or above this once the top layers are random: the map did not change
TOP_STAGES = 1  # the verdict looks at the map once this many stages (from the classifier down) are random
# Random classifiers drawn for the verdict's stage; the verdict reads their median. One draw is a coin
# toss for CAMs: a CAM is linear in the classifier row, and a random row whose projection on the
# channels' shared "object energy" is positive gives back nearly the original map (EfficientNet-Lite0,
# coffee photo: Grad-CAM's Spearman over six successive draws from seed 0 ranged from -0.53 to 0.92).
TOP_DRAWS = 3
CONTAINERS = (nn.Sequential, nn.ModuleList)


class Verdict(StrEnum):
    """What the check says of a method's map (a str: compares and prints as its value)."""

    PASSES = "passes"
    FLAGGED = "flagged"
    INCOMPLETE = "incomplete"


@dataclass(frozen=True)
class SanityStage:
    """The map after re-initialising `modules` (and every stage above them)."""

    index: int  # 0 = the classifier alone
    name: str
    modules: tuple[str, ...]
    values: np.ndarray
    spearman_abs: float
    spearman_signed: float
    ssim: float
    seconds: float  # to recompute the map (every draw)
    draws: tuple[float, ...] = ()  # the verdict's similarity for each random draw, when several were made

    def similarity(self, signed: bool) -> float:
        """The rank correlation a verdict reads: of the signed maps for signed methods, else of |map|.

        (Absolute gradient-like maps keep the image's edges even on a random model, Adebayo et al.'s
        caveat; their signs do not. On the synthetic shapes (the regression test's CNN, 12 images,
        classifier random, median of 3 draws) Gradient, IG and SmoothGrad fall to 0.03-0.10 signed
        (0.25-0.48 absolute) while Guided Backprop stays at 0.91 and Guided Grad-CAM at 0.64.)
        """
        return self.spearman_signed if signed else self.spearman_abs


@dataclass(frozen=True)
class SanityResult:
    method: str
    original: np.ndarray
    stages: tuple[SanityStage, ...]
    total_stages: int
    reinit_seconds: float  # copying the model and re-initialising it: the check's cost beyond its maps
    stopped: bool = False
    signed: bool = True  # the method's maps are signed: compare them with their signs

    def similarity(self, stage: SanityStage) -> float:
        """The rank correlation the verdict reads for this method (see `SanityStage.similarity`)."""
        return stage.similarity(self.signed)

    @property
    def top(self) -> SanityStage | None:
        """The stage the verdict reads: the top TOP_STAGES stages randomised."""
        return next((s for s in self.stages if s.index == TOP_STAGES - 1), None)

    @property
    def bottom(self) -> SanityStage | None:
        """The last stage computed (every layer random when the check ran to the end)."""
        last = self.stages[-1] if self.stages else None
        return last if last is not None and last.index == self.total_stages - 1 else None

    @property
    def verdict(self) -> Verdict:
        """PASSES (the map changes once the top layers are random), FLAGGED, or INCOMPLETE (stopped before)."""
        top = self.top
        if top is None:
            return Verdict.INCOMPLETE
        return Verdict.FLAGGED if self.similarity(top) >= SIMILAR else Verdict.PASSES


def _has_params(module: nn.Module) -> bool:
    return any(True for _ in module.parameters())


def _is_norm(module: nn.Module) -> bool:
    return "Norm" in type(module).__name__


GRANULARITIES = ("block", "group")


def randomisation_stages(model: nn.Module, granularity: str = "block") -> list[tuple[str, tuple[str, ...]]]:
    """(label, module names) per stage, from the classifier down to the first layer.

    "block": a stage is a block, a module that is neither a container nor a plain layer (a ResNet
    BasicBlock, an EfficientNet block); containers of blocks are opened. "group": a container of
    blocks (a ResNet's layer3, an EfficientNet's blocks.5) is one stage, fewer maps to compute.
    Containers of plain layers (VGG features) give one stage per parameterised layer. A
    normalisation layer joins the layer before it.
    """
    if granularity not in GRANULARITIES:
        raise ValueError(f"granularity must be one of {GRANULARITIES}")
    units: list[list[str]] = []

    def opens(container: nn.Module) -> bool:
        children = [c for c in container.children() if _has_params(c)]
        if not any(list(c.children()) for c in children):
            return True  # plain layers: one stage each
        return granularity == "block" or any(isinstance(c, CONTAINERS) for c in children)

    def walk(module: nn.Module, prefix: str) -> None:
        for name, child in module.named_children():
            full = prefix + name
            if not _has_params(child):
                continue
            if isinstance(child, CONTAINERS) and opens(child):
                walk(child, full + ".")
            elif _is_norm(child) and units:
                units[-1].append(full)
            else:
                units.append([full])

    walk(model, "")
    return [("+".join(names), tuple(names)) for names in reversed(units)]


def reinitialise(module: nn.Module, generator: torch.Generator) -> None:
    """Fresh random weights from a private generator (the global RNG is left alone: threads share it).

    Weights (2-D and up): He normal; normalisation layers: identity with reset running statistics;
    other vectors (biases): small normal noise.
    """
    with torch.no_grad():
        for sub in module.modules():
            norm = _is_norm(sub)
            for name, p in sub.named_parameters(recurse=False):
                if p.ndim >= 2:
                    fan_in = max(1, p[0].numel())
                    p.copy_(torch.randn(p.shape, generator=generator) * (2.0 / fan_in) ** 0.5)
                elif norm:
                    p.fill_(1.0 if name == "weight" else 0.0)
                else:
                    p.copy_(torch.randn(p.shape, generator=generator) * 0.01)
            reset = getattr(sub, "reset_running_stats", None)
            if norm and callable(reset):
                reset()


def both_ranks(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ranks of |map| and of the signed map; one sort when the map has no negative value."""
    absolute = ranks(values, True)
    return absolute, (absolute if np.min(values) >= 0 else ranks(values, False))


@dataclass(frozen=True)
class SanityOptions:
    """The knobs of one check.

    `only` (stage indices, -1 = the last) limits which stages get a map (the others are still
    randomised, cumulatively); `max_stages` cuts the list of stages; the verdict's stage is drawn
    `draws` times and keeps the draw of median similarity (the stages below build on the last draw).
    """

    seed: int = 0
    granularity: str = "block"
    max_stages: int | None = None
    only: tuple[int, ...] | None = None
    draws: int = TOP_DRAWS

    def stages(self, model: nn.Module) -> list[tuple[str, tuple[str, ...]]]:
        stages = randomisation_stages(model, self.granularity)
        return stages if self.max_stages is None else stages[:self.max_stages]

    def wanted(self, index: int, count: int) -> bool:
        """Whether stage `index` of `count` gets a map."""
        return self.only is None or index in {i % count for i in self.only}

    def draws_at(self, index: int) -> int:
        return max(1, self.draws) if index == TOP_STAGES - 1 else 1


class Randomiser:
    """A private copy of the model, re-initialised cumulatively from one seeded generator.

    `twin` is a new LoadedModel after every re-initialisation (same module, new identity and key):
    methods that build a variant of a model once per LoadedModel (Guided Backprop's and DeepLIFT's
    rewritten copies, `models.private.shared_variant`) would otherwise keep computing on the weights
    of the first stage. `seconds` counts the copy and every re-initialisation.
    """

    def __init__(self, lm: LoadedModel, seed: int):
        start = time.perf_counter()
        self._private = private_copy(lm)
        self.twin = self._private
        self.generator = torch.Generator().manual_seed(seed)
        self.generation = 0
        self.seconds = time.perf_counter() - start

    def randomise(self, names: tuple[str, ...]) -> None:
        start = time.perf_counter()
        for name in names:
            reinitialise(self._private.model.get_submodule(name), self.generator)
        self.generation += 1
        self.twin = dataclasses.replace(self._private, key=f"{self._private.key}|randomised-{self.generation}")
        self.seconds += time.perf_counter() - start


@dataclass(frozen=True)
class Stage:
    """One randomisation stage: its index (0 = the classifier), label and module names."""

    index: int
    label: str
    modules: tuple[str, ...]


@dataclass(frozen=True)
class RankedOriginal:
    """The original map, ranked once, and how its method's maps are compared (signed or not)."""

    values: np.ndarray
    absolute: np.ndarray
    signed_ranks: np.ndarray
    signed: bool

    @classmethod
    def of(cls, original: Attribution) -> RankedOriginal:
        return cls(original.values, *both_ranks(original.values), original.signed)

    def compare(self, values: np.ndarray, stage: Stage, seconds: float) -> SanityStage:
        """One stage's map beside the original: rank correlations (of |map| and signed) and SSIM."""
        absolute, signed = both_ranks(values)
        return SanityStage(index=stage.index, name=stage.label, modules=stage.modules, values=values,
                           spearman_abs=spearman_of_ranks(self.absolute, absolute),
                           spearman_signed=spearman_of_ranks(self.signed_ranks, signed),
                           ssim=ssim(self.values, values), seconds=seconds)


def target_of(original: Attribution) -> Target:
    return Target(original.target, original.objective, original.contrast)


def recompute_all(twin: LoadedModel, x: torch.Tensor, originals: Sequence[Attribution]) -> list[Attribution]:
    """Every original's map on the twin, the maps of one target and layer from one `attribute_many` request
    (passes they share, e.g. the gradient-CAM family's layer pass, computed once; each map is the one
    `attribute()` gives alone with the original's method, target, layer and params, its `seconds` its own share)."""
    groups: dict[tuple, list[int]] = {}
    for i, original in enumerate(originals):
        groups.setdefault((target_of(original), original.layer), []).append(i)
    out: dict[int, Attribution] = {}
    for (target, layer), members in groups.items():
        names = [originals[i].method for i in members]
        if len(set(names)) < len(names):  # one method twice (other params): one request each
            for i in members:
                o = originals[i]
                out[i] = attribute(twin, x, o.method, target, layer=o.layer, params=dict(o.params))
            continue
        maps = attribute_many(twin, x, names, target, layer=layer,
                              params={originals[i].method: dict(originals[i].params) for i in members})
        for i in members:
            out[i] = maps[originals[i].method]
    return [out[i] for i in range(len(originals))]


def median_draw(tried: list[SanityStage], signed: bool) -> SanityStage:
    """The draw of median similarity, carrying every draw's similarity and their summed time."""
    if len(tried) == 1:
        return tried[0]
    middle = sorted(tried, key=lambda t: t.similarity(signed))[len(tried) // 2]
    return dataclasses.replace(middle, seconds=sum(t.seconds for t in tried),
                               draws=tuple(t.similarity(signed) for t in tried))


def draw_stage(randomiser: Randomiser, maps_of: Callable[[LoadedModel], list[tuple[np.ndarray, float]]],
               originals: Sequence[RankedOriginal], stage: Stage, draws: int) -> list[SanityStage]:
    """The stage's maps (one per original, with the seconds each took) on the twin as it stands; with
    draws > 1 the stage is re-initialised again before each further draw, and each original keeps its
    draw of median similarity."""
    tried: list[list[SanityStage]] = [[] for _ in originals]
    for draw in range(draws):
        if draw:
            randomiser.randomise(stage.modules)
        for kept, original, (values, seconds) in zip(tried, originals, maps_of(randomiser.twin), strict=True):
            kept.append(original.compare(values, stage, seconds))
    return [median_draw(kept, original.signed) for kept, original in zip(tried, originals, strict=True)]


def cascading_randomisation(lm: LoadedModel, x: torch.Tensor, original: Attribution,
                            options: SanityOptions = SanityOptions(), progress: Progress | None = None,
                            map_fn: MapFn | None = None) -> SanityResult:
    """Recompute `original` (same method, target, layer, params) after each randomisation stage.

    `map_fn(twin)` replaces the recomputation for maps that are not a registered method (the
    reference maps of the benchmarks). `progress(fraction)` is called after each stage; raising
    `interpret.progress.Cancelled` from it stops the check there, and the result holds the stages
    finished so far with `stopped=True`.
    """
    return cascading_randomisation_many(lm, x, [original], options, progress, [map_fn])[0]


def cascading_randomisation_many(lm: LoadedModel, x: torch.Tensor, originals: Sequence[Attribution],
                                 options: SanityOptions = SanityOptions(), progress: Progress | None = None,
                                 map_fns: Sequence[MapFn | None] | None = None) -> list[SanityResult]:
    """`cascading_randomisation` of several maps of one image at once: one private copy, randomised once per
    stage and draw for all of them (the same seeded weights each check alone would draw), and at each stage
    the registered methods' maps from one `attribute_many` request per target and layer. Each result equals
    the one `cascading_randomisation` gives for that map alone (its `seconds`: its own share of the maps).
    `map_fns[i]`, where given, replaces the recomputation of originals[i]."""
    if isinstance(lm.model, torch.jit.ScriptModule):
        raise MethodUnavailable("The randomisation sanity check re-initialises the model's layers by name, which a "
                                "TorchScript model does not allow (load the architecture with its weights, or a "
                                "torch.export .pt2 file, instead).")
    map_fns = list(map_fns) if map_fns is not None else [None] * len(originals)
    if len(map_fns) != len(originals):
        raise ValueError(f"{len(map_fns)} map functions for {len(originals)} maps")
    randomiser = Randomiser(lm, options.seed)
    stages = [Stage(i, label, names) for i, (label, names) in enumerate(options.stages(randomiser.twin.model))]
    ranked = [RankedOriginal.of(original) for original in originals]
    methods = [i for i, fn in enumerate(map_fns) if fn is None]

    def maps_of(twin: LoadedModel) -> list[tuple[np.ndarray, float]]:
        out: list[tuple[np.ndarray, float]] = [(np.empty(0), 0.0)] * len(originals)
        computed = recompute_all(twin, x, [originals[i] for i in methods]) if methods else []
        for i, attribution in zip(methods, computed, strict=True):
            out[i] = (attribution.values, attribution.seconds)
        for i, fn in enumerate(map_fns):
            if fn is not None:
                began = time.perf_counter()
                out[i] = (fn(twin), time.perf_counter() - began)
        return out

    done: list[list[SanityStage]] = [[] for _ in originals]
    stopped = False
    try:
        for stage in stages:
            randomiser.randomise(stage.modules)
            if options.wanted(stage.index, len(stages)):
                for kept, result in zip(done, draw_stage(randomiser, maps_of, ranked, stage,
                                                         options.draws_at(stage.index)), strict=True):
                    kept.append(result)
            report(progress, (stage.index + 1) / len(stages))
    except Cancelled:
        stopped = True
    return [SanityResult(method=original.method, original=original.values, stages=tuple(kept), total_stages=len(stages),
                         reinit_seconds=randomiser.seconds, stopped=stopped, signed=original.signed)
            for original, kept in zip(originals, done, strict=True)]
