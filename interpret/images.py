"""Turning user-given bytes into a safe RGB photo, with a clear refusal for everything else."""
from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import ImageError

MAX_BYTES = 50 * 2**20  # a 50 MB file
MAX_PIXELS = 50_000_000  # 50 megapixels; PIL's own bomb limit is 89 MP with a warning only
ACCEPTED = ("jpg", "jpeg", "png", "webp", "bmp", "tif", "tiff", "gif")


@dataclass(frozen=True)
class InputImage:
    """A decoded photo with the bytes it came from; `sha256` keys every cached result."""

    name: str
    data: bytes = field(repr=False)
    image: Image.Image = field(repr=False, compare=False)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        array = np.asarray(image, dtype=np.float64)
        low, high = float(array.min()), float(array.max())
        scaled = (array - low) / (high - low) * 255 if high > low else np.zeros_like(array)
        image = Image.fromarray(scaled.astype(np.uint8))
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    return image.convert("RGB")


def decode_image(data: bytes, name: str = "image") -> Image.Image:
    """Decode bytes into an upright RGB image, or raise ImageError saying why not."""
    if not data:
        raise ImageError(f"'{name}' is empty.")
    if len(data) > MAX_BYTES:
        raise ImageError(f"'{name}' is {len(data) / 2**20:.0f} MB; images up to {MAX_BYTES // 2**20} MB are accepted.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            w, h = image.size
            if w * h > MAX_PIXELS:
                raise ImageError(f"'{name}' is {w}x{h} pixels ({w * h / 1e6:.0f} MP); images up to {MAX_PIXELS / 1e6:.0f} MP are accepted.")
            image.seek(0)  # first frame of a GIF or multi-page TIFF
            image.load()
            image = ImageOps.exif_transpose(image)
            return _to_rgb(image)
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError(f"'{name}' declares an enormous size (a decompression bomb) and was refused.") from exc
    except UnidentifiedImageError as exc:
        raise ImageError(f"'{name}' is not an image this app can read (accepted: {', '.join(ACCEPTED)}).") from exc
    except (OSError, ValueError, SyntaxError) as exc:
        raise ImageError(f"'{name}' is damaged or truncated and cannot be decoded ({str(exc)[:120]}).") from exc


def load_image(data: bytes, name: str = "image") -> InputImage:
    return InputImage(name=name, data=data, image=decode_image(data, name))


def load_image_file(path) -> InputImage:
    from pathlib import Path

    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImageError(f"Cannot read '{path}': {exc.strerror or exc}.") from exc
    return load_image(data, path.name)
