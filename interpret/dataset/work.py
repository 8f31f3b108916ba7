"""One shard's rows from its images: decode, predict, explain, reduce, and (when asked) score. Both engines run
exactly this, on the same shards, so they give the same rows.

Maps of a method without randomness are computed for the shard's images in batched passes (attribute_batch);
a method with a `seed` (SmoothGrad, RISE, noise baselines, ...) runs image by image with a seed derived from
the image's id, so its map is the same whatever the engine, batch or worker.
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ..attribution import REGISTRY, Attribution, Target, attribute
from ..attribution.base import chosen_layer
from ..attribution.batch import attribute_batch, batch_rows
from ..attribution.forward import planned_forward, recorded_forward
from ..attribution.planner import SHARED_PASS
from ..capture import capture
from ..errors import InterpretError, first_line
from ..images import decode_image
from ..limits import DATASET_MAP_SIDE, DATASET_SHARD_IMAGES
from ..metrics import FaithfulnessProbe
from ..metrics.road import road
from ..mistakes.labels import match_labels
from ..models import LoadedModel
from .channels import channel_maxima, channels_layer
from .listing import Item
from .stats import low_resolution, map_stats

TARGET_KINDS = ("predicted", "label", "both", "contrast")
SCORE_STEPS = 14  # deletion / insertion steps per map when scores are asked (as the quality benchmark's)


@dataclass(frozen=True)
class RunSettings:
    """What a run computes for every image: methods and their parameters, targets, and what each row keeps."""

    methods: tuple[str, ...]
    params: dict[str, dict[str, Any]] = field(default_factory=dict)  # per method, resolved (every parameter named)
    targets: str = "predicted"  # predicted, label, both, contrast (why the label rather than the prediction) or a class
    objective: str = "logit"
    layer: str | None = None
    scores: bool = False
    full_maps: bool = False
    top_k: int = 5
    shard_images: int = DATASET_SHARD_IMAGES
    map_side: int = DATASET_MAP_SIDE
    channels: str | None = None  # a layer whose per-channel maxima each image keeps (`channel_max`)

    def describe(self) -> dict:
        """The settings as the manifest records them (`channels` only when asked: a store made before it existed
        resumes with the same manifest)."""
        return {"methods": list(self.methods), "params": {m: self.params.get(m, {}) for m in self.methods},
                "targets": self.targets, "objective": self.objective, "layer": self.layer, "scores": self.scores,
                "score_steps": SCORE_STEPS if self.scores else None, "full_maps": self.full_maps, "top_k": self.top_k,
                "shard_images": self.shard_images, "map_side": self.map_side,
                **({"channels": self.channels} if self.channels else {})}


def seed_of(item_id: str, seed: int) -> int:
    """The seed of one image's noise: its id (hex) mixed with the run's seed, in torch's range."""
    return (int(item_id[:8], 16) + int(seed)) % 2**31


def uses_seed(method: str) -> bool:
    return any(p.name == "seed" for p in REGISTRY[method].params)


def forward_plan(lm: LoadedModel, settings: RunSettings) -> tuple[bool, tuple[str, ...]]:
    """What each batch's one forward pass keeps for the run's methods (forward.planned_forward's arguments): the
    input's gradient for Gradient and Gradient x Input, the layer of the gradient CAMs."""
    kinds = {m: SHARED_PASS.get(m) for m in settings.methods}
    layers = tuple(dict.fromkeys(chosen_layer(lm, REGISTRY[m], settings.layer) for m, kind in kinds.items()
                                 if kind == "layer-gradient"))
    return "input-gradient" in kinds.values(), tuple(layer for layer in layers if layer is not None)


Decoded = tuple[Item, np.ndarray | None, str | None]  # the item, its model-view pixels (HxWx3 uint8) or its error


def decode_items(items: list[Item], read: Callable[[str], bytes], lm_view: Callable[[Any], np.ndarray]) -> list[Decoded]:
    """Each item's model-view pixels, or its one-line error (a file that is not an image, too large, unreadable)."""
    out: list[Decoded] = []
    for item in items:
        try:
            out.append((item, lm_view(decode_image(read(item.path), item.path)), None))
        except InterpretError as exc:
            out.append((item, None, " ".join(str(exc).split())))
        except Exception as exc:  # noqa: BLE001 - a decoder's own failure on a hostile file is that row's error
            out.append((item, None, f"{type(exc).__name__}: {first_line(exc)}"))
    return out


class ShardWork:
    """The rows of a shard for one model and settings (labels matched to the model's classes once)."""

    def __init__(self, lm: LoadedModel, settings: RunSettings, labels: list[str | None]):
        self.lm, self.settings = lm, settings
        match = match_labels((label for label in labels if label is not None), lm.class_names)
        self.label_index = dict(match.indices)
        self.channels = channels_layer(lm, settings.channels) if settings.channels else None
        self.plan = forward_plan(lm, settings)

    def rows(self, decoded: list[Decoded]) -> tuple[list[dict], np.ndarray | None]:
        """Every row of the shard, and its full-resolution maps (float16, in the order of `full_map`) when asked."""
        good = [(item, pixels) for item, pixels, error in decoded if pixels is not None]
        rows = [self._error_row(item, error, method) for item, _, error in decoded if error is not None
                for method in self.settings.methods]
        full: list[np.ndarray] = []
        if good:
            x = self.lm.preprocessing.normalize(np.stack([pixels for _, pixels in good]))
            per_pass = batch_rows(self.lm, (int(x.shape[-2]), int(x.shape[-1])))
            for start in range(0, len(good), per_pass):
                items = [item for item, _ in good[start:start + per_pass]]
                rows += self._batch_rows(items, x[start:start + per_pass], per_pass, full)
        order = {item.id: i for i, (item, _, _) in enumerate(decoded)}
        rows.sort(key=lambda r: (order[r["image_id"]], self.settings.methods.index(r["method"])))
        return rows, (np.stack(full) if full else None) if self.settings.full_maps else None

    def _batch_rows(self, items: list[Item], x: torch.Tensor, per_pass: int, full: list) -> list[dict]:
        """The rows of one batch of images (at most one pass's rows): their prediction and their maps share the
        batch's forward pass (forward.planned_forward), released when the batch is done."""
        with planned_forward(*self.plan):
            predictions, maxima = self._predicted(x)
            rows = [row for method in self.settings.methods
                    for row in self._method_rows(method, items, x, predictions, per_pass, full)]
        return keep_maxima(rows, items, maxima)

    def _predicted(self, x: torch.Tensor) -> tuple[list[tuple[list[int], list[float]]], np.ndarray | None]:
        """`_predict(x)`, and the maxima of the `channels` layer's channels (N x C) captured in that same forward pass
        (through the one capture mechanism; a clone, the pass's graph untouched), or None when not asked."""
        if self.channels is None:
            return self._predict(x), None
        name = self.channels.name
        with self.lm.lock, capture(self.lm.model, [name], keep="clone") as got:
            predictions = self._predict(x)
        if name not in got:
            raise InterpretError(f"The layer '{name}' did not produce a tensor in the forward pass.")
        return predictions, channel_maxima(self.channels, got[name])

    def _predict(self, x: torch.Tensor) -> list[tuple[list[int], list[float]]]:
        k = max(1, min(self.settings.top_k, self.lm.num_classes))
        logits = recorded_forward(self.lm, self.lm.input_tensor(x), *self.plan).logits
        with torch.no_grad():
            top_prob, top_index = self.lm.probabilities(logits.detach()).topk(k, dim=1)
        return [(i.tolist(), p.tolist()) for i, p in zip(top_index.cpu(), top_prob.cpu(), strict=True)]

    def targets_of(self, item: Item, top: list[int]) -> list[tuple[str, Target | str]]:
        """(kind, Target) for each row of the image, or (kind, why not) where its label gives no target."""
        kind, objective, predicted = self.settings.targets, self.settings.objective, top[0]
        if kind not in TARGET_KINDS:
            return [("class", Target(int(kind), objective))]
        out: list[tuple[str, Target | str]] = []
        if kind in ("predicted", "both"):
            out.append(("predicted", Target(predicted, objective)))
        if kind in ("label", "both", "contrast"):
            label = self.label_index.get(item.label) if item.label is not None else None
            if label is None:
                why = "the image has no label" if item.label is None else f"its label '{item.label}' matches no class"
                out.append((kind if kind != "both" else "label", f"No {kind} target: {why}."))
            elif kind == "contrast":
                other = predicted if predicted != label else (top[1] if len(top) > 1 else label)
                out.append(("contrast", Target(label, objective, contrast=other) if other != label else
                            "No contrast target: the model has one class."))
            else:
                out.append(("label", Target(label, objective)))
        return out

    def _method_rows(self, method: str, items: list[Item], x: torch.Tensor, predictions: list, per_pass: int,
                     full: list) -> list[dict]:
        params = self.settings.params.get(method, {})
        wanted = [(i, kind, t) for i, item in enumerate(items) for kind, t in self.targets_of(item, predictions[i][0])]
        rows = [self._row(items[i], predictions[i], method, kind, error=t) for i, kind, t in wanted if isinstance(t, str)]
        jobs = [(i, kind, t) for i, kind, t in wanted if isinstance(t, Target)]
        if not jobs:
            return rows
        unique = list(dict.fromkeys((i, t) for i, _, t in jobs))  # a correct image's label and prediction: one map
        began = time.perf_counter()
        try:
            maps = self._maps(method, [items[i] for i, _ in unique], x[[i for i, _ in unique]], [t for _, t in unique],
                              params, per_pass)
        except InterpretError as exc:
            return rows + [self._row(items[i], predictions[i], method, kind, error=" ".join(str(exc).split()))
                           for i, kind, _ in jobs]
        share = (time.perf_counter() - began) / len(unique)
        by_job = dict(zip(unique, maps, strict=True))
        for i, kind, target in jobs:
            rows.append(self._map_row(items[i], predictions[i], method, kind, target, by_job[(i, target)], x[i:i + 1],
                                      share, full))
        return rows

    def _maps(self, method: str, items: list[Item], xs: torch.Tensor, targets: list[Target],
              params: dict[str, Any], per_pass: int) -> list[Attribution]:
        layer = self.settings.layer if REGISTRY[method].uses_layer else None
        if not uses_seed(method):
            return attribute_batch(self.lm, xs, method, targets, layer=layer, params=params, batch_size=per_pass)
        return [attribute(self.lm, xs[j:j + 1], method, targets[j], layer=layer,
                          params={**params, "seed": seed_of(item.id, params.get("seed", 0))})
                for j, item in enumerate(items)]

    def _scores(self, x: torch.Tensor, target: Target, values: np.ndarray) -> tuple[float, float, float]:
        probe = FaithfulnessProbe(self.lm, x, target=target.index, contrast=target.contrast)
        deletion, insertion = probe.curves(values, SCORE_STEPS)
        return deletion.auc, insertion.auc, road(probe, values).combined

    def _map_row(self, item: Item, prediction: tuple, method: str, kind: str, target: Target, a: Attribution,
                 x: torch.Tensor, seconds: float, full: list) -> dict:
        small = low_resolution(a.values, self.settings.map_side)
        stats = map_stats(a.values, small)
        row = self._row(item, prediction, method, kind)
        row.update(target=target.index, target_label=self.lm.label(target.index), contrast=target.contrast,
                   objective=target.objective, layer=a.layer, params=json.dumps(dict(a.params), sort_keys=True),
                   seed=dict(a.params).get("seed"), map=small.tobytes(), map_side=self.settings.map_side,
                   seconds=seconds, **{k: getattr(stats, k) for k in stats.__dataclass_fields__})
        if self.settings.scores:
            row["deletion_auc"], row["insertion_auc"], row["road"] = self._scores(x, target, a.values)
        if self.settings.full_maps:
            row["full_map"] = len(full)
            full.append(a.values.astype(np.float16))
        return row

    def _row(self, item: Item, prediction: tuple, method: str, kind: str | None = None, error: str | None = None) -> dict:
        top, probs = prediction
        label = self.label_index.get(item.label) if item.label is not None else None
        return {"image_id": item.id, "path": item.path, "label": item.label, "label_index": label,
                "predicted": top[0], "predicted_label": self.lm.label(top[0]), "probability": probs[0],
                "top_indices": top, "top_probabilities": probs, "correct": None if label is None else top[0] == label,
                "method": method, "params": json.dumps(self.settings.params.get(method, {}), sort_keys=True),
                "target_kind": kind, "error": error}

    def _error_row(self, item: Item, error: str | None, method: str) -> dict:
        return {"image_id": item.id, "path": item.path, "label": item.label, "method": method,
                "params": json.dumps(self.settings.params.get(method, {}), sort_keys=True), "error": error}


def keep_maxima(rows: list[dict], items: list[Item], maxima: np.ndarray | None) -> list[dict]:
    """`rows` with each image's channel maxima on its first row only (its other rows would repeat them)."""
    if maxima is None:
        return rows
    first: dict[str, dict] = {}
    for row in rows:
        first.setdefault(row["image_id"], row)
    for item, values in zip(items, maxima, strict=True):
        first[item.id]["channel_max"] = values.tolist()
    return rows
