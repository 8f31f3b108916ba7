"""Class names: ImageNet's, or a user's file (.txt one per line, or .json)."""
from __future__ import annotations

import json
from functools import lru_cache

from ..errors import ModelLoadError


@lru_cache(maxsize=1)
def imagenet_classes() -> tuple[str, ...]:
    """The 1000 ImageNet-1k class names, as torchvision ships them (no download)."""
    from torchvision.models import ResNet18_Weights

    return tuple(ResNet18_Weights.DEFAULT.meta["categories"])


def default_classes(num_classes: int) -> tuple[str, ...]:
    """ImageNet's names for a 1000-way head, else 'class 0', 'class 1', ..."""
    if num_classes == 1000:
        return imagenet_classes()
    return tuple(f"class {i}" for i in range(num_classes))


def parse_class_names(data: bytes, filename: str = "classes.txt") -> tuple[str, ...]:
    """Read class names from a .txt (one per line) or .json (a list, or a {index: name} mapping)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ModelLoadError(f"The class-names file '{filename}' is not UTF-8 text.") from exc
    if filename.lower().endswith(".json"):
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ModelLoadError(f"The class-names file '{filename}' is not valid JSON: {exc.msg} (line {exc.lineno}).") from exc
        if isinstance(value, dict):
            try:
                items = sorted((int(k), str(v)) for k, v in value.items())
            except ValueError as exc:
                raise ModelLoadError(f"The keys of '{filename}' must be class indices.") from exc
            if [k for k, _ in items] != list(range(len(items))):
                raise ModelLoadError(f"The indices in '{filename}' must run 0, 1, 2, ... without gaps.")
            names = [v for _, v in items]
        elif isinstance(value, list):
            names = [str(v) for v in value]
        else:
            raise ModelLoadError(f"'{filename}' must hold a list of names or an index-to-name mapping.")
    else:
        names = [line.strip() for line in text.splitlines() if line.strip()]
    if not names:
        raise ModelLoadError(f"The class-names file '{filename}' holds no names.")
    return tuple(names)


def fit_class_names(names: tuple[str, ...] | None, num_classes: int) -> tuple[str, ...]:
    """Check a user's names against the model's number of outputs."""
    if names is None:
        return default_classes(num_classes)
    if len(names) != num_classes:
        raise ModelLoadError(f"The class-names file has {len(names)} names but the model has {num_classes} outputs.")
    return names
