"""Bytes for the download buttons: a picture as PNG (a map with its colour bar and values), an array as .npy."""
from __future__ import annotations

import io

import numpy as np
from PIL import Image

from ..render import ScaleInfo, with_colour_bar


def png_bytes(rgb: np.ndarray) -> bytes:
    """An RGB (or gray) uint8 array as a PNG file."""
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG")
    return buffer.getvalue()


def map_png_bytes(rgb: np.ndarray, scale: ScaleInfo | None) -> bytes:
    """A drawn map as a PNG file with its colour bar, tick values and the scale's words under it."""
    return png_bytes(rgb if scale is None else with_colour_bar(rgb, scale))


def npy_bytes(values: np.ndarray) -> bytes:
    """An array as a .npy file (dtype and shape kept)."""
    buffer = io.BytesIO()
    np.save(buffer, values)
    return buffer.getvalue()
