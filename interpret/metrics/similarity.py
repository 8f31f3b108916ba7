"""How alike two maps are: Spearman rank correlation and SSIM (as in Adebayo et al. 2018)."""
from __future__ import annotations

import numpy as np
from scipy.stats import rankdata
from skimage.metrics import structural_similarity


def spearman(a: np.ndarray, b: np.ndarray, absolute: bool = True) -> float:
    """Rank correlation of two maps (of their absolute values by default); 0 when one is constant."""
    a = np.nan_to_num(np.asarray(a, dtype=np.float64)).ravel()
    b = np.nan_to_num(np.asarray(b, dtype=np.float64)).ravel()
    if absolute:
        a, b = np.abs(a), np.abs(b)
    ra, rb = rankdata(a), rankdata(b)
    ra, rb = ra - ra.mean(), rb - rb.mean()
    denom = float(np.sqrt((ra * ra).sum() * (rb * rb).sum()))
    return float((ra * rb).sum() / denom) if denom > 0 else 0.0


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
