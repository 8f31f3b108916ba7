"""Turning user-given bytes into a safe RGB photo, with a clear refusal for everything else.

Only the accepted formats reach a decoder (`Image.open(formats=...)`: EPS named .jpg never reaches
Ghostscript). The declared size is checked before decoding (pixels, aspect ratio, and whether the file
holds enough data for it), truncated data is refused, and non-finite pixels of float images are replaced
by the image's lowest finite value, with a note saying so.
"""
from __future__ import annotations

import hashlib
import io
import math
import struct
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from .errors import ImageError
from .files import printable, read_regular_file
from .limits import (
    BMP_RLE_PIXELS_PER_BYTE,
    DEFLATE_MAX_RATIO,
    GIF_PIXELS_PER_BYTE,
    IMAGE_ASPECT_RATIO,
    IMAGE_FILE_BYTES,
    IMAGE_PIXELS,
    JPEG_PIXELS_PER_BYTE,
)
from .preprocess import Preprocessing

FORMATS = ("JPEG", "PNG", "WEBP", "BMP", "TIFF", "GIF")  # the only formats Pillow may open
ACCEPTED = ("jpg", "jpeg", "png", "webp", "bmp", "tif", "tiff", "gif")  # their file name suffixes

# What a decoder raises on malformed data (Pillow's plugins and the C codecs behind them).
DECODE_ERRORS = (OSError, ValueError, SyntaxError, EOFError, struct.error, OverflowError, ZeroDivisionError,
                 IndexError, KeyError)


@dataclass(frozen=True)
class InputImage:
    """A decoded photo with the bytes it came from; `sha256` keys every cached result.

    `notes` says what decoding changed (non-finite pixels replaced), for the UI to show."""

    name: str
    data: bytes = field(repr=False)
    image: Image.Image = field(repr=False, compare=False)
    notes: tuple[str, ...] = field(default=(), compare=False)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def _finite(array: np.ndarray, name: str, notes: list[str]) -> np.ndarray:
    """The array with NaN/Inf replaced by its lowest finite value (one NaN otherwise blackens the image)."""
    bad = ~np.isfinite(array)
    if not bad.any():
        return array
    if bad.all():
        raise ImageError(f"'{name}' holds no finite pixel value (every pixel is NaN or infinite).")
    count = int(bad.sum())
    notes.append(f"'{name}' had {count} pixel{'s' if count != 1 else ''} that {'were' if count != 1 else 'was'} "
                 "NaN or infinite; shown as the image's lowest value.")
    return np.where(bad, array[~bad].min(), array)


def _to_rgb(image: Image.Image, name: str = "image", notes: list[str] | None = None) -> Image.Image:
    notes = [] if notes is None else notes
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        array = _finite(np.asarray(image, dtype=np.float64), name, notes)
        low, high = float(array.min()), float(array.max())
        scaled = (array - low) / (high - low) * 255 if high > low else np.zeros_like(array)
        image = Image.fromarray(scaled.astype(np.uint8))
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    return image.convert("RGB")


def check_size(w: int, h: int, name: str) -> None:
    """Refuse a declared size that is empty, above IMAGE_PIXELS or longer than IMAGE_ASPECT_RATIO : 1."""
    if w < 1 or h < 1:
        raise ImageError(f"'{name}' declares an empty size ({w}x{h} pixels).")
    if w * h > IMAGE_PIXELS:
        raise ImageError(f"'{name}' is {w}x{h} pixels ({w * h / 1e6:.0f} MP); images up to "
                         f"{IMAGE_PIXELS / 1e6:.0f} MP are accepted (limit IMAGE_PIXELS).")
    if max(w, h) > IMAGE_ASPECT_RATIO * min(w, h):
        raise ImageError(f"'{name}' is {w}x{h} pixels, {max(w, h) / min(w, h):.0f} times longer than wide; images up to "
                         f"{IMAGE_ASPECT_RATIO}:1 are accepted (limit IMAGE_ASPECT_RATIO).")


_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # by IHDR colour type


def _png_raw_bytes(data: bytes, w: int, h: int) -> int:
    """Bytes of a PNG's filtered pixel rows (what deflate codes), from its IHDR's bit depth and colour type."""
    depth, colour, interlace = data[24], data[25], data[28]
    bits = depth * _PNG_CHANNELS.get(colour, 1)
    raw = h * (1 + math.ceil(w * bits / 8))
    return raw if not interlace else raw - h  # Adam7: the pixel bytes at least, whatever the filter bytes


def _bmp_least_bytes(data: bytes, w: int, h: int) -> tuple[int, str]:
    header = struct.unpack_from("<I", data, 14)[0]
    bits = struct.unpack_from("<H", data, 24 if header == 12 else 28)[0]
    compression = struct.unpack_from("<I", data, 30)[0] if header >= 40 else 0
    if compression in (1, 2):  # RLE8, RLE4
        return w * h // BMP_RLE_PIXELS_PER_BYTE, f"run-length BMP codes at most {BMP_RLE_PIXELS_PER_BYTE} pixels per byte"
    if compression in (0, 3):  # raw rows (3: raw with bit fields)
        return h * (((w * bits + 31) // 32) * 4), "an uncompressed BMP holds every row"
    return 0, ""


def _least_bytes(image: Image.Image, data: bytes) -> tuple[int, str]:
    """The fewest bytes a valid file of this format and declared size can have, and the rule behind it.

    WEBP and TIFF have no such rule here: their decoders refuse data that ends early."""
    w, h = image.size
    try:
        if image.format in ("JPEG", "MPO"):
            return math.ceil(w * h / JPEG_PIXELS_PER_BYTE), f"a JPEG holds at least 1 byte per {JPEG_PIXELS_PER_BYTE} pixels"
        if image.format == "PNG":
            return _png_raw_bytes(data, w, h) // DEFLATE_MAX_RATIO, f"deflate codes at most {DEFLATE_MAX_RATIO} bytes per byte"
        if image.format == "GIF":
            return w * h // GIF_PIXELS_PER_BYTE, f"GIF's LZW codes at most {GIF_PIXELS_PER_BYTE} pixels per byte"
        if image.format == "BMP":
            return _bmp_least_bytes(data, w, h)
    except (IndexError, struct.error):  # a header too short to hold the fields: the decoder will refuse it
        return 0, ""
    return 0, ""


def _check_data(image: Image.Image, data: bytes, name: str) -> None:
    least, rule = _least_bytes(image, data)
    size = len(data)
    if size < least:
        w, h = image.size
        raise ImageError(f"'{name}' declares {w}x{h} pixels but holds only {size} bytes, fewer than {least} "
                         f"({rule}): the file is truncated or damaged.")


def _decode(data: bytes, name: str) -> tuple[Image.Image, tuple[str, ...]]:
    name = printable(name)  # as messages show it
    if not data:
        raise ImageError(f"'{name}' is empty.")
    if len(data) > IMAGE_FILE_BYTES:
        raise ImageError(f"'{name}' is {len(data) / 2**20:.0f} MB; images up to {IMAGE_FILE_BYTES // 2**20} MB "
                         "are accepted (limit IMAGE_FILE_BYTES).")
    ImageFile.LOAD_TRUNCATED_IMAGES = False  # truncated data is refused, whatever another library set
    notes: list[str] = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            opened = Image.open(io.BytesIO(data), formats=list(FORMATS))
            check_size(*opened.size, name)
            _check_data(opened, data, name)
            opened.seek(0)  # first frame of a GIF or multi-page TIFF
            opened.load()
            upright = ImageOps.exif_transpose(opened)
            return _to_rgb(upright, name, notes), tuple(notes)
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError(f"'{name}' declares an enormous size (a decompression bomb) and was refused.") from exc
    except UnidentifiedImageError as exc:
        raise ImageError(f"'{name}' is not an image in an accepted format (accepted: {', '.join(FORMATS)}).") from exc
    except MemoryError as exc:
        raise ImageError(f"'{name}' needs more memory to decode than this machine has.") from exc
    except DECODE_ERRORS as exc:
        raise ImageError(f"'{name}' is damaged or truncated and cannot be decoded "
                         f"({type(exc).__name__}: {str(exc)[:120]}).") from exc


def declared_size(data: bytes) -> tuple[int, int] | None:
    """The (width, height) an image's header declares, read without decoding its pixels (the first bytes of a
    file are often enough); None where no accepted format can read the header."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=list(FORMATS)) as opened:
                return opened.size
    except (UnidentifiedImageError, Image.DecompressionBombError, MemoryError, *DECODE_ERRORS):
        return None


def decode_image(data: bytes, name: str = "image") -> Image.Image:
    """Decode bytes into an upright RGB image, or raise ImageError saying why not."""
    return _decode(data, name)[0]


def load_image(data: bytes, name: str = "image") -> InputImage:
    """An InputImage from bytes, with the notes of what decoding changed."""
    image, notes = _decode(data, name)
    return InputImage(name=name, data=data, image=image, notes=notes)


def load_image_file(path: str | Path) -> InputImage:
    """An InputImage from a regular file, read only up to the image size limit."""
    data = read_regular_file(path, IMAGE_FILE_BYTES, "IMAGE_FILE_BYTES", ImageError, "an image file")
    return load_image(data, Path(path).name)


# When the model's view of a photo is worth a notice: enlarged this many times (it sees interpolated pixels) ...
ENLARGED_NOTICE = 4.0
# ... or keeping less than this share of the photo's area (a long panorama's centre crop)
KEPT_NOTICE = 0.5


def model_fit(w: int, h: int, pre: Preprocessing) -> tuple[float, float]:
    """(scale factor, kept fraction) of a w x h photo on its way to the model: how many times each side is enlarged
    (the larger of the two sides' factors; below 1 when shrunk) and the share of the photo's area inside the crop."""
    rw, rh = pre.resized_size(w, h)
    factor = max(rw / w, rh / h)
    left, top, right, bottom = pre.crop_box(w, h)
    inside = max(0.0, min(right, w) - max(left, 0.0)) * max(0.0, min(bottom, h) - max(top, 0.0))
    return factor, inside / (w * h)


def fit_notice(w: int, h: int, pre: Preprocessing) -> str | None:
    """One line saying that the model sees the photo much enlarged or cropped to a small part of it, else None."""
    factor, kept = model_fit(w, h, pre)
    notes = []
    if factor >= ENLARGED_NOTICE:
        rw, rh = pre.resized_size(w, h)
        then = f", then its centre {pre.crop_size}×{pre.crop_size}" if (rw, rh) != (pre.crop_size, pre.crop_size) else ""
        notes.append(f"scaled up {factor:.0f}× ({w}×{h} → {rw}×{rh}{then}): the model sees interpolated pixels, and maps "
                     "show them")
    if kept < KEPT_NOTICE:
        notes.append(f"cropped to {kept:.1%} of its area: the model sees only the centre {pre.crop_size}×{pre.crop_size} "
                     "of the resized photo; the rest is not explained")
    return f"This {w}×{h} image is " + "; and ".join(notes) + "." if notes else None
