"""How a photo becomes the tensor a model sees, and back again."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
from PIL import Image

from .errors import ImageError
from .limits import IMAGE_ASPECT_RATIO, RESIZED_PIXELS

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

_RESAMPLE = {
    "nearest": Image.Resampling.NEAREST,
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
    "lanczos": Image.Resampling.LANCZOS,
}


@lru_cache(maxsize=64)
def _stats(mean: tuple[float, ...], std: tuple[float, ...], device: str, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    return (torch.tensor(mean, device=device, dtype=dtype).view(1, 3, 1, 1),
            torch.tensor(std, device=device, dtype=dtype).view(1, 3, 1, 1))


@dataclass(frozen=True)
class Preprocessing:
    """Resize the shorter side, centre-crop, scale to [0, 1] and normalise (torchvision/timm style)."""

    crop_size: int = 224
    resize_size: int = 256
    mean: tuple[float, ...] = IMAGENET_MEAN  # one value per colour channel (R, G, B)
    std: tuple[float, ...] = IMAGENET_STD
    interpolation: str = "bilinear"

    def resized_size(self, w: int, h: int) -> tuple[int, int]:
        """The size a w x h photo is resized to before the crop; refuses sizes whose resize would explode.

        The short side goes to `resize_size`, so a long thin image's long side grows with it: a 1 x 50 000
        strip would become 256 x 12.8 M. Refused above IMAGE_ASPECT_RATIO : 1 or RESIZED_PIXELS."""
        if w < 1 or h < 1:
            raise ImageError(f"An image of {w}x{h} pixels has nothing to resize.")
        if max(w, h) > IMAGE_ASPECT_RATIO * min(w, h):
            raise ImageError(f"A {w}x{h} image is {max(w, h) / min(w, h):.0f} times longer than wide; images up to "
                             f"{IMAGE_ASPECT_RATIO}:1 are accepted (limit IMAGE_ASPECT_RATIO).")
        scale = self.resize_size / min(w, h)
        size = (max(self.crop_size, round(w * scale)), max(self.crop_size, round(h * scale)))
        if size[0] * size[1] > RESIZED_PIXELS:
            raise ImageError(f"A {w}x{h} image resized for this model would be {size[0]}x{size[1]} pixels; up to "
                             f"{RESIZED_PIXELS / 1e6:.0f} MP are accepted (limit RESIZED_PIXELS).")
        return size

    def model_view(self, image: Image.Image) -> np.ndarray:
        """The resized, cropped RGB photo (uint8 HxWx3): exactly the pixels the model sees."""
        size = self.resized_size(*image.size)
        image = image.convert("RGB")
        image = image.resize(size, _RESAMPLE[self.interpolation])
        left = (size[0] - self.crop_size) // 2
        top = (size[1] - self.crop_size) // 2
        image = image.crop((left, top, left + self.crop_size, top + self.crop_size))
        return np.array(image, dtype=np.uint8)

    def stats(self, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
        """(mean, std) as 1x3x1x1 tensors on `device` (built once per device and dtype: never modify them)."""
        return _stats(tuple(self.mean), tuple(self.std), str(torch.device(device)), dtype)

    def standardise(self, unit: torch.Tensor) -> torch.Tensor:
        """Pixels in [0, 1] (NCHW tensor) -> the normalised input the model is fed, on the same device."""
        mean, std = self.stats(unit.device, unit.dtype)
        return (unit - mean) / std

    def unstandardise(self, x: torch.Tensor) -> torch.Tensor:
        """A normalised NCHW (or CHW) tensor -> pixels in [0, 1] (not clipped), same device and shape."""
        mean, std = self.stats(x.device, x.dtype)
        if x.ndim == 3:
            mean, std = mean[0], std[0]
        return x * std + mean

    def normalize(self, pixels: np.ndarray) -> torch.Tensor:
        """uint8 HxWx3 (or NxHxWx3) pixels -> normalised float tensor NCHW."""
        x = torch.from_numpy(np.ascontiguousarray(pixels)).float().div_(255.0)
        if x.ndim == 3:
            x = x.unsqueeze(0)
        return self.standardise(x.permute(0, 3, 1, 2)).contiguous()

    def to_tensor(self, image: Image.Image) -> torch.Tensor:
        """A PIL image -> the 1x3xHxW tensor the model is fed."""
        return self.normalize(self.model_view(image))

    def denormalize(self, x: torch.Tensor) -> np.ndarray:
        """A normalised CHW or NCHW tensor -> uint8 HxWx3 (first image of a batch)."""
        x = x.detach().cpu().float()
        if x.ndim == 4:
            x = x[0]
        pixels = self.unstandardise(x).clamp(0, 1).mul(255).round().byte()
        return pixels.permute(1, 2, 0).numpy()

    def zero_pixel(self, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """The normalised value of a black pixel, per channel (shape 1x3x1x1)."""
        mean, std = self.stats(device, dtype)
        return -mean / std
