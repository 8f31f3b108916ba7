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

from interpret.attribution import REGISTRY, Attribution, attribute, get_method
from interpret.attribution.batch import attribute_batch
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
from interpret.metrics.sanity import SanityOptions, cascading_randomisation_many
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


def method_maps(lm: LoadedModel, data: ShapesData, chosen: np.ndarray, methods: list[str],
                results: dict[str, MethodScores], timings: dict[str, float]) -> list[dict[str, Attribution]]:
    """Every method's map of every chosen image: methods with a batched form over all images at once
    (attribute_batch, one target per image), the others image by image."""
    xs = lm.preprocessing.normalize(data.images[chosen])
    labels = [int(data.labels[i]) for i in chosen]
    maps: list[dict[str, Attribution]] = [{} for _ in chosen]
    for name in methods:
        t0 = time.perf_counter()
        params = SMALL_IMAGE_PARAMS.get(name)
        if get_method(name).batchable:
            for per_image, attribution in zip(maps, attribute_batch(lm, xs, name, labels, params=params), strict=True):
                per_image[name] = attribution
        else:
            for n, per_image in enumerate(maps):
                per_image[name] = attribute(lm, xs[n:n + 1], name, labels[n], params=params)
        seconds = time.perf_counter() - t0
        results[name].seconds += seconds
        timings[f"map:{name}"] = timings.get(f"map:{name}", 0.0) + seconds
    return maps


def _timed(timings: dict[str, float], part: str, start: float) -> None:
    timings[part] = timings.get(part, 0.0) + time.perf_counter() - start


def evaluate(lm: LoadedModel, data: ShapesData, methods: list[str] | None = None, images: int = 150,
             sanity_images: int = 40, steps: int = DEFAULT_STEPS, percentiles: tuple[int, ...] = PERCENTILES,
             progress: Progress | None = None, timings: dict[str, float] | None = None) -> dict[str, MethodScores]:
    """Score every method and reference map on the first `images` correctly classified images.

    `timings`, where given, receives the seconds of each part: "map:<method>" (the maps of the scored
    images), "localisation", "curves" (deletion and insertion), "road" and "sanity:<method>" (each
    map's share of the randomisation checks) and "sanity" (all of them)."""
    methods = list(REGISTRY) if methods is None else methods
    timings = {} if timings is None else timings
    chosen = correctly_classified(lm, data, images)
    results = {name: MethodScores(name) for name in [*methods, *REFERENCES]}
    all_maps = method_maps(lm, data, chosen, methods, results, timings)
    for n, i in enumerate(chosen):
        pixels, mask, label = data.images[i], data.masks[i], int(data.labels[i])
        x = lm.preprocessing.normalize(pixels)
        probe = FaithfulnessProbe(lm, x)
        originals = all_maps[n]
        maps: dict[str, np.ndarray] = {name: originals[name].values for name in methods}
        for name in REFERENCES:
            maps[name] = reference_map(name, pixels, mask, seed=int(i))
        for name, values in maps.items():
            scores = results[name]
            t0 = time.perf_counter()
            scores.add("pointing_3px", pointing_game(values, mask, TOLERANCE))
            scores.add("pointing_exact", pointing_game(values, mask, 0.0))
            scores.add("auroc", auroc(values, mask))
            scores.add("rank", rank_accuracy(values, mask))
            scores.add("mass", mass_accuracy(values, mask))
            t1 = time.perf_counter()
            _timed(timings, "localisation", t0)
            deletion, insertion = probe.curves(values, steps)
            scores.add("deletion", deletion.auc)
            scores.add("insertion", insertion.auc)
            t2 = time.perf_counter()
            _timed(timings, "curves", t1)
            scores.add("road", road(probe, values, percentiles, seed=int(i)).combined)
            _timed(timings, "road", t2)
        if n < sanity_images:
            t0 = time.perf_counter()
            checked = [originals.get(name) or Attribution(name, label, "", (), values, False, 0.0)
                       for name, values in maps.items()]
            map_fns = [None if name in originals else (lambda twin, v=values: v) for name, values in maps.items()]
            checks = cascading_randomisation_many(lm, x, checked, SanityOptions(seed=int(i), only=(0, -1)), map_fns=map_fns)
            for name, result in zip(maps, checks, strict=True):
                results[name].add("rand_top", result.stages[0].spearman_abs)
                results[name].add("rand_all", result.stages[-1].spearman_abs)
                key = f"sanity:{name}"
                timings[key] = timings.get(key, 0.0) + sum(stage.seconds for stage in result.stages)
            _timed(timings, "sanity", t0)
        report(progress, (n + 1) / len(chosen))
    return results
