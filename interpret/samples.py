"""Real photos that ship inside installed packages: the app works with no upload and no network."""
from __future__ import annotations

import io
from collections.abc import Callable
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image

from .errors import ImageError
from .images import InputImage, load_image


def _skimage(name: str) -> Callable[[], bytes]:
    def read() -> bytes:
        from skimage import data

        buffer = io.BytesIO()
        Image.fromarray(np.asarray(getattr(data, name)())).save(buffer, format="PNG")
        return buffer.getvalue()

    return read


def _file(package: str, *parts: str) -> Callable[[], bytes]:
    def read() -> bytes:
        module = __import__(package, fromlist=["__file__"])
        if module.__file__ is None:  # a namespace package: no folder of its own to read from
            raise FileNotFoundError(f"{package} has no files of its own")
        return Path(module.__file__).parent.joinpath(*parts).read_bytes()

    return read


# name shown -> (file name given to the decoded image, reader of its bytes)
SAMPLES: dict[str, tuple[str, Callable[[], bytes]]] = {
    "coffee": ("coffee.png", _skimage("coffee")),
    "chelsea": ("chelsea.png", _skimage("chelsea")),
    "grace_hopper": ("grace_hopper.jpg", _file("matplotlib", "mpl-data", "sample_data", "grace_hopper.jpg")),
    "rocket": ("rocket.png", _skimage("rocket")),
    "astronaut": ("astronaut.png", _skimage("astronaut")),
    "china": ("china.jpg", _file("sklearn", "datasets", "images", "china.jpg")),
    "flower": ("flower.jpg", _file("sklearn", "datasets", "images", "flower.jpg")),
}


def sample_names() -> list[str]:
    """The samples whose package is installed."""
    names = []
    for name in SAMPLES:
        try:
            sample_bytes(name)
        except ImageError:
            continue
        names.append(name)
    return names


@cache
def sample_bytes(name: str) -> bytes:
    if name not in SAMPLES:
        raise ImageError(f"No sample photo named '{name}'. Samples: {', '.join(SAMPLES)}.")
    try:
        return SAMPLES[name][1]()
    except (ImportError, OSError, AttributeError) as exc:
        raise ImageError(f"The sample '{name}' is not available: its package is not installed.") from exc


def load_sample(name: str) -> InputImage:
    return load_image(sample_bytes(name), SAMPLES[name][0] if name in SAMPLES else name)
