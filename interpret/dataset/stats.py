"""A map reduced to what a dataset view needs: a low-resolution copy and where its mass lies.

The mass of a map is its absolute value (a signed map's evidence for and against counts alike), normalised to
sum to 1. Statistics: the peak's position (row and column as fractions of the side, 0 at the top left), the share
of the mass in the centre (the middle half of each side), on the border (the outer tenth of each side), in the
top 10 % of pixels, and the entropy of the low-resolution mass (0: one pixel holds everything, 1: spread evenly).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

BORDER = 0.1  # the outer tenth of each side
CENTRE = 0.25  # the centre box starts a quarter in from each side
TOP_SHARE = 0.1  # the top 10 % of pixels


@dataclass(frozen=True)
class MapStats:
    peak_row: float
    peak_col: float
    centre_share: float
    border_share: float
    top10_share: float
    entropy: float


def low_resolution(values: np.ndarray, side: int) -> np.ndarray:
    """The map averaged down to `side` x `side` (area averaging; a smaller map is resized up bilinearly), float16."""
    x = torch.from_numpy(np.ascontiguousarray(values, np.float32))[None, None]
    if x.shape[-2] >= side and x.shape[-1] >= side:
        small = F.adaptive_avg_pool2d(x, side)
    else:
        small = F.interpolate(x, size=(side, side), mode="bilinear", align_corners=False)
    return small[0, 0].numpy().astype(np.float16)


def _share(mass: np.ndarray, rows: slice, cols: slice) -> float:
    return float(mass[rows, cols].sum())


def map_stats(values: np.ndarray, small: np.ndarray) -> MapStats:
    """The statistics of a map (`values`, H x W, the model's input resolution) and its low-resolution copy."""
    mass = np.abs(np.nan_to_num(np.asarray(values, np.float64)))
    total = mass.sum()
    if total <= 0:
        return MapStats(float("nan"), float("nan"), float("nan"), float("nan"), float("nan"), float("nan"))
    mass /= total
    h, w = mass.shape
    peak = np.unravel_index(int(np.argmax(mass)), mass.shape)
    by, bx = max(1, round(h * BORDER)), max(1, round(w * BORDER))
    inner = _share(mass, slice(by, h - by), slice(bx, w - bx))
    centre = _share(mass, slice(round(h * CENTRE), h - round(h * CENTRE)), slice(round(w * CENTRE), w - round(w * CENTRE)))
    ranked = np.sort(mass, axis=None)[::-1]
    top = float(ranked[:max(1, int(np.ceil(ranked.size * TOP_SHARE)))].sum())
    low = np.abs(np.asarray(small, np.float64))
    p = low / low.sum() if low.sum() > 0 else np.full(low.shape, 1.0 / low.size)
    nonzero = p[p > 0]
    entropy = float(-(nonzero * np.log(nonzero)).sum() / np.log(p.size))
    return MapStats(peak[0] / max(1, h - 1), peak[1] / max(1, w - 1), centre, 1.0 - inner, top, entropy)
