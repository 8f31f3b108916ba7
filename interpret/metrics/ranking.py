"""Which pixels a map calls most relevant, in a reproducible order (ties broken by a seeded shuffle)."""
from __future__ import annotations

import numpy as np

RELEVANCE_MODES = ("absolute", "positive", "signed")


def relevance(values: np.ndarray, mode: str = "absolute") -> np.ndarray:
    """The per-pixel relevance a metric ranks by: |map| (default, fair to signed gradient maps),
    its positive part, or the signed values themselves."""
    values = np.nan_to_num(np.asarray(values, dtype=np.float64))
    if mode == "absolute":
        return np.abs(values)
    if mode == "positive":
        return np.maximum(values, 0)
    if mode == "signed":
        return values
    raise ValueError(f"mode must be one of {RELEVANCE_MODES}")


def pixel_order(values: np.ndarray, seed: int = 0) -> np.ndarray:
    """Flat pixel indices, most relevant first. Equal values come in a seeded random order, so a
    constant map removes pixels at random rather than row by row from the top."""
    flat = np.asarray(values, dtype=np.float64).ravel()
    tie_break = np.random.default_rng(seed).random(flat.size)
    return np.lexsort((tie_break, -flat))


def pixel_rank(values: np.ndarray, seed: int = 0) -> np.ndarray:
    """H x W rank of each pixel in `pixel_order` (0 = most relevant)."""
    order = pixel_order(values, seed)
    rank = np.empty(order.size, dtype=np.int64)
    rank[order] = np.arange(order.size)
    return rank.reshape(np.shape(values))
