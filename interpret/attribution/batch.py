"""Maps of many images at once: batched passes within a memory budget, one target per image.

`attribute_batch(lm, xs, method, targets)` gives the same maps as `attribute()` called image by image
(up to float rounding of batched convolutions), with each forward + backward over many images (or, for
Integrated Gradients and the SmoothGrad family, many path points / noisy samples of several images).
Rows per pass: `batch_rows(lm)`, the activation bytes the model needs per image (its layers' output
sizes, forward and backward) into BATCH_MEMORY_BYTES or a quarter of the free memory, at most
MAX_BATCH_ROWS; a caller may set `batch_size`. Methods without a batched form (`batchable` False:
perturbation methods, DeepLIFT, Guided Backprop, ...) are computed one image at a time here.
"""
from __future__ import annotations

import time
import weakref
from collections.abc import Sequence
from typing import Any

import torch

from ..devices import free_memory
from ..errors import InterpretError
from ..limits import BATCH_MEMORY_BYTES, MAX_BATCH_ROWS
from ..models import LoadedModel
from ..models.static_batch import static_batch
from ..progress import Progress, report, scaled
from .base import Attribution, Context, attribute, prepare, result_of, to_input_resolution
from .target import Target

_PER_IMAGE: weakref.WeakKeyDictionary[LoadedModel, int] = weakref.WeakKeyDictionary()


def activation_bytes(lm: LoadedModel) -> int:
    """Bytes one image's forward + backward keeps alive: 3 x the outputs of the model's leaf modules (the
    output, what backward saves of it, its gradient), from interpret.layers' census at the model's input size."""
    if lm not in _PER_IMAGE:
        from ..layers import list_layers

        modules = dict(lm.model.named_modules()) if lm.hookable else {}
        total = 0
        for info in list_layers(lm):
            module = modules.get(info.name)
            if module is not None and next(module.children(), None) is None:
                numel = 1
                for side in info.output_shape:
                    numel *= int(side)
                total += numel * max(1, info.calls)
        element = next((p.element_size() for p in lm.model.parameters()), 4)
        _PER_IMAGE[lm] = max(1, 3 * total * element) if total else 0
    return _PER_IMAGE[lm]


def batch_rows(lm: LoadedModel, size: tuple[int, int] | None = None) -> int:
    """Rows (images) one batched forward + backward may hold on this model within the memory budget."""
    per_image = activation_bytes(lm)
    if not per_image:  # no census (a TorchScript model): the budget cannot be split, stay small
        return min(8, static_batch(lm.model) or 8)
    if size is not None:  # the census ran at the model's own input size
        crop = lm.preprocessing.crop_size
        native = (int(crop[0]), int(crop[1])) if isinstance(crop, (tuple, list)) else (int(crop), int(crop))
        per_image = int(per_image * (size[0] * size[1]) / max(1, native[0] * native[1]))
    free = free_memory(lm.device)
    budget = min(BATCH_MEMORY_BYTES, free // 4) if free else BATCH_MEMORY_BYTES
    return int(max(1, min(MAX_BATCH_ROWS, static_batch(lm.model) or MAX_BATCH_ROWS, budget // max(1, per_image))))


def _targets(targets: int | Target | Sequence[int | Target], count: int) -> list[int | Target]:
    if isinstance(targets, (int, Target)):
        return [targets] * count
    targets = list(targets)
    if len(targets) != count:
        raise InterpretError(f"{len(targets)} targets for {count} images: give one target per image, or one for all.")
    return targets


def attribute_batch(
    lm: LoadedModel,
    xs: torch.Tensor,
    method: str,
    targets: int | Target | Sequence[int | Target],
    layer: str | None = None,
    params: dict[str, Any] | None = None,
    progress: Progress | None = None,
    batch_size: int | None = None,
) -> list[Attribution]:
    """One map per image of `xs` (N x 3 x H x W, preprocessed), `targets` one per image or one for all.

    Each Attribution's `seconds` is its share of the batched passes it was computed in.
    """
    if xs.ndim != 4 or len(xs) == 0:
        raise InterpretError(f"attribute_batch expects a batch of images N x 3 x H x W, got shape {tuple(xs.shape)}.")
    count = len(xs)
    size = (int(xs.shape[-2]), int(xs.shape[-1]))
    given = _targets(targets, count)
    first = prepare(lm, size, method, given[0], layer, params)
    if not first.impl.batchable:
        out = []
        for i, target in enumerate(given):
            out.append(attribute(lm, xs[i:i + 1], method, target, layer=first.layer, params=params,
                                 progress=scaled(progress, i / count, (i + 1) / count)))
        return out
    rows = int(batch_size) if batch_size else batch_rows(lm, size)
    if rows < 1:
        raise InterpretError(f"batch_size must be at least 1, got {batch_size}.")
    rows = min(rows, static_batch(lm.model) or rows)  # a program exported for one image: captures see one row a call
    model_targets = [prepare(lm, size, method, t, layer, params).target if i else first.target for i, t in enumerate(given)]
    images = rows  # IG and the SmoothGrad family pack these images' path points / samples `rows` per pass
    results: list[Attribution] = []
    for start in range(0, count, images):
        stop = min(count, start + images)
        chunk = tuple(model_targets[start:stop])
        ctx = Context(lm=lm, x=lm.input_tensor(xs[start:stop]), target=chunk[0], layer=first.layer,
                      progress=scaled(progress, start / count, stop / count), row_targets=chunk, batch_rows=rows)
        began = time.perf_counter()
        maps = first.impl.compute_batch(ctx, **first.params)
        values = [to_input_resolution(m, size) for m in maps]
        share = (time.perf_counter() - began) / (stop - start)
        for i, v in enumerate(values):
            note, gap = ctx.row_checks[i] if ctx.row_checks is not None else ("", None)
            one = Context(lm=lm, x=ctx.x[i:i + 1], target=chunk[i], layer=first.layer, note=note, summation_gap=gap)
            results.append(result_of(lm, first, one, v, share))
    report(progress, 1.0)
    return results
