"""Cascading model-parameter randomisation (Adebayo et al. 2018, "Sanity Checks for Saliency Maps").

The classifier is re-initialised first, then each block down to the first layer, cumulatively, on
a private deep copy of the model (the shared one is never touched). After each stage the same map is
recomputed and compared with the original: a map that still looks the same once the top layers are
random does not depend on what the model learned there, and is flagged.
"""
from __future__ import annotations

import dataclasses
import threading
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import nn

from ..attribution import REGISTRY, Attribution, Target, attribute
from ..models import LoadedModel
from ..models.loaded import private_model
from .similarity import ranks, spearman_of_ranks, ssim

Progress = Callable[[float], None]
SIMILAR = 0.5  # Spearman at or above this once the top layers are random: the map did not change
TOP_STAGES = 1  # the verdict looks at the map once this many stages (from the classifier down) are random
# Random classifiers drawn for the verdict's stage; the verdict reads their median. One draw is a coin
# toss for CAMs: a CAM is linear in the classifier row, and a random row whose projection on the
# channels' shared "object energy" is positive gives back nearly the original map (EfficientNet-Lite0,
# coffee photo: Grad-CAM's Spearman over six single draws ranged from -0.42 to 0.92).
TOP_DRAWS = 3
CONTAINERS = (nn.Sequential, nn.ModuleList)


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
        caveat; their signs do not. On the synthetic shapes (12 images, classifier random) Gradient, IG
        and SmoothGrad fall to 0.03-0.12 signed (0.26-0.50 absolute) while Guided Backprop stays at 0.88
        and Guided Grad-CAM at 0.62.)
        """
        return self.spearman_signed if signed else self.spearman_abs


@dataclass(frozen=True)
class SanityResult:
    method: str
    original: np.ndarray
    stages: tuple[SanityStage, ...]
    total_stages: int
    reinit_seconds: float
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
    def verdict(self) -> str:
        """'passes' (the map changes once the top layers are random), 'flagged' or 'incomplete'."""
        top = self.top
        if top is None:
            return "incomplete"
        return "flagged" if self.similarity(top) >= SIMILAR else "passes"

    def explain(self) -> str:
        top = self.top
        if top is None:
            return "Stopped before the top layers were randomised."
        spread = (f" (median of {len(top.draws)} random draws, {min(top.draws):.2f} to {max(top.draws):.2f})"
                  if len(top.draws) > 1 else "")
        if self.verdict == "flagged":
            why = (" A CAM is the layer's channels weighted by the class: when the channels share one spatial pattern,"
                   " random weights give it back, so the map shows where the layer is active more than what the class"
                   " needs." if getattr(REGISTRY.get(self.method), "family", "") == "cam" else "")
            return (f"Flagged: with {top.name} re-initialised the map keeps a rank correlation of {self.similarity(top):.2f}"
                    f"{spread} with the original, so it barely depends on what the model learned there.{why}")
        return (f"Passes: with {top.name} re-initialised the map's rank correlation with the original drops to "
                f"{self.similarity(top):.2f}{spread}.")


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
            if norm and hasattr(sub, "reset_running_stats"):
                sub.reset_running_stats()


def both_ranks(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ranks of |map| and of the signed map; one sort when the map has no negative value."""
    absolute = ranks(values, True)
    return absolute, (absolute if np.min(values) >= 0 else ranks(values, False))


def private_copy(lm: LoadedModel) -> LoadedModel:
    """A deep copy of the model in its own LoadedModel (own lock), frozen and in eval mode."""
    return dataclasses.replace(lm, model=private_model(lm), lock=threading.RLock())


def cascading_randomisation(
    lm: LoadedModel,
    x: torch.Tensor,
    original: Attribution,
    seed: int = 0,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
    max_stages: int | None = None,
    only: tuple[int, ...] | None = None,
    granularity: str = "block",
    map_fn: Callable[[LoadedModel], np.ndarray] | None = None,
    draws: int = TOP_DRAWS,
) -> SanityResult:
    """Recompute `original` (same method, target, layer, params) after each randomisation stage.

    `only` (stage indices, -1 = the last) limits which stages get a map (the others are still
    randomised, cumulatively); `map_fn(model)` replaces `attribute` for maps that are not a
    registered method (the reference maps of the benchmarks). The verdict's stage is drawn `draws`
    times and keeps the draw of median similarity (the stages below build on the last draw).
    """
    progress = progress or (lambda fraction: None)
    should_stop = should_stop or (lambda: False)
    start = time.perf_counter()
    twin = private_copy(lm)
    stages = randomisation_stages(twin.model, granularity)
    if max_stages is not None:
        stages = stages[:max_stages]
    generator = torch.Generator().manual_seed(seed)
    target = Target(original.target, original.objective, original.contrast)
    reinit_seconds = time.perf_counter() - start
    wanted = None if only is None else {i % len(stages) for i in only}
    original_abs, original_signed = both_ranks(original.values)  # ranked once

    def reinitialise_all(names: tuple[str, ...]) -> None:
        nonlocal reinit_seconds
        t0 = time.perf_counter()
        for name in names:
            reinitialise(twin.model.get_submodule(name), generator)
        reinit_seconds += time.perf_counter() - t0

    def compare(index: int, label: str, names: tuple[str, ...]) -> SanityStage:
        t0 = time.perf_counter()
        if map_fn is not None:
            values = map_fn(twin)
        else:
            values = attribute(twin, x, original.method, target, layer=original.layer, params=dict(original.params)).values
        absolute, signed = both_ranks(values)
        return SanityStage(
            index=index, name=label, modules=names, values=values,
            spearman_abs=spearman_of_ranks(original_abs, absolute),
            spearman_signed=spearman_of_ranks(original_signed, signed),
            ssim=ssim(original.values, values), seconds=time.perf_counter() - t0,
        )

    done: list[SanityStage] = []
    stopped = False
    for i, (label, names) in enumerate(stages):
        if should_stop():
            stopped = True
            break
        reinitialise_all(names)
        if wanted is not None and i not in wanted:
            continue
        stage = compare(i, label, names)
        if i == TOP_STAGES - 1 and draws > 1:
            tried = [stage]
            for _ in range(draws - 1):
                reinitialise_all(names)
                tried.append(compare(i, label, names))
            stage = dataclasses.replace(sorted(tried, key=lambda t: t.similarity(original.signed))[len(tried) // 2],
                                        seconds=sum(t.seconds for t in tried),
                                        draws=tuple(t.similarity(original.signed) for t in tried))
        done.append(stage)
        progress((i + 1) / len(stages))
    return SanityResult(method=original.method, original=original.values, stages=tuple(done), total_stages=len(stages),
                        reinit_seconds=reinit_seconds, stopped=stopped, signed=original.signed)
