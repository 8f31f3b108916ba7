"""Trivial maps that any explanation should beat: random noise, a centred Gaussian, an edge map.

An edge detector knows nothing about the model, yet it often scores well on insertion-style metrics;
showing these beside a method's scores tells a user how much of a score is the method's own.
"""
from __future__ import annotations

import numpy as np
from skimage.color import rgb2gray
from skimage.filters import sobel

REFERENCE_MAPS = ("random", "centre", "sobel")


def random_map(shape: tuple[int, int], seed: int = 0) -> np.ndarray:
    """Uniform noise: every metric's chance level."""
    return np.random.default_rng(seed).random(shape).astype(np.float32)


def centre_map(shape: tuple[int, int], sigma: float = 0.25) -> np.ndarray:
    """A Gaussian centred on the image, sigma a fraction of its size (photographers' centre bias)."""
    height, width = shape
    y = (np.arange(height) - (height - 1) / 2) / (sigma * height)
    x = (np.arange(width) - (width - 1) / 2) / (sigma * width)
    return np.exp(-0.5 * (y[:, None] ** 2 + x[None, :] ** 2)).astype(np.float32)


def sobel_map(pixels: np.ndarray) -> np.ndarray:
    """Sobel edge magnitude of the image the model sees (uint8 H x W x 3)."""
    return sobel(rgb2gray(np.asarray(pixels))).astype(np.float32)


def reference_maps(pixels: np.ndarray, seed: int = 0) -> dict[str, np.ndarray]:
    """The three reference maps for one image, by name."""
    shape = tuple(np.asarray(pixels).shape[:2])
    return {"random": random_map(shape, seed), "centre": centre_map(shape), "sobel": sobel_map(pixels)}
