"""Measured unit costs behind the estimates of background jobs that are not maps (ui/maps.py's `pass_seconds`
times a forward + backward pass): a forward-only pass per image in batches (faithfulness curves, ROAD, a set's
evaluation) and ROAD's linear imputation of one mask. Each is measured once per model (or image size) and kept
for the process."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from ..metrics.road import impute_linear
from ..models import LoadedModel

_times: dict[Any, float] = {}
_guard = threading.Lock()


def measured(key: Any, measure: Callable[[], float]) -> float:
    """`measure()` once per key for the process (a bounded table)."""
    with _guard:
        if key in _times:
            return _times[key]
    seconds = measure()
    with _guard:
        if len(_times) > 128:
            _times.clear()
        return _times.setdefault(key, seconds)


def forward_seconds(lm: LoadedModel, x: torch.Tensor, rows: int = 8) -> float:
    """Seconds of one image's forward-only pass, in a batch of `rows` copies of `x` (1 x C x H x W, as the model
    takes it): measured once per model after a warm-up. Without a backward, and batched, it is several times
    cheaper than the forward + backward pass of a map."""
    def measure() -> float:
        batch = lm.input_tensor(x[:1]).expand(rows, *x.shape[1:])
        with torch.inference_mode():
            lm.model(batch)  # warm-up
            start = time.perf_counter()
            lm.model(batch)
        return (time.perf_counter() - start) / rows

    return measured(("forward", lm.key, tuple(x.shape[1:])), measure)


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
