"""Sign modes: which part of a signed map counts. The one function the renderer and the metrics share.

A map's sign means "for" or "against" the target; a display or a metric either keeps the signs
("signed"), folds them (|v|, "absolute"), or keeps one side as magnitudes ("positive", "negative").
"""
from __future__ import annotations

import numpy as np
from numpy.typing import DTypeLike

MODES = ("absolute", "positive", "negative", "signed")


def select(values: np.ndarray, mode: str = "absolute", dtype: DTypeLike | None = None) -> np.ndarray:
    """The map in sign mode `mode`: |v|, max(v, 0), max(-v, 0) or v, with NaN and inf made finite.

    `dtype` converts first (the metrics rank in float64; the renderer works in float32); None keeps
    the map's own dtype.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    values = np.nan_to_num(np.asarray(values, dtype=dtype))
    if mode == "absolute":
        return np.abs(values)
    if mode == "positive":
        return np.maximum(values, 0)
    if mode == "negative":
        return np.maximum(-values, 0)
    return values
