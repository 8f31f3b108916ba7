"""ROAD's linear imputation, solved by one banded Cholesky factorisation, equals the sparse LU solve of the
same equations (the implementation it replaced) on many masks at once, noise included."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.ndimage import gaussian_filter
from scipy.sparse.linalg import spsolve

from interpret.metrics import impute_linear
from interpret.metrics.road import NEIGHBOURS, PERCENTILES


def sparse_reference(image: np.ndarray, removed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each mask's equations built pixel by pixel and solved by sparse LU: the filled image and the solved
    unknowns in np.nonzero order (mask, then pixel)."""
    channels, height, width = image.shape
    out = np.repeat(image[None], len(removed), axis=0)
    solved = []
    for m, mask in enumerate(removed):
        unknown = list(zip(*np.nonzero(mask), strict=True))
        index = {p: k for k, p in enumerate(unknown)}
        system = sp.lil_matrix((len(unknown), len(unknown)))
        rhs = np.zeros((len(unknown), channels))
        for k, (y, x) in enumerate(unknown):
            for (dy, dx), weight in NEIGHBOURS:
                ny, nx = y + dy, x + dx
                if 0 <= ny < height and 0 <= nx < width:
                    system[k, k] -= weight
                    if (ny, nx) in index:
                        system[k, index[(ny, nx)]] += weight
                    else:
                        rhs[k] -= weight * image[:, ny, nx]
        values = spsolve(system.tocsc(), rhs).reshape(len(unknown), channels)
        for k, (y, x) in enumerate(unknown):
            out[m, :, y, x] = values[k]
        solved.append(values)
    return out, np.concatenate(solved)


def road_masks(values: np.ndarray) -> np.ndarray:
    """The 18 masks ROAD removes for a map: most relevant first (MoRF) and least relevant first (LeRF)."""
    total = values.size
    rank = np.argsort(np.argsort(-values.ravel(), kind="stable"), kind="stable").reshape(values.shape)
    counts = np.array([int(round(p / 100 * total)) for p in PERCENTILES])
    return np.concatenate([rank[None] < counts[:, None, None], rank[None] >= (total - counts)[:, None, None]])


@pytest.mark.parametrize("kind", ["blobs", "scattered"])
def test_banded_solve_equals_the_sparse_lu_solve_on_every_mask_of_a_map(kind):
    rng = np.random.default_rng(7)
    image = rng.standard_normal((3, 14, 18))  # not square: rows and columns must not be mixed up
    field = rng.standard_normal((14, 18))
    values = gaussian_filter(field, 3) if kind == "blobs" else field  # a CAM-like map, or noise
    removed = road_masks(values)
    expected, _ = sparse_reference(image, removed)
    filled = impute_linear(image, removed, noise=0)
    assert filled.shape == (18, 3, 14, 18)
    np.testing.assert_allclose(filled, expected, atol=1e-9)
    np.testing.assert_array_equal(filled[~np.broadcast_to(removed[:, None], filled.shape)],
                                  np.broadcast_to(image, filled.shape)[~np.broadcast_to(removed[:, None], filled.shape)])


def test_noise_is_the_seeded_draw_over_the_unknowns_in_mask_then_pixel_order():
    rng = np.random.default_rng(1)
    image = rng.standard_normal((3, 12, 12))
    removed = road_masks(rng.random((12, 12)))[[2, 11]]
    _, solved = sparse_reference(image, removed)
    noisy = impute_linear(image, removed, noise=0.01, seed=5)
    mask_of, ys, xs = np.nonzero(removed)
    expected = solved + 0.01 * np.random.default_rng(5).standard_normal(solved.shape)
    np.testing.assert_allclose(noisy[mask_of, :, ys, xs], expected, atol=1e-9)


def test_a_hole_on_the_border_and_a_single_kept_pixel_are_solved():
    image = np.random.default_rng(2).standard_normal((3, 9, 9))
    removed = np.ones((2, 9, 9), bool)
    removed[0, 4, 4] = False  # everything but the centre: the image is that pixel's colour everywhere
    removed[1, :, :3] = False  # a band along the left border is kept
    expected, _ = sparse_reference(image, removed)
    filled = impute_linear(image, removed, noise=0)
    np.testing.assert_allclose(filled, expected, atol=1e-9)
    np.testing.assert_allclose(filled[0], np.broadcast_to(image[:, 4:5, 4:5], (3, 9, 9)), atol=1e-9)
