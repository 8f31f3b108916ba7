"""How alike two maps are: Spearman rank correlation and SSIM (as in Adebayo et al. 2018)."""
from __future__ import annotations

import numpy as np
from skimage.metrics import structural_similarity


def ranks(values: np.ndarray, absolute: bool = True) -> np.ndarray:
    """Centred ranks of a map's pixels (ties share their mean rank): the input of `spearman_of_ranks`.

    One argsort in the map's own precision and a pass over the runs of equal values (ReLU'd or
    float32 maps nearly always hold ties); scipy's `rankdata` gives the same ranks, a little slower
    on float32 maps because it sorts in float64.
    """
    v = np.asarray(values)
    v = np.nan_to_num(v if v.dtype in (np.float32, np.float64) else v.astype(np.float64)).ravel()
    if absolute:
        v = np.abs(v)
    order = np.argsort(v)  # float32 maps sort faster in float32, with the same ties
    ordered = v[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    counts = np.diff(np.r_[starts, v.size])
    r = np.empty(v.size)
    r[order] = np.repeat(starts + (counts + 1) / 2, counts)  # 1-based mean rank of each run
    return r - r.mean()


def spearman_of_ranks(ra: np.ndarray, rb: np.ndarray) -> float:
    denom = float(np.sqrt((ra * ra).sum() * (rb * rb).sum()))
    return float((ra * rb).sum() / denom) if denom > 0 else 0.0


def spearman(a: np.ndarray, b: np.ndarray, absolute: bool = True) -> float:
    """Rank correlation of two maps (of their absolute values by default); 0 when one is constant."""
    return spearman_of_ranks(ranks(a, absolute), ranks(b, absolute))


def _unit(values: np.ndarray) -> np.ndarray:
    """|map| scaled to [0, 1], in float32 (the maps' own precision)."""
    values = np.abs(np.nan_to_num(np.asarray(values, dtype=np.float32)))
    high = values.max()
    return values / high if high > 0 else values


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Structural similarity of the two absolute maps, each scaled to [0, 1].

    scikit-image's `structural_similarity` (7 x 7 uniform window, or the largest odd one that fits;
    sample covariance; the mean over the windows that fit inside the image) on float32 maps, its
    fast path: faster there than the same formula from integral images in float64, which it replaced.
    """
    x, y = _unit(a), _unit(b)
    side = min(x.shape)
    window = min(7, side if side % 2 else side - 1)
    return float(structural_similarity(x, y, data_range=1.0, win_size=window))


SAME_MAP_TOLERANCE = 1e-5  # largest pixel difference, of maps scaled to a peak |value| of 1, that is still one map


def _peak_scaled(values: np.ndarray) -> np.ndarray | None:
    """The map divided by its largest |value| (float64); None for a map that is all zeros or not finite."""
    v = np.asarray(values, dtype=np.float64)
    peak = float(np.abs(v).max()) if v.size else 0.0
    return v / peak if peak > 0 and np.isfinite(peak) and np.all(np.isfinite(v)) else None


def same_maps(maps: list[np.ndarray], tolerance: float = SAME_MAP_TOLERANCE) -> list[tuple[int, ...]]:
    """Groups of maps that are numerically the same map up to a positive factor, as indices into `maps` (each group
    in order, two or more maps, groups in the order of their first map): scaled to a peak |value| of 1, no pixel
    of one differs from the group's first by more than `tolerance`. All-zero and non-finite maps are in no group."""
    scaled = [_peak_scaled(m) for m in maps]
    taken: set[int] = set()
    groups = []
    for i, first in enumerate(scaled):
        if first is None or i in taken:
            continue
        group = [i] + [j for j in range(i + 1, len(maps)) if j not in taken and (other := scaled[j]) is not None
                       and other.shape == first.shape and float(np.abs(other - first).max()) <= tolerance]
        if len(group) > 1:
            taken.update(group)
            groups.append(tuple(group))
    return groups
