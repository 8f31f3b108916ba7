"""How alike two maps are: Spearman rank correlation and SSIM (as in Adebayo et al. 2018)."""
from __future__ import annotations

import numpy as np
from scipy.stats import rankdata
from skimage.metrics import structural_similarity


def ranks(values: np.ndarray, absolute: bool = True) -> np.ndarray:
    """Centred ranks of a map's pixels (ties share their mean rank): the input of `spearman_of_ranks`.

    One argsort when no two values are equal (the usual case), scipy's tie handling otherwise
    (ReLU'd maps hold many zeros).
    """
    v = np.nan_to_num(np.asarray(values, dtype=np.float64)).ravel()
    if absolute:
        v = np.abs(v)
    order = np.argsort(v)
    ordered = v[order]
    if np.all(ordered[1:] != ordered[:-1]):
        r = np.empty(v.size)
        r[order] = np.arange(1, v.size + 1)
    else:
        r = rankdata(v)
    return r - r.mean()


def spearman_of_ranks(ra: np.ndarray, rb: np.ndarray) -> float:
    denom = float(np.sqrt((ra * ra).sum() * (rb * rb).sum()))
    return float((ra * rb).sum() / denom) if denom > 0 else 0.0


def spearman(a: np.ndarray, b: np.ndarray, absolute: bool = True) -> float:
    """Rank correlation of two maps (of their absolute values by default); 0 when one is constant."""
    return spearman_of_ranks(ranks(a, absolute), ranks(b, absolute))


def _unit(values: np.ndarray) -> np.ndarray:
    values = np.abs(np.nan_to_num(np.asarray(values, dtype=np.float64)))
    high = values.max()
    return values / high if high > 0 else values


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Structural similarity of the two absolute maps, each scaled to [0, 1]."""
    a, b = _unit(a), _unit(b)
    side = min(a.shape)
    window = min(7, side if side % 2 else side - 1)
    return float(structural_similarity(a, b, data_range=1.0, win_size=window))
