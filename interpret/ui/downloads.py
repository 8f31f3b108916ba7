"""Bytes for the download buttons: a picture as PNG, an array as .npy."""
from __future__ import annotations

import io

import numpy as np
from PIL import Image


def png_bytes(rgb: np.ndarray) -> bytes:
    """An RGB (or gray) uint8 array as a PNG file."""
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG")
    return buffer.getvalue()


def npy_bytes(values: np.ndarray) -> bytes:
    """An array as a .npy file (dtype and shape kept)."""
    buffer = io.BytesIO()
    np.save(buffer, values)
    return buffer.getvalue()
