"""Each model zoo's own evaluation preprocessing (torchvision, timm, Hugging Face transformers) as a Preprocessing.

Each function reads the zoo's settings and states its pipeline with the zoo's own rules: the long side and
the crop offset rounded the way its code rounds them, its crop mode, its filter and the code that resizes.
tests/test_preprocess_parity.py checks the tensors equal the zoo's own on every sample photo.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from .errors import ModelLoadError
from .preprocess import Preprocessing

# torchvision's InterpolationMode / Pillow's Image.Resampling numbers -> the names Preprocessing uses.
_PIL_FILTERS = {0: "nearest", 1: "lanczos", 2: "bilinear", 3: "bicubic", 4: "box", 5: "hamming"}


def _first(value: Any) -> int:
    return int(value[0] if isinstance(value, (list, tuple)) else value)


def torchvision_preprocessing(weights: Any) -> Preprocessing:
    """What `weights.transforms()` does (torchvision's ImageClassification preset), as a Preprocessing.

    Resize(resize_size) of the short side, the long side int(size * long / short) (Pillow, antialiased);
    CenterCrop(crop_size) at int(round((side - crop) / 2)), zero border if the crop is larger; /255; Normalize."""
    from torchvision.transforms._presets import ImageClassification

    t = weights.transforms()
    if not isinstance(t, ImageClassification):
        raise ModelLoadError(f"The transforms of torchvision weights {weights} are a {type(t).__name__}, "
                             "not the ImageClassification preset this app reproduces.")
    return Preprocessing(crop_size=_first(t.crop_size), resize_size=_first(t.resize_size), mean=tuple(t.mean),
                         std=tuple(t.std), interpolation=t.interpolation.value, resize_mode="shorter",
                         size_rounding="floor", crop_rounding="round")


def _timm_config(model_or_cfg: Any) -> dict[str, Any]:
    from timm.data import resolve_data_config

    if isinstance(model_or_cfg, Mapping) or hasattr(model_or_cfg, "to_dict"):
        cfg = dict(model_or_cfg) if isinstance(model_or_cfg, Mapping) else model_or_cfg.to_dict()
        return resolve_data_config({}, pretrained_cfg=cfg)
    return resolve_data_config({}, model=model_or_cfg)


def timm_preprocessing(model_or_cfg: Any) -> Preprocessing:
    """What timm's eval transform `create_transform(**resolve_data_config({}, model=m))` does, as a Preprocessing.

    Takes a timm model or its pretrained config (a dict or timm's PretrainedCfg). As transforms_imagenet_eval:
    scale = floor(size / crop_pct); "center": torchvision Resize(scale) of the short side then CenterCrop;
    "squash": Resize((scale, scale)) then CenterCrop; "border": ResizeKeepRatio(scale, longest=1), rounding
    both sides, then CenterCropOrPad with a border of the mean colour."""
    cfg = _timm_config(model_or_cfg)
    _, height, width = cfg["input_size"]
    if height != width:
        raise ModelLoadError(f"This timm model expects a {width}x{height} input; the app handles square inputs only.")
    crop_pct = cfg.get("crop_pct") or 0.875  # timm's DEFAULT_CROP_PCT, with its `or`
    mode = cfg.get("crop_mode") or "center"
    interpolation = cfg.get("interpolation", "bilinear")
    if interpolation not in _PIL_FILTERS.values():
        raise ModelLoadError(f"timm interpolation '{interpolation}' is not an evaluation filter this app reproduces.")
    if mode not in ("center", "squash", "border"):
        raise ModelLoadError(f"timm crop mode '{mode}' is not one of center, squash, border.")
    mean = tuple(float(v) for v in cfg["mean"])
    return Preprocessing(
        crop_size=int(height),
        resize_size=int(math.floor(height / crop_pct)),
        mean=mean,
        std=tuple(float(v) for v in cfg["std"]),
        interpolation=interpolation,
        resize_mode={"center": "shorter", "squash": "squash", "border": "longer"}[mode],
        size_rounding="round" if mode == "border" else "floor",
        crop_rounding="round",
        pad_fill=tuple(round(255 * v) for v in mean) if mode == "border" else (0, 0, 0),  # type: ignore[arg-type]
    )


def _positive(value: Any) -> bool:
    """A finite number above 0 (not a bool): what a processor's crop_pct and rescale_factor must be to divide by."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0


def _get(size: Any, key: str) -> Any:
    if size is None:
        return None
    return size.get(key) if isinstance(size, Mapping) else getattr(size, key, None)


def channel_values(values: Any, name: str, what: str) -> tuple[float, float, float]:
    """One value per colour channel from a processor's number or list (a ModelLoadError unless 3 channels)."""
    if isinstance(values, (int, float)):
        values = [values] * 3
    values = [float(v) for v in values]
    if len(values) != 3:
        raise ModelLoadError(f"The image processor {name} has {len(values)} {what} values; the app handles 3 channels.")
    return values[0], values[1], values[2]


def transformers_preprocessing(processor: Any) -> Preprocessing:
    """What a Hugging Face image processor does to one photo, as a Preprocessing.

    Resize to size{"height", "width"} (a squash, ViTImageProcessor) or of the shortest edge (int() for the other
    side), ConvNeXt's crop_pct rule (shortest_edge < 384: resize to int(edge / crop_pct), crop edge; else a
    squash), an optional centre crop at int((side - crop) / 2), rescale and normalise. Resized by torchvision on
    the uint8 tensor for the torchvision backend (transformers' default), by Pillow for the PIL one."""
    name = type(processor).__name__
    if not getattr(processor, "do_resize", True):
        raise _refusal(name, "it does not resize, so its input's size is the photo's")
    settings: dict[str, Any] = {"interpolation": _hf_interpolation(processor, name), "size_rounding": "floor",
                                "crop_rounding": "floor", **_hf_resize(processor, name)}
    settings.update(_hf_crop(processor, name, settings))
    mean, std = _hf_mean_std(processor, name)
    backend = "pil" if getattr(processor, "backend", "torchvision") == "pil" else "tensor"
    return Preprocessing(mean=mean, std=std, backend=backend, **settings)


def _refusal(name: str, why: str) -> ModelLoadError:
    return ModelLoadError(f"The image processor {name} cannot be reproduced: {why}.")


def _hf_interpolation(processor: Any, name: str) -> str:
    resample = getattr(processor, "resample", 2)
    interpolation = _PIL_FILTERS.get(int(resample.value if hasattr(resample, "value") else resample))
    if interpolation is None:
        raise _refusal(name, f"resample {resample!r} is not a Pillow filter")
    return interpolation


def _hf_resize(processor: Any, name: str) -> dict[str, Any]:
    """The resize: ConvNeXt's crop_pct rule, a square squash to height x width, or the shortest edge's."""
    size = getattr(processor, "size", None)
    height, width, shortest = _get(size, "height"), _get(size, "width"), _get(size, "shortest_edge")
    crop_pct = getattr(processor, "crop_pct", None)
    if crop_pct is not None and not _positive(crop_pct):  # the resize divides by it
        raise _refusal(name, f"its crop_pct {crop_pct!r} is not a positive number")
    if crop_pct is not None and shortest and name.startswith("ConvNext"):
        if shortest < 384:
            return {"resize_mode": "shorter", "resize_size": int(shortest / crop_pct), "crop_size": int(shortest)}
        return {"resize_mode": "squash", "resize_size": int(shortest), "crop_size": int(shortest)}
    if height and width:
        if height != width:
            raise _refusal(name, f"it resizes to {width}x{height}; the app handles square inputs only")
        return {"resize_mode": "squash", "resize_size": int(height), "crop_size": int(height)}
    if shortest and not _get(size, "longest_edge"):
        return {"resize_mode": "shorter", "resize_size": int(shortest), "crop_size": int(shortest)}
    raise _refusal(name, f"its size {size} does not give one fixed input size")


def _hf_crop(processor: Any, name: str, settings: dict[str, Any]) -> dict[str, Any]:
    """The centre crop's size where the processor crops (square only); refused where the input would not be square."""
    if getattr(processor, "do_center_crop", False):
        crop = getattr(processor, "crop_size", None)
        ch, cw = _get(crop, "height"), _get(crop, "width")
        if not ch or ch != cw:
            raise _refusal(name, f"its crop size {crop} is not a square")
        if name.startswith("ConvNext") and settings["resize_mode"] == "shorter" and ch != settings["crop_size"]:
            raise _refusal(name, f"it crops twice ({settings['crop_size']}, then {ch})")
        return {"crop_size": int(ch)}
    if settings["resize_mode"] == "shorter" and not name.startswith("ConvNext"):
        raise _refusal(name, "it keeps the photo's ratio and does not crop, so its input is not square")
    return {}


def _hf_mean_std(processor: Any, name: str) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
    """Mean and std on the 0-1 scale: its rescale factor folded in (input = (x * factor - mean) / std)."""
    factor = getattr(processor, "rescale_factor", 1 / 255) if getattr(processor, "do_rescale", True) else 1.0
    if not _positive(factor):  # mean and std are divided by it
        raise _refusal(name, f"its rescale_factor {factor!r} is not a positive number")
    factor = float(factor)
    if getattr(processor, "do_normalize", True):
        mean, std = channel_values(processor.image_mean, name, "mean"), channel_values(processor.image_std, name, "std")
    else:
        mean, std = (0.0, 0.0, 0.0), (1.0, 1.0, 1.0)
    if factor == 1 / 255:
        return mean, std
    scale = 255 * factor  # (x * factor - mean) / std = (x / 255 - mean / scale) / (std / scale)
    return (mean[0] / scale, mean[1] / scale, mean[2] / scale), (std[0] / scale, std[1] / scale, std[2] / scale)
