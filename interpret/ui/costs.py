"""Measured unit costs behind the estimates of background jobs: a forward + backward pass (a Gradient map, the
unit of most maps' estimates), a forward-only pass per image in batches (masked-image maps, faithfulness curves,
ROAD, a set's evaluation) and ROAD's linear imputation of one mask. Each is measured once per model (or image
size) and kept for the process, as are counts that take a pass to know (`measured`)."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
import torch

from ..attribution import Target, attribute
from ..images import InputImage
from ..metrics.road import impute_linear
from ..models import LoadedModel
from .answers import answer

T = TypeVar("T")
_measured: dict[Any, Any] = {}
_guard = threading.Lock()
PASS_SAMPLES = 3  # one timing on a busy machine was 6x the pass's real cost (1.9 s for 0.3 s): the least of three


def measured(key: Any, measure: Callable[[], T]) -> T:
    """`measure()` once per key for the process (a bounded table): a time, or a count that costs a pass."""
    with _guard:
        if key in _measured:
            return _measured[key]
    value = measure()
    with _guard:
        if len(_measured) > 256:
            _measured.clear()
        return _measured.setdefault(key, value)


def pass_seconds(lm: LoadedModel, image: InputImage) -> float:
    """Seconds of one forward + backward pass (a Gradient map) of this model on its device: the least of
    PASS_SAMPLES timings after a warm-up, measured once per model key."""
    def measure() -> float:
        x = lm.preprocessing.to_tensor(image.image)
        attribute(lm, x, "gradient", Target(0))  # the first pass pays for warm-up
        return min(attribute(lm, x, "gradient", Target(0)).seconds for _ in range(PASS_SAMPLES))

    return measured(("pass", lm.key), lambda: answer(lm, "pass-seconds", "timing one pass", measure))


def forward_seconds(lm: LoadedModel, x: torch.Tensor, rows: int = 8) -> float:
    """Seconds of one image's forward-only pass, in a batch of `rows` copies of `x` (1 x C x H x W, as the model
    takes it): the least of PASS_SAMPLES timings after a warm-up, measured once per model. Without a backward, and
    batched, it is several times cheaper than the forward + backward pass of a map."""
    def timed(batch: torch.Tensor) -> float:
        start = time.perf_counter()
        lm.model(batch)
        return time.perf_counter() - start

    def measure() -> float:
        batch = lm.input_tensor(x[:1]).expand(rows, *x.shape[1:])
        with torch.inference_mode():
            lm.model(batch)  # warm-up
            return min(timed(batch) for _ in range(PASS_SAMPLES)) / rows

    return measured(("forward", lm.key, tuple(x.shape[1:])),
                    lambda: answer(lm, f"forward-seconds|{tuple(x.shape[1:])}", "timing a batch", measure))


def imputation_seconds(shape: tuple[int, int]) -> float:
    """Seconds of ROAD's linear imputation of one mask removing half of the pixels (a centred disc, as a smooth
    map's top half is), measured once per image size."""
    def measure() -> float:
        height, width = shape
        yy, xx = np.mgrid[:height, :width]
        radius = (yy - height / 2) ** 2 + (xx - width / 2) ** 2
        start = time.perf_counter()
        impute_linear(np.zeros((3, height, width)), radius < np.median(radius), noise=0.0)
        return time.perf_counter() - start

    return measured(("impute", shape), measure)
