"""Bytes of hostile and malformed files: images in every format Pillow writes, patched headers, checkpoints.

Everything is built in memory from the sample photos or from nothing; nothing binary lives in the repository.
"""
from __future__ import annotations

import io
import json
import struct
import zlib
from functools import lru_cache

import numpy as np
from PIL import Image


@lru_cache(maxsize=4)
def _sample(name: str) -> Image.Image:
    from interpret.samples import sample_bytes

    return Image.open(io.BytesIO(sample_bytes(name))).convert("RGB")


def photo(size: tuple[int, int] = (160, 120), sample: str = "coffee", seed: int | None = None) -> Image.Image:
    """A real photo at `size`; with a seed, a little noise makes it distinct from every other seed."""
    image = _sample(sample).resize(size, Image.Resampling.BILINEAR)
    if seed is None:
        return image
    rng = np.random.default_rng(seed)
    pixels = np.asarray(image, dtype=np.int16) + rng.integers(-6, 7, size=(size[1], size[0], 3))
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def photo_bytes(fmt: str = "PNG", size: tuple[int, int] = (160, 120), sample: str = "coffee", **options) -> bytes:
    return encode(photo(size, sample), fmt, **options)


# ---- PNG chunks ----------------------------------------------------------------------------------------------

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """(type, body) of every chunk of a PNG."""
    chunks, pos = [], len(PNG_SIGNATURE)
    while pos + 8 <= len(data):
        length = int.from_bytes(data[pos:pos + 4], "big")
        chunks.append((data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]))
        pos += 12 + length
    return chunks


def png_from_chunks(chunks: list[tuple[bytes, bytes]], bad_crc: bytes = b"") -> bytes:
    """A PNG from chunks, each with its CRC (wrong, for the chunk types named in `bad_crc`)."""
    out = bytearray(PNG_SIGNATURE)
    for kind, body in chunks:
        crc = zlib.crc32(kind + body) ^ (0xFFFFFFFF if kind == bad_crc else 0)
        out += len(body).to_bytes(4, "big") + kind + body + crc.to_bytes(4, "big")
    return bytes(out)


def png_declaring(width: int, height: int, mode: str = "L") -> bytes:
    """A tiny PNG whose header claims width x height (its pixel data is that of 1 x 1)."""
    chunks = png_chunks(encode(Image.new(mode, (1, 1)), "PNG"))
    kind, body = chunks[0]
    chunks[0] = (kind, struct.pack(">II", width, height) + body[8:])
    return png_from_chunks(chunks)


def png_gray(width: int, height: int) -> bytes:
    """A real width x height grayscale PNG (a horizontal ramp), compressed: a few hundred bytes for thin ones."""
    ramp = (np.arange(width, dtype=np.uint32) * 255 // max(1, width - 1)).astype(np.uint8)
    return encode(Image.fromarray(np.broadcast_to(ramp, (height, width)).copy()), "PNG", compress_level=9)


@lru_cache(maxsize=2)
def png_zeros(width: int, height: int) -> bytes:
    """A width x height black PNG written chunk by chunk (a 49 MP one is about 50 KB)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    compressor, row, parts = zlib.compressobj(9), bytes(width + 1), []
    for _ in range(height):
        parts.append(compressor.compress(row))
    parts.append(compressor.flush())
    return png_from_chunks([(b"IHDR", ihdr), (b"IDAT", b"".join(parts)), (b"IEND", b"")])


# ---- JPEG segments -------------------------------------------------------------------------------------------

def jpeg_declaring(width: int, height: int, pad_to: int = 0) -> bytes:
    """A small real JPEG whose frame header claims width x height, padded with a comment to `pad_to` bytes."""
    data = bytearray(photo_bytes("JPEG", (64, 64), quality=90))
    pos = 2
    while pos < len(data):
        marker, length = data[pos + 1], int.from_bytes(data[pos + 2:pos + 4], "big")
        if marker in (0xC0, 0xC1, 0xC2):
            data[pos + 5:pos + 9] = struct.pack(">HH", height, width)
            break
        pos += 2 + length
    if pad_to > len(data):
        extra = min(pad_to - len(data), 65000)
        data[2:2] = b"\xff\xfe" + (extra + 2).to_bytes(2, "big") + bytes(extra)
    return bytes(data)


def jpeg_with_app1(payload_bytes: int) -> bytes:
    """A real JPEG with APP1 (EXIF-like) segments totalling `payload_bytes` before the image."""
    data = photo_bytes("JPEG", (160, 120))
    segments, left = bytearray(), payload_bytes
    while left > 0:
        size = min(left, 65000)
        segments += b"\xff\xe1" + (size + 2).to_bytes(2, "big") + b"Exif\x00\x00" + bytes(size - 6)
        left -= size
    return data[:2] + bytes(segments) + data[2:]


def jpeg_with_orientation(orientation: int) -> bytes:
    image = photo((160, 120))
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(image, "JPEG", exif=exif.tobytes())


# ---- multi-frame and high bit depth --------------------------------------------------------------------------

def animated_gif(colours: list[tuple[int, int, int]], size: tuple[int, int] = (64, 48)) -> bytes:
    frames = [Image.new("RGB", size, c).convert("P") for c in colours]
    return encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)


def frames(fmt: str, colours: list[tuple[int, int, int]], size: tuple[int, int] = (64, 48), **options) -> bytes:
    """A multi-frame file (MPO, WEBP, GIF, PNG) whose frames are flat colours, the first one first."""
    images = [Image.new("RGB", size, c) for c in colours]
    return encode(images[0], fmt, save_all=True, append_images=images[1:], **options)


def png_with_text_bomb(inflated: int) -> bytes:
    """A real PNG with a zTXt chunk that inflates to `inflated` bytes (metadata, not pixels)."""
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("comment", "A" * inflated, zip=True)
    return encode(photo(), "PNG", pnginfo=info)


def png_many_idat(pieces: int = 5000) -> bytes:
    """A real PNG whose image data is split into `pieces` IDAT chunks (one byte each, mostly)."""
    chunks = png_chunks(encode(photo(), "PNG"))
    data = b"".join(body for kind, body in chunks if kind == b"IDAT")
    step = max(1, len(data) // pieces)
    idats = [(b"IDAT", data[i:i + step]) for i in range(0, len(data), step)]
    return png_from_chunks([chunks[0]] + idats + [(b"IEND", b"")])


def gif_zero_size_frame() -> bytes:
    """A GIF whose logical screen is 64 x 48 and whose only image descriptor is 0 x 0."""
    data = bytearray(encode(Image.new("P", (64, 48)), "GIF"))
    pos = data.index(b"\x2c", 13)  # the image separator after the header and colour table
    data[pos + 5:pos + 9] = struct.pack("<HH", 0, 0)
    return bytes(data)


def float_tiff(values: np.ndarray) -> bytes:
    """A 32-bit float TIFF (mode F) of the given 2-D array, NaN and Inf included as given."""
    return encode(Image.fromarray(values.astype(np.float32), mode="F"), "TIFF")


def ramp(height: int = 48, width: int = 64) -> np.ndarray:
    return np.tile(np.linspace(0.0, 1.0, width, dtype=np.float32), (height, 1))


def png16(height: int = 48, width: int = 64) -> bytes:
    values = (ramp(height, width) * 65535).astype(np.uint16)
    return encode(Image.fromarray(values), "PNG")


def tiff_declaring(width: int, height: int) -> bytes:
    """A little-endian TIFF whose header claims width x height over a few bytes of strip data."""
    data = bytearray(encode(Image.new("L", (4, 4)), "TIFF"))
    count = int.from_bytes(data[int.from_bytes(data[4:8], "little"):][:2], "little")
    start = int.from_bytes(data[4:8], "little") + 2
    for i in range(count):
        entry = start + 12 * i
        tag, kind = struct.unpack("<HH", data[entry:entry + 4])
        if tag in (256, 257):
            value = width if tag == 256 else height
            data[entry + 2:entry + 12] = struct.pack("<HII", 4, 1, value)
        del kind
    return bytes(data)


def eps_bytes() -> bytes:
    return b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 64 48\n0 0 moveto 64 48 lineto stroke\nshowpage\n%%EOF\n"


# ---- checkpoints and model files -----------------------------------------------------------------------------

def torch_save(obj) -> bytes:
    import torch

    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def resnet18_state() -> dict:
    """A ResNet-18 state dict with seeded random weights (44 MB)."""
    import torch
    import torchvision

    with torch.random.fork_rng():
        torch.manual_seed(0)
        return torchvision.models.resnet18(num_classes=1000).state_dict()


def strided_state(num_classes: int) -> dict:
    """ResNet-18's keys, every tensor a stride-0 view of one number: the head claims `num_classes` classes."""
    import torch

    shapes = dict(_resnet18_shapes())
    shapes["fc.weight"], shapes["fc.bias"] = (num_classes, 512), (num_classes,)
    return {k: torch.zeros(1).expand(*s) if s else torch.zeros(()) for k, s in shapes.items()}


@lru_cache(maxsize=1)
def _resnet18_shapes() -> dict:
    import torch
    import torchvision

    with torch.device("meta"):
        model = torchvision.models.resnet18()
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


def inflating_checkpoint(inflated: int) -> bytes:
    """A torch.save zip of one float tensor whose storage record is deflated zeros of `inflated` bytes.

    torch.save writes a meta tensor's storage without data; the record torch.load will read is then
    added as a deflated member (torch.save never compresses, but its reader inflates what it finds).
    """
    import zipfile

    import torch

    from .zipwriter import build_zip, stored, zeros

    source = zipfile.ZipFile(io.BytesIO(torch_save({"fc.bias": torch.empty(inflated // 4, device="meta")})))
    members = []
    prefix = source.namelist()[0].split("/")[0]
    for name in source.namelist():
        body = source.read(name)
        if name.endswith("data.pkl"):
            body = body.replace(b"X\x04\x00\x00\x00meta", b"X\x03\x00\x00\x00cpu")
        members.append(stored(name, body))
    members.append(zeros(f"{prefix}/data/0", inflated))
    return build_zip(members)


def safetensors_bytes(header: dict | bytes, data: bytes = b"", declared_length: int | None = None) -> bytes:
    body = header if isinstance(header, bytes) else json.dumps(header).encode()
    length = len(body) if declared_length is None else declared_length
    return struct.pack("<Q", length) + body + data


def linear_module():
    """A whole nn.Module (what torch.save(model) pickles): loading it needs the class, i.e. code."""
    import torch

    return torch.nn.Linear(2, 2)


class EvilReduce:
    """A pickle payload that creates `path` when unpickled by anything that runs code."""

    def __init__(self, path: str):
        self.path = path

    def __reduce__(self):
        import pathlib

        return (pathlib.Path.touch, (pathlib.Path(self.path),))


def evil_pickle(canary: str) -> bytes:
    import pickle

    return pickle.dumps({"fc.weight": EvilReduce(canary)}, protocol=2)


def evil_torch_zip(canary: str) -> bytes:
    import torch

    return torch_save({"fc.bias": torch.zeros(3), "payload": EvilReduce(canary)})
