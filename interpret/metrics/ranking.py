"""Which pixels a map calls most relevant, in a reproducible order (ties broken by a seeded shuffle).

The metrics rank `interpret.signs.select(values, mode, np.float64)`: |map| by default (fair to signed
gradient maps), or one sign's part, or the signed values.
"""
from __future__ import annotations

import numpy as np


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
