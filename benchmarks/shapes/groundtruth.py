"""The ground-truth protocol: every map of every method scored against known object masks.

Used by benchmarks/quality.py (full size, two seeds) and by tests/test_quality_regression.py (reduced). Each
image is scored by the same metrics for the registered methods and for reference maps (random,
centre, Sobel and the true mask), so every metric is checked against maps whose score is known.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch

from interpret.attribution import REGISTRY, Attribution, attribute
from interpret.metrics import (
    FaithfulnessProbe,
    auroc,
    centre_map,
    mass_accuracy,
    pointing_game,
    random_map,
    rank_accuracy,
    sobel_map,
)
from interpret.metrics.faithfulness import DEFAULT_STEPS
from interpret.metrics.road import PERCENTILES, road
from interpret.metrics.sanity import SanityOptions, cascading_randomisation
from interpret.models import LoadedModel
from interpret.progress import Progress, report

from .synthetic import ShapesData

REFERENCES = ("random", "centre", "sobel", "mask")
COLUMNS = ("pointing_3px", "pointing_exact", "auroc", "rank", "mass", "insertion", "deletion", "road",
           "rand_top", "rand_all")
TOLERANCE = 3.0
# Occlusion's default window (32 px of a 224 px photo) would cover most of a 48 px image: keep its proportion.
SMALL_IMAGE_PARAMS = {"occlusion": {"window": 8, "stride": 4}}


@dataclass
class MethodScores:
    """Per-image metric values of one method (or reference map), averaged on demand."""

    name: str
    values: dict[str, list[float]] = field(default_factory=lambda: {c: [] for c in COLUMNS})
    seconds: float = 0.0

    def add(self, column: str, value: float) -> None:
        self.values[column].append(float(value))

    def mean(self, column: str) -> float:
        v = self.values[column]
        return float(np.mean(v)) if v else float("nan")

    def row(self) -> dict[str, float]:
        return {c: self.mean(c) for c in COLUMNS}


def reference_map(name: str, pixels: np.ndarray, mask: np.ndarray, seed: int) -> np.ndarray:
    if name == "random":
        return random_map(mask.shape, seed)
    if name == "centre":
        return centre_map(mask.shape)
    if name == "sobel":
        return sobel_map(pixels)
    return mask.astype(np.float32)


def correctly_classified(lm: LoadedModel, data: ShapesData, count: int) -> np.ndarray:
    """Indices of the first `count` test images the model gets right."""
    with torch.inference_mode():
        predicted = lm.model(lm.preprocessing.normalize(data.images)).argmax(1).numpy()
    return np.nonzero(predicted == data.labels)[0][:count]


def evaluate(lm: LoadedModel, data: ShapesData, methods: list[str] | None = None, images: int = 150,
             sanity_images: int = 40, steps: int = DEFAULT_STEPS, percentiles: tuple[int, ...] = PERCENTILES,
             progress: Progress | None = None) -> dict[str, MethodScores]:
    """Score every method and reference map on the first `images` correctly classified images."""
    methods = list(REGISTRY) if methods is None else methods
    chosen = correctly_classified(lm, data, images)
    results = {name: MethodScores(name) for name in [*methods, *REFERENCES]}
    for n, i in enumerate(chosen):
        pixels, mask, label = data.images[i], data.masks[i], int(data.labels[i])
        x = lm.preprocessing.normalize(pixels)
        probe = FaithfulnessProbe(lm, x)
        maps: dict[str, np.ndarray] = {}
        originals: dict[str, Attribution] = {}
        for name in methods:
            t0 = time.perf_counter()
            originals[name] = attribute(lm, x, name, label, params=SMALL_IMAGE_PARAMS.get(name))
            results[name].seconds += time.perf_counter() - t0
            maps[name] = originals[name].values
        for name in REFERENCES:
            maps[name] = reference_map(name, pixels, mask, seed=int(i))
        for name, values in maps.items():
            scores = results[name]
            scores.add("pointing_3px", pointing_game(values, mask, TOLERANCE))
            scores.add("pointing_exact", pointing_game(values, mask, 0.0))
            scores.add("auroc", auroc(values, mask))
            scores.add("rank", rank_accuracy(values, mask))
            scores.add("mass", mass_accuracy(values, mask))
            deletion, insertion = probe.curves(values, steps)
            scores.add("deletion", deletion.auc)
            scores.add("insertion", insertion.auc)
            scores.add("road", road(probe, values, percentiles, seed=int(i)).combined)
        if n < sanity_images:
            for name, values in maps.items():
                original = originals.get(name) or Attribution(name, label, "", (), values, False, 0.0)
                map_fn = None if name in originals else (lambda twin, v=values: v)
                result = cascading_randomisation(lm, x, original, SanityOptions(seed=int(i), only=(0, -1)), map_fn=map_fn)
                results[name].add("rand_top", result.stages[0].spearman_abs)
                results[name].add("rand_all", result.stages[-1].spearman_abs)
        report(progress, (n + 1) / len(chosen))
    return results

