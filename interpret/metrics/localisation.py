"""Does the map point at the object? Scores against a known object mask (ground truth).

Pointing game (Zhang et al. 2016), AUROC of the map as a pixel classifier of the mask, and the
relevance rank and mass accuracies of Arras et al. 2022 (CLEVR-XAI).
"""
from __future__ import annotations

import numpy as np
from scipy.ndimage import distance_transform_edt
from scipy.stats import rankdata

from ..signs import select
from .ranking import pixel_order


def _mask(mask: np.ndarray) -> np.ndarray:
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        raise ValueError("the object mask is empty")
    return mask


def pointing_game(values: np.ndarray, mask: np.ndarray, tolerance: float = 0.0, mode: str = "absolute") -> bool:
    """A hit when the map's maximum lies within `tolerance` pixels of the object (0 = on it)."""
    mask = _mask(mask)
    rel = select(values, mode, np.float64)
    y, x = np.unravel_index(int(np.argmax(rel)), rel.shape)
    return bool(distance_transform_edt(~mask)[y, x] <= tolerance)


def auroc(values: np.ndarray, mask: np.ndarray, mode: str = "absolute") -> float:
    """Probability that a random object pixel outranks a random background pixel (ties count 1/2)."""
    mask = _mask(mask).ravel()
    positives, negatives = int(mask.sum()), int((~mask).sum())
    if negatives == 0:
        raise ValueError("the object mask covers the whole image")
    ranks = rankdata(select(values, mode, np.float64).ravel())
    return float((ranks[mask].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def rank_accuracy(values: np.ndarray, mask: np.ndarray, mode: str = "absolute", seed: int = 0) -> float:
    """Share of the K most relevant pixels that lie on the object, K = the object's size."""
    mask = _mask(mask).ravel()
    top = pixel_order(select(values, mode, np.float64), seed)[: int(mask.sum())]
    return float(mask[top].mean())


def mass_accuracy(values: np.ndarray, mask: np.ndarray, mode: str = "absolute") -> float:
    """Share of the (positive) relevance that falls on the object; 0 for an all-zero map."""
    mask = _mask(mask)
    rel = np.maximum(select(values, mode, np.float64), 0)
    total = float(rel.sum())
    return float(rel[mask].sum() / total) if total > 0 else 0.0
