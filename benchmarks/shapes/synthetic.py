"""A ground truth by construction: shapes of known class and known position on natural textures.

Images of SIZE px: one shape of a class (circle, square, ...) at a random position, size and colour on
a tinted crop of a texture that ships with scikit-image, and in about half the images a distractor
(a crescent) that belongs to no class. Each image comes with the exact mask of its class shape, so
a map can be scored against where the evidence really is. Everything is drawn from a seeded
generator: the same seed gives the same data set.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw

SIZE = 48
CLASSES = ("circle", "square", "triangle", "cross", "star", "ring", "diamond", "hourglass")
TEXTURES = ("grass", "gravel", "brick")
RADIUS = (6, 11)  # px; with (8, 13) Grad-CAM's AUROC fell (its map covers the telling parts of a large shape)
DISTRACTOR_RATE = 0.5
MIN_CONTRAST = 0.3  # luminance gap between a shape and its background, in [0, 1]


@dataclass(frozen=True)
class ShapesData:
    images: np.ndarray  # N x SIZE x SIZE x 3 uint8
    masks: np.ndarray  # N x SIZE x SIZE bool: the class shape
    labels: np.ndarray  # N int64
    distractors: np.ndarray  # N x SIZE x SIZE bool: the distractor shape (empty when none)

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, index) -> ShapesData:
        return ShapesData(self.images[index], self.masks[index], self.labels[index], self.distractors[index])


@lru_cache(maxsize=1)
def textures() -> tuple[np.ndarray, ...]:
    """The scikit-image textures as float grey images in [0, 1]."""
    import skimage.data

    return tuple(getattr(skimage.data, name)().astype(np.float32) / 255.0 for name in TEXTURES)


def _polygon(cx: float, cy: float, points: list[tuple[float, float]], r: float) -> list[tuple[float, float]]:
    return [(cx + px * r, cy + py * r) for px, py in points]


def _star(points: int = 5, inner: float = 0.45) -> list[tuple[float, float]]:
    angles = np.arange(2 * points) * np.pi / points - np.pi / 2
    radii = np.where(np.arange(2 * points) % 2 == 0, 1.0, inner)
    return list(zip(radii * np.cos(angles), radii * np.sin(angles), strict=True))


def draw_shape(kind: str, cx: float, cy: float, r: float, size: int = SIZE) -> np.ndarray:
    """The boolean mask of one shape of radius r centred on (cx, cy)."""
    canvas = Image.new("L", (size, size), 0)
    d = ImageDraw.Draw(canvas)
    if kind == "circle":
        d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=1)
    elif kind == "square":
        s = 0.8 * r
        d.rectangle((cx - s, cy - s, cx + s, cy + s), fill=1)
    elif kind == "triangle":
        d.polygon(_polygon(cx, cy, [(0, -1), (0.95, 0.75), (-0.95, 0.75)], r), fill=1)
    elif kind == "cross":
        w = 0.33 * r
        d.rectangle((cx - r, cy - w, cx + r, cy + w), fill=1)
        d.rectangle((cx - w, cy - r, cx + w, cy + r), fill=1)
    elif kind == "star":
        d.polygon(_polygon(cx, cy, _star(), r), fill=1)
    elif kind == "ring":
        d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=1)
        q = 0.55 * r
        d.ellipse((cx - q, cy - q, cx + q, cy + q), fill=0)
    elif kind == "diamond":
        d.polygon(_polygon(cx, cy, [(0, -1), (1, 0), (0, 1), (-1, 0)], r), fill=1)
    elif kind == "hourglass":
        d.polygon(_polygon(cx, cy, [(-0.8, -1), (0.8, -1), (0, 0)], r), fill=1)
        d.polygon(_polygon(cx, cy, [(-0.8, 1), (0.8, 1), (0, 0)], r), fill=1)
    elif kind == "crescent":
        d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=1)
        q = 0.5 * r
        d.ellipse((cx - r + q, cy - r - q / 2, cx + r + q, cy + r - q / 2), fill=0)
    else:
        raise ValueError(f"unknown shape {kind!r}")
    return np.asarray(canvas, dtype=bool)


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    texture = textures()[rng.integers(len(TEXTURES))]
    scale = int(rng.integers(1, 3))
    side = size * scale
    y, x = rng.integers(0, texture.shape[0] - side), rng.integers(0, texture.shape[1] - side)
    crop = texture[y:y + side, x:x + side].reshape(size, scale, size, scale).mean((1, 3))
    crop = (crop - crop.min()) / max(1e-6, float(crop.max() - crop.min()))
    low = rng.uniform(0.1, 0.6)
    grey = low + crop * rng.uniform(0.2, 0.35)
    tint = rng.uniform(0.6, 1.0, size=3)
    return grey[..., None] * tint / tint.mean()


def _colour(rng: np.random.Generator, background_luma: float) -> np.ndarray:
    while True:
        colour = rng.uniform(0, 1, size=3)
        if abs(float(colour @ np.array([0.299, 0.587, 0.114])) - background_luma) >= MIN_CONTRAST:
            return colour


def _place(rng: np.random.Generator, kind: str, size: int, radius: tuple[int, int], avoid: np.ndarray | None,
           attempts: int = 100) -> np.ndarray | None:
    """A random placement that keeps 3 px away from `avoid`, or None when `attempts` draws found none."""
    from scipy.ndimage import binary_dilation

    blocked = binary_dilation(avoid, iterations=3) if avoid is not None else None
    for _ in range(attempts):
        r = rng.uniform(*radius)
        cx, cy = rng.uniform(r + 1, size - r - 2, size=2)
        mask = draw_shape(kind, cx, cy, r, size)
        if mask.any() and (blocked is None or not (mask & blocked).any()):
            return mask
    return None


def make_image(rng: np.random.Generator, label: int, distractor: bool, size: int = SIZE):
    """One image (uint8 H x W x 3), its class mask and its distractor mask."""
    background = _background(rng, size)
    image = background.copy()
    mask = _place(rng, CLASSES[label], size, RADIUS, None)
    image[mask] = _colour(rng, float(background[mask].mean()))
    other = _place(rng, "crescent", size, (6, 10), mask) if distractor else None
    if other is None:  # none drawn, or no room beside a large shape
        other = np.zeros_like(mask)
    else:
        image[other] = _colour(rng, float(background[other].mean()))
    return (np.clip(image, 0, 1) * 255).round().astype(np.uint8), mask, other


def make_dataset(count: int, seed: int, size: int = SIZE) -> ShapesData:
    """`count` images with balanced classes in a seeded random order."""
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(count) % len(CLASSES))
    images, masks, distractors = [], [], []
    for label in labels:
        image, mask, other = make_image(rng, int(label), bool(rng.random() < DISTRACTOR_RATE), size)
        images.append(image)
        masks.append(mask)
        distractors.append(other)
    return ShapesData(np.stack(images), np.stack(masks), labels.astype(np.int64), np.stack(distractors))
