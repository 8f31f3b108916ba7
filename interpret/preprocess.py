"""How a photo becomes the tensor a model sees, and back again.

One `Preprocessing` can state every zoo's evaluation pipeline exactly: torchvision's `weights.transforms()`,
timm's `create_transform(**resolve_data_config(...))` (crop modes "center", "squash" and "border") and a
Hugging Face image processor (resize straight to a size, or the shortest edge then a crop). The differences
between them are fields: how the photo is resized (`resize_mode`), how the computed side and the crop offset
are rounded (`size_rounding`, `crop_rounding`), which code resizes (`backend`), the colour of the border
where the crop is larger than the resized photo (`pad_fill`) and the model's channel order.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields
from functools import lru_cache
from typing import Any

import numpy as np
import torch
from PIL import Image

from .errors import ImageError, ParameterError
from .limits import IMAGE_ASPECT_RATIO, NORMALISED_PIXEL_MAX, PREPROCESS_SIDE_MAX, PREPROCESS_SIDE_MIN, RESIZED_PIXELS

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

# Pillow's filters by the names torchvision's InterpolationMode and timm use for them (torchvision hands a
# PIL image to Image.resize with this filter; Pillow always antialiases when it shrinks).
_RESAMPLE = {
    "nearest": Image.Resampling.NEAREST,
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
    "lanczos": Image.Resampling.LANCZOS,
    "box": Image.Resampling.BOX,
    "hamming": Image.Resampling.HAMMING,
}
INTERPOLATIONS = tuple(_RESAMPLE)
# The filters torchvision's tensor resize has (the "tensor" backend).
TENSOR_INTERPOLATIONS = ("nearest", "bilinear", "bicubic", "lanczos")

# shorter: the short side becomes resize_size, the ratio is kept (torchvision's Resize(int), timm "center");
# longer: the long side becomes resize_size, the ratio is kept (timm "border": the crop then adds a border);
# squash: both sides become resize_size, the ratio is not kept (timm "squash", ViT image processors).
RESIZE_MODES = ("shorter", "longer", "squash")
# floor: int(...) as torchvision computes the long side (and transformers the crop offset); round: Python's
# round (half to even), as torchvision's CenterCrop computes the offset and timm's ResizeKeepRatio the sides.
ROUNDINGS = ("round", "floor")
_ROUNDED = {"round": "rounded to nearest", "floor": "rounded down"}
CHANNEL_ORDERS = ("RGB", "BGR")
# pil: Pillow resizes the PIL image (torchvision and timm transforms); tensor: torchvision resizes the uint8
# tensor with antialias (transformers' image processors with the torchvision backend, the default in v5).
BACKENDS = ("pil", "tensor")


@lru_cache(maxsize=64)
def _stats(mean: tuple[float, ...], std: tuple[float, ...], device: str, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    return (torch.tensor(mean, device=device, dtype=dtype).view(1, 3, 1, 1),
            torch.tensor(std, device=device, dtype=dtype).view(1, 3, 1, 1))


def _side(value: float, rounding: str) -> int:
    return max(1, int(value) if rounding == "floor" else round(value))


def normalised_extreme(mean: tuple[float, ...], std: tuple[float, ...]) -> float:
    """The largest |(pixel - mean) / std| over pixels 0 and 1, computed in float32 as `standardise` does it
    (inf where a value overflows float32 or std rounds to 0 there, NaN stays NaN)."""
    with np.errstate(all="ignore"):
        m, s = np.asarray(mean, dtype=np.float32), np.asarray(std, dtype=np.float32)
        ends = np.abs((np.array([[0.0], [1.0]], dtype=np.float32) - m) / s)
    return float(ends.max()) if np.isfinite(ends).all() else math.inf


def _check_normalisation(mean: tuple[float, ...], std: tuple[float, ...]) -> None:
    extreme = normalised_extreme(mean, std)
    if not extreme <= NORMALISED_PIXEL_MAX:
        got = "is infinite or NaN" if math.isinf(extreme) else f"reaches {extreme:.3g}"
        raise ParameterError(f"Preprocessing mean {mean} and std {std}: a pixel in [0, 1] normalised in float32 "
                             f"{got}; at most {NORMALISED_PIXEL_MAX:g} is accepted (limit NORMALISED_PIXEL_MAX).")


def _choice(name: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ParameterError(f"Preprocessing {name} '{value}' is not one of: {', '.join(allowed)}.")


@dataclass(frozen=True)
class Preprocessing:
    """Resize, centre-crop, scale to [0, 1] and normalise (torchvision, timm and transformers styles).

    The defaults are the rules this app always used (long side and crop offset as today); the zoos' own
    pipelines come from interpret/zoo_preprocessing.py, and `IMAGENET` below is torchvision's ResNet one."""

    crop_size: int = 224  # the model's input is crop_size x crop_size
    resize_size: int = 256
    mean: tuple[float, ...] = IMAGENET_MEAN  # one value per channel of the model's input, in channel_order
    std: tuple[float, ...] = IMAGENET_STD
    interpolation: str = "bilinear"
    resize_mode: str = "shorter"
    size_rounding: str = "round"  # the side a ratio-keeping resize computes
    crop_rounding: str = "floor"  # the crop's left/top offset, (side - crop) / 2
    pad_fill: tuple[int, int, int] = (0, 0, 0)  # RGB colour added where the crop is larger than the resized photo
    channel_order: str = "RGB"
    backend: str = "pil"

    def __post_init__(self) -> None:
        object.__setattr__(self, "mean", tuple(float(v) for v in self.mean))
        object.__setattr__(self, "std", tuple(float(v) for v in self.std))
        object.__setattr__(self, "pad_fill", tuple(int(v) for v in self.pad_fill))
        for name in ("crop_size", "resize_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not (
                    PREPROCESS_SIDE_MIN <= value <= PREPROCESS_SIDE_MAX):
                raise ParameterError(f"Preprocessing {name.replace('_', ' ')} {value!r} is not a whole number of pixels "
                                     f"from {PREPROCESS_SIDE_MIN} to {PREPROCESS_SIDE_MAX} "
                                     "(limits PREPROCESS_SIDE_MIN and PREPROCESS_SIDE_MAX).")
            object.__setattr__(self, name, int(value))
        for name, values in (("mean", self.mean), ("std", self.std)):
            if len(values) != 3 or not all(math.isfinite(v) for v in values):
                raise ParameterError(f"Preprocessing {name} {values} must be three finite numbers, one per colour channel.")
        if min(self.std) <= 0:
            raise ParameterError(f"Preprocessing std {self.std} must be positive: the input is divided by it.")
        _check_normalisation(self.mean, self.std)
        if len(self.pad_fill) != 3 or not all(0 <= v <= 255 for v in self.pad_fill):
            raise ParameterError(f"Preprocessing pad fill {self.pad_fill} must be three values from 0 to 255 (an RGB colour).")
        _choice("interpolation", self.interpolation, INTERPOLATIONS)
        _choice("resize mode", self.resize_mode, RESIZE_MODES)
        _choice("size rounding", self.size_rounding, ROUNDINGS)
        _choice("crop rounding", self.crop_rounding, ROUNDINGS)
        _choice("channel order", self.channel_order, CHANNEL_ORDERS)
        _choice("backend", self.backend, BACKENDS)
        if self.backend == "tensor":
            _choice("interpolation (tensor backend)", self.interpolation, TENSOR_INTERPOLATIONS)

    def replace(self, **changes: Any) -> Preprocessing:
        """A copy with some fields changed (checked like a new one); unknown field names are refused."""
        unknown = set(changes) - {f.name for f in fields(self)}
        if unknown:
            raise ParameterError(f"Preprocessing has no setting {', '.join(sorted(unknown))}.")
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        return Preprocessing(**{**values, **changes})

    @property
    def crops(self) -> bool:
        """False where the photo is resized straight to the input size (a squash to crop_size): nothing is cut."""
        return not (self.resize_mode == "squash" and self.resize_size == self.crop_size)

    def resized_size(self, w: int, h: int) -> tuple[int, int]:
        """The size a w x h photo is resized to before the crop; refuses sizes whose resize would explode.

        With the ratio kept, the short side goes to `resize_size`, so a long thin image's long side grows with it:
        a 1 x 50 000 strip would become 256 x 12.8 M. Refused above IMAGE_ASPECT_RATIO : 1 or RESIZED_PIXELS."""
        if w < 1 or h < 1:
            raise ImageError(f"An image of {w}x{h} pixels has nothing to resize.")
        if max(w, h) > IMAGE_ASPECT_RATIO * min(w, h):
            raise ImageError(f"A {w}x{h} image is {max(w, h) / min(w, h):.0f} times longer than wide; images up to "
                             f"{IMAGE_ASPECT_RATIO}:1 are accepted (limit IMAGE_ASPECT_RATIO).")
        target = self.resize_size
        if self.resize_mode == "squash":
            size = (target, target)
        else:
            short, long = (w, h) if w <= h else (h, w)
            if self.size_rounding == "floor":  # torchvision: the fixed side exact, the other int(size * other / fixed)
                if self.resize_mode == "shorter":
                    new_short, new_long = target, _side(target * long / short, "floor")
                else:
                    new_short, new_long = _side(target * short / long, "floor"), target
                size = (new_short, new_long) if w <= h else (new_long, new_short)
            else:  # timm's ResizeKeepRatio: both sides round(side / ratio)
                ratio = (short if self.resize_mode == "shorter" else long) / target
                size = (_side(w / ratio, "round"), _side(h / ratio, "round"))
        if size[0] * size[1] > RESIZED_PIXELS:
            raise ImageError(f"A {w}x{h} image resized for this model would be {size[0]}x{size[1]} pixels; up to "
                             f"{RESIZED_PIXELS / 1e6:.0f} MP are accepted (limit RESIZED_PIXELS).")
        return size

    def _padding(self, size: tuple[int, int]) -> tuple[int, int, int, int]:
        """(left, top, right, bottom) border added where the crop is larger than the resized photo (torchvision's rule)."""
        c = self.crop_size
        dw, dh = max(0, c - size[0]), max(0, c - size[1])
        return dw // 2, dh // 2, (dw + 1) // 2, (dh + 1) // 2

    def _offset(self, side: int) -> int:
        half = (side - self.crop_size) / 2.0
        return int(half) if self.crop_rounding == "floor" else int(round(half))

    def _crop_in_resized(self, size: tuple[int, int]) -> tuple[int, int]:
        """(left, top) of the crop in the resized photo's coordinates (negative where a border was added)."""
        left, top, right, bottom = self._padding(size)
        padded = (size[0] + left + right, size[1] + top + bottom)
        return self._offset(padded[0]) - left, self._offset(padded[1]) - top

    def crop_box(self, w: int, h: int) -> tuple[float, float, float, float]:
        """(left, top, right, bottom) of what the model sees, in the coordinates of the original w x h photo.

        For drawing the crop on the photo: it reaches past the photo's edges where the crop adds a border."""
        size = self.resized_size(w, h)
        left, top = self._crop_in_resized(size)
        sx, sy = w / size[0], h / size[1]
        return (left * sx, top * sy, (left + self.crop_size) * sx, (top + self.crop_size) * sy)

    def _resize(self, image: Image.Image, size: tuple[int, int]) -> Image.Image:
        if size == image.size:  # torchvision returns the photo untouched
            return image
        if self.backend == "pil":
            return image.resize(size, _RESAMPLE[self.interpolation])
        from torchvision.transforms import InterpolationMode
        from torchvision.transforms.v2 import functional as tvF

        pixels = torch.from_numpy(np.array(image)).permute(2, 0, 1).contiguous().unsqueeze(0)
        resized = tvF.resize(pixels, [size[1], size[0]], interpolation=InterpolationMode(self.interpolation), antialias=True)
        return Image.fromarray(resized[0].permute(1, 2, 0).numpy())

    def model_view(self, image: Image.Image) -> np.ndarray:
        """The resized, cropped RGB photo (uint8 HxWx3): exactly the pixels the model sees."""
        size = self.resized_size(*image.size)
        image = self._resize(image.convert("RGB"), size)
        left, top = self._crop_in_resized(size)
        c = self.crop_size
        if left >= 0 and top >= 0 and left + c <= size[0] and top + c <= size[1]:
            return np.array(image.crop((left, top, left + c, top + c)), dtype=np.uint8)
        canvas = Image.new("RGB", (c, c), tuple(self.pad_fill))
        canvas.paste(image, (-left, -top))
        return np.array(canvas, dtype=np.uint8)

    def _to_model_order(self, x: torch.Tensor) -> torch.Tensor:
        """RGB channels (dim -3) -> the model's channel order; the same flip goes back."""
        return x.flip(-3) if self.channel_order == "BGR" else x

    def stats(self, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
        """(mean, std) as 1x3x1x1 tensors in the model's channel order, on `device` (built once: never modify them)."""
        return _stats(tuple(self.mean), tuple(self.std), str(torch.device(device)), dtype)

    def standardise(self, unit: torch.Tensor) -> torch.Tensor:
        """RGB pixels in [0, 1] (NCHW tensor) -> the normalised input the model is fed, on the same device."""
        mean, std = self.stats(unit.device, unit.dtype)
        return (self._to_model_order(unit) - mean) / std

    def unstandardise(self, x: torch.Tensor) -> torch.Tensor:
        """A normalised NCHW (or CHW) tensor -> RGB pixels in [0, 1] (not clipped), same device and shape."""
        mean, std = self.stats(x.device, x.dtype)
        if x.ndim == 3:
            mean, std = mean[0], std[0]
        return self._to_model_order(x * std + mean)

    def normalize(self, pixels: np.ndarray) -> torch.Tensor:
        """uint8 HxWx3 (or NxHxWx3) RGB pixels -> normalised float tensor NCHW."""
        x = torch.from_numpy(np.ascontiguousarray(pixels)).float().div_(255.0)
        if x.ndim == 3:
            x = x.unsqueeze(0)
        return self.standardise(x.permute(0, 3, 1, 2)).contiguous()

    def to_tensor(self, image: Image.Image) -> torch.Tensor:
        """A PIL image -> the 1x3xHxW tensor the model is fed."""
        return self.normalize(self.model_view(image))

    def denormalize(self, x: torch.Tensor) -> np.ndarray:
        """A normalised CHW or NCHW tensor -> uint8 HxWx3 RGB (first image of a batch)."""
        x = x.detach().cpu().float()
        if x.ndim == 4:
            x = x[0]
        pixels = self.unstandardise(x).clamp(0, 1).mul(255).round().byte()
        return pixels.permute(1, 2, 0).numpy()

    def zero_pixel(self, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """The normalised value of a black pixel, per channel (shape 1x3x1x1)."""
        mean, std = self.stats(device, dtype)
        return -mean / std

    def describe(self) -> str:
        """One line saying what is done to a photo, for the sidebar, the overview and the CLI."""
        filt = f"{self.interpolation}{', tensor resize' if self.backend == 'tensor' else ''}"
        if self.resize_mode == "squash":
            resize = f"resize to {self.resize_size}×{self.resize_size} ({filt}, ratio not kept)"
        else:
            side = "shorter" if self.resize_mode == "shorter" else "longer"
            resize = f"resize the {side} side to {self.resize_size} ({filt}, the other side {_ROUNDED[self.size_rounding]})"
        if not self.crops:
            crop = "no crop"
        else:
            crop = f"centre crop {self.crop_size}×{self.crop_size} (offset {_ROUNDED[self.crop_rounding]})"
        numbers = ", ".join(f"{v:.4g}" for v in self.mean), ", ".join(f"{v:.4g}" for v in self.std)
        return f"{resize}; {crop}; {self.channel_order}; mean ({numbers[0]}); std ({numbers[1]})"


# torchvision's ImageNet evaluation pipeline (ResNet's weights.transforms()): resize 256, crop 224,
# bilinear, torchvision's rounding. The starting point for a model that names no preprocessing of its own.
IMAGENET = Preprocessing(size_rounding="floor", crop_rounding="round")
