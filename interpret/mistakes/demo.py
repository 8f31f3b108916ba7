"""A small labelled set from the photos that ship inside installed packages: the page works with no upload.

Labels are ImageNet classes a person would give. Two are honest mistakes of the bundled model:
Chelsea is a tabby (it says tiger cat) and Grace Hopper wears a military uniform (it says academic gown).
Each photo also appears mirrored and centre-cropped to 80 %, which keep the label.
"""
from __future__ import annotations

import io
from functools import lru_cache

from PIL import Image, ImageOps

from ..errors import ImageError
from ..samples import load_sample
from .filetree import MemoryTree
from .imageset import ImageSet, from_tree

DEMO_LABELS = {
    "coffee": "espresso",
    "chelsea": "tabby",
    "grace_hopper": "military uniform",
    "rocket": "missile",
    "china": "palace",
    "flower": "daisy",
}


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _centre_crop(image: Image.Image, fraction: float = 0.8) -> Image.Image:
    w, h = image.size
    cw, ch = round(w * fraction), round(h * fraction)
    left, top = (w - cw) // 2, (h - ch) // 2
    return image.crop((left, top, left + cw, top + ch))


@lru_cache(maxsize=1)
def demo_files() -> dict[str, bytes]:
    """path -> PNG/JPEG bytes, in class-named folders; samples whose package is missing are left out."""
    files = {}
    for sample, label in DEMO_LABELS.items():
        try:
            photo = load_sample(sample)
        except ImageError:
            continue
        suffix = photo.name.rsplit(".", 1)[-1]
        files[f"{label}/{sample}.{suffix}"] = photo.data
        files[f"{label}/{sample}-mirrored.png"] = _png(ImageOps.mirror(photo.image))
        files[f"{label}/{sample}-cropped.png"] = _png(_centre_crop(photo.image))
    return files


def demo_set() -> ImageSet:
    return from_tree(MemoryTree("demo set", demo_files()))
