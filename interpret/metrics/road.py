"""ROAD (Rong et al. 2022): remove pixels by noisy linear imputation, most- and least-relevant first.

The imputation is the one of the ROAD paper (and pytorch-grad-cam's `NoisyLinearImputer`): every
removed pixel equals the weighted mean of its 8 neighbours (1/6 direct, 1/12 diagonal), kept pixels
are fixed, plus a little Gaussian noise. pytorch-grad-cam builds that system in a scipy `lil_matrix`
one mask at a time, which takes seconds per mask at 224 px; here the systems of all masks of one
map are assembled at once with vectorised indices and solved together by one banded Cholesky
factorisation (same equations, the unit tests compare both), and the noise comes from a seeded
generator so scores are reproducible.

Combined score = mean over the removal fractions of (p_LeRF - p_MoRF) / 2, as in pytorch-grad-cam's
`ROADCombined`: a faithful map loses the class quickly when its top pixels go and slowly when its
bottom pixels go; a random map scores 0.
"""
from __future__ import annotations

import functools
import threading
from dataclasses import dataclass

import numpy as np
import torch
from scipy.linalg import solveh_banded
from threadpoolctl import ThreadpoolController

from ..signs import select
from .faithfulness import FaithfulnessProbe
from .ranking import pixel_rank

PERCENTILES = (10, 20, 30, 40, 50, 60, 70, 80, 90)
NOISE = 0.01
NEIGHBOURS = (((1, 1), 1 / 12), ((0, 1), 1 / 6), ((-1, 1), 1 / 12), ((1, -1), 1 / 12),
              ((0, -1), 1 / 6), ((-1, -1), 1 / 12), ((1, 0), 1 / 6), ((-1, 0), 1 / 6))


@functools.cache
def _blas() -> ThreadpoolController:
    return ThreadpoolController()


_ONE_BLAS_THREAD = threading.Lock()


def banded_solve(banded: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """solveh_banded on one BLAS thread. The factorisation works on blocks of the band (about W x W): split
    over threads on a busy machine they wait for each other (48 px, 18 masks: 2 s with OpenBLAS's 2 threads
    at load 8 against 0.05 s on one). The lock keeps two threads from restoring each other's thread count."""
    with _ONE_BLAS_THREAD, _blas().limit(limits=1, user_api="blas"):
        return solveh_banded(banded, rhs, check_finite=False)


def impute_linear(image: np.ndarray, removed: np.ndarray, noise: float = NOISE, seed: int = 0) -> np.ndarray:
    """Fill the removed pixels of one C x H x W image for each of P masks (P x H x W, True = removed).

    Returns P x C x H x W. Each mask must keep at least one pixel.

    The equations of all masks are assembled at once; each mask's unknowns, numbered row by row, never
    couple two unknowns more than W + 1 numbers apart (a neighbour is at most one row and one column
    away, and numbering only the removed pixels can shorten that distance, never lengthen it).
    Negated, each system is symmetric positive definite (a weighted graph Laplacian with the kept
    pixels as boundary: every connected hole touches a kept pixel), so it is solved exactly by a
    banded Cholesky factorisation, O(unknowns x band^2): at 48 px the 18 masks of a map take about
    a third of the time of the sparse LU of the whole block-diagonal system it replaced.
    """
    image = np.asarray(image, dtype=np.float64)
    removed = np.asarray(removed, dtype=bool)
    if removed.ndim == 2:
        removed = removed[None]
    channels, height, width = image.shape
    count, pixels = removed.shape[0], height * width
    flat_removed = removed.reshape(count, pixels)
    flat_image = image.reshape(channels, pixels)
    mask_of, pixel_of = np.nonzero(flat_removed)
    unknowns = mask_of.size
    out = np.broadcast_to(flat_image.T, (count, pixels, channels)).copy()  # pixel-major: one row per unknown
    if unknowns == 0:
        return np.ascontiguousarray(out.transpose(0, 2, 1)).reshape(count, channels, height, width)
    variable = np.full((count, pixels), -1, dtype=np.int64)
    variable[mask_of, pixel_of] = np.arange(unknowns)
    ys, xs = np.divmod(pixel_of, width)
    rows, cols, vals = [], [], []
    rhs = np.zeros((unknowns, channels))
    weight_sum = np.zeros(unknowns)
    for (dy, dx), weight in NEIGHBOURS:
        ny, nx = ys + dy, xs + dx
        inside = (ny >= 0) & (ny < height) & (nx >= 0) & (nx < width)
        ids = np.nonzero(inside)[0]
        neighbour = ny[ids] * width + nx[ids]
        weight_sum[ids] += weight
        neighbour_var = variable[mask_of[ids], neighbour]
        later = neighbour_var > ids  # an unknown numbered after this one: one entry of the upper triangle
        rows.append(ids[later])
        cols.append(neighbour_var[later])
        vals.append(weight)
        known = neighbour_var < 0
        rhs[ids[known]] += weight * flat_image[:, neighbour[known]].T
    row = np.concatenate(rows)
    col = np.concatenate(cols)
    weights = np.concatenate([np.full(r.size, w) for r, w in zip(rows, vals, strict=True)])
    solution = np.empty((unknowns, channels))
    first = np.searchsorted(mask_of, np.arange(count + 1))  # mask m's unknowns: first[m]:first[m + 1]
    pair_mask = mask_of[row]
    by_mask = np.argsort(pair_mask, kind="stable")
    pair_first = np.searchsorted(pair_mask[by_mask], np.arange(count + 1))
    for m in range(count):
        a, b = first[m], first[m + 1]
        if a == b:
            continue
        pairs = by_mask[pair_first[m]:pair_first[m + 1]]
        r, c = row[pairs] - a, col[pairs] - a
        band = int((c - r).max()) if pairs.size else 0  # this mask's own band: narrow where few pixels go
        # upper banded storage of -A: the diagonal (the weights of every neighbour inside the image) in the
        # last row, entry (i, j > i) at [band + i - j, j]
        banded = np.zeros((band + 1, b - a))
        banded[band] = weight_sum[a:b]
        banded[band + r - c, c] = -weights[pairs]
        solution[a:b] = banded_solve(banded, rhs[a:b])
    if noise:
        solution = solution + noise * np.random.default_rng(seed).standard_normal(solution.shape)
    out.reshape(count * pixels, channels)[mask_of * pixels + pixel_of] = solution
    return np.ascontiguousarray(out.transpose(0, 2, 1)).reshape(count, channels, height, width)


@dataclass(frozen=True)
class RoadScore:
    """Probabilities after removing each fraction of pixels, most- and least-relevant first."""

    percentiles: tuple[int, ...]
    morf: np.ndarray
    lerf: np.ndarray

    @property
    def combined(self) -> float:
        return float(np.mean((self.lerf - self.morf) / 2))


def road(probe: FaithfulnessProbe, values: np.ndarray, percentiles: tuple[int, ...] = PERCENTILES,
         noise: float = NOISE, mode: str = "absolute", seed: int = 0) -> RoadScore:
    """ROAD MoRF / LeRF probabilities of the probe's class for one map: one batched forward pass."""
    total = int(np.prod(probe.shape))
    rank = pixel_rank(select(values, mode, np.float64), seed)
    counts = np.array([int(round(p / 100 * total)) for p in percentiles])
    most = rank[None] < counts[:, None, None]
    least = rank[None] >= (total - counts)[:, None, None]
    image = probe.x[0].detach().cpu().double().numpy()
    filled = impute_linear(image, np.concatenate([most, least]), noise=noise, seed=seed)
    probs = probe.probs(torch.from_numpy(filled).to(probe.x.dtype).to(probe.x.device))
    k = len(percentiles)
    return RoadScore(tuple(percentiles), probs[:k], probs[k:])
