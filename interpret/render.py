"""Maps and activations to RGB arrays: colour maps, overlays and channel mosaics (no matplotlib figures)."""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw

from .errors import ParameterError
from .signs import select

DIVERGING = "RdBu_r"


def check_cmap(name: str) -> str:
    """A matplotlib colour map's name, or a ParameterError naming it and a few that exist."""
    import matplotlib

    if not isinstance(name, str) or name not in matplotlib.colormaps:
        raise ParameterError(f"'{str(name)[:60]}' is not a colour map; try inferno, viridis, magma, jet, gray or RdBu_r "
                             "(any matplotlib colour map name).")
    return name


def check_alpha(alpha: float) -> float:
    """An overlay's opacity: a finite number from 0 to 1, or a ParameterError."""
    if not isinstance(alpha, (int, float)) or not math.isfinite(alpha) or not 0 <= alpha <= 1:
        raise ParameterError(f"The opacity (alpha) must be a number from 0 to 1, not {alpha!r}.")
    return float(alpha)


@lru_cache(maxsize=32)
def colormap_lut(name: str) -> np.ndarray:
    """A 256 x 3 uint8 lookup table for a matplotlib colour map (a ParameterError for an unknown name)."""
    import matplotlib

    check_cmap(name)
    return (matplotlib.colormaps[name](np.linspace(0, 1, 256))[:, :3] * 255).round().astype(np.uint8)


def scale_of(values: np.ndarray, mode: str, clip_percentile: float = 99.5) -> float:
    """The magnitude mapped to full colour: a high percentile of |selected values| (robust to outliers)."""
    selected = np.abs(select(values, mode))
    scale = float(np.percentile(selected, clip_percentile)) if selected.size else 0.0
    return scale if scale > 0 else float(selected.max(initial=0.0))


def normalise(values: np.ndarray, mode: str = "absolute", clip_percentile: float = 99.5,
              scale: float | None = None) -> np.ndarray:
    """Values to [0, 1] (or [-1, 1] for 'signed'), clipped at `scale` (default: the percentile)."""
    selected = select(values, mode, np.float32)
    scale = scale_of(values, mode, clip_percentile) if scale is None else scale
    if scale <= 0:
        return np.zeros_like(selected)
    low = -1.0 if mode == "signed" else 0.0
    return np.clip(selected / scale, low, 1.0)


def colorize(values: np.ndarray, mode: str = "absolute", cmap: str | None = None,
             clip_percentile: float = 99.5, scale: float | None = None) -> np.ndarray:
    """A map as an RGB uint8 image; signed maps use a diverging colour map centred on zero."""
    unit = normalise(values, mode, clip_percentile, scale)
    if mode == "signed":
        unit = (unit + 1) / 2
        cmap = cmap or DIVERGING
    lut = colormap_lut(cmap or "inferno")
    return lut[np.round(unit * 255).astype(np.uint8)]


def resize(array: np.ndarray, size: tuple[int, int], nearest: bool = False) -> np.ndarray:
    """Resize an H x W (float) or H x W x 3 (uint8) array to (height, width)."""
    height, width = size
    if array.shape[:2] == (height, width):
        return array
    resample = Image.Resampling.NEAREST if nearest else Image.Resampling.BILINEAR
    if array.ndim == 2:
        return np.asarray(Image.fromarray(array.astype(np.float32)).resize((width, height), resample))
    return np.asarray(Image.fromarray(array).resize((width, height), resample))


def overlay(photo: np.ndarray, heat_rgb: np.ndarray, alpha: float = 0.5, weight: np.ndarray | None = None) -> np.ndarray:
    """Blend a coloured map over a photo; `weight` (0..1 per pixel) lets weak regions show the photo."""
    heat = resize(heat_rgb, photo.shape[:2]).astype(np.float32)
    a = np.full(photo.shape[:2], check_alpha(alpha), np.float32)
    if weight is not None:
        a = a * np.clip(resize(weight.astype(np.float32), photo.shape[:2]), 0, 1)
    blended = photo.astype(np.float32) * (1 - a[..., None]) + heat * a[..., None]
    return blended.round().clip(0, 255).astype(np.uint8)


def mosaic(channels: np.ndarray, columns: int | None = None, shared_scale: bool = False, cmap: str = "viridis",
           tile: int | None = None, labels: list[str] | None = None, pad: int = 2,
           value_range: tuple[float, float] | None = None) -> np.ndarray:
    """Every channel (C x H x W) as one RGB grid, each tile scaled on its own or all on one scale.

    `value_range` (low, high) fixes the shared scale, e.g. to a whole layer's range when only one
    page of its channels is drawn, so that colours mean the same on every page.
    """
    count, h, w = channels.shape
    columns = columns or max(1, math.ceil(math.sqrt(count)))
    rows = math.ceil(count / columns)
    data = np.nan_to_num(channels.astype(np.float32))
    if shared_scale:
        low, high = value_range if value_range is not None else (float(data.min()), float(data.max()))
        data = np.clip(data, low, high)
        unit = (data - low) / (high - low) if high > low else np.zeros_like(data)
    else:
        low = data.reshape(count, -1).min(1)[:, None, None]
        high = data.reshape(count, -1).max(1)[:, None, None]
        span = np.where(high > low, high - low, 1.0)
        unit = np.where(high > low, (data - low) / span, 0.0)
    tiles = colormap_lut(cmap)[np.round(unit * 255).astype(np.uint8)]  # C x h x w x 3
    if tile and tile != h:
        scale = max(1, round(tile / h))
        tiles = tiles.repeat(scale, axis=1).repeat(scale, axis=2)
        h, w = tiles.shape[1:3]
    grid = np.full((rows * (h + pad) + pad, columns * (w + pad) + pad, 3), 255, np.uint8)
    for i in range(count):
        r, c = divmod(i, columns)
        y, x = pad + r * (h + pad), pad + c * (w + pad)
        grid[y:y + h, x:x + w] = tiles[i]
    if labels is not None and h >= 24:
        image = Image.fromarray(grid)
        draw = ImageDraw.Draw(image)
        for i, text in enumerate(labels[:count]):
            r, c = divmod(i, columns)
            x, y = pad + c * (w + pad) + 1, pad + r * (h + pad)
            draw.rectangle((x, y, x + 6 * len(text) + 2, y + 11), fill=(0, 0, 0))
            draw.text((x + 1, y), text, fill=(255, 255, 255))
        grid = np.asarray(image)
    return grid
