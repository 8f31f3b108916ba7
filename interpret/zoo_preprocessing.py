"""The exact preprocessing of each model zoo (torchvision, timm, Hugging Face transformers) as a Preprocessing."""
from __future__ import annotations

import math
from typing import Any

from .preprocess import Preprocessing


def _first(value: Any) -> int:
    return int(value[0] if isinstance(value, (list, tuple)) else value)


def torchvision_preprocessing(weights: Any) -> Preprocessing:
    """What `weights.transforms()` does (torchvision's ImageClassification preset), as a Preprocessing."""
    t = weights.transforms()
    return Preprocessing(crop_size=_first(t.crop_size), resize_size=_first(t.resize_size), mean=tuple(t.mean),
                         std=tuple(t.std), interpolation=t.interpolation.value)


def timm_preprocessing(model_or_cfg: Any) -> Preprocessing:
    """What timm's eval transform `create_transform(**resolve_data_config({}, model=m))` does, as a Preprocessing."""
    from timm.data import resolve_data_config

    cfg = resolve_data_config({}, model=model_or_cfg)
    size = int(cfg["input_size"][-1])
    return Preprocessing(
        crop_size=size,
        resize_size=int(math.floor(size / cfg.get("crop_pct", 0.875))),
        mean=tuple(float(v) for v in cfg["mean"]),
        std=tuple(float(v) for v in cfg["std"]),
        interpolation=cfg["interpolation"] if cfg.get("interpolation") in ("bilinear", "bicubic", "nearest") else "bicubic",
    )
