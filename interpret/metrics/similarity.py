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
