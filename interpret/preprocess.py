"""How a photo becomes the tensor a model sees, and back again."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

_RESAMPLE = {
    "nearest": Image.Resampling.NEAREST,
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
    "lanczos": Image.Resampling.LANCZOS,
}


@dataclass(frozen=True)
class Preprocessing:
    """Resize the shorter side, centre-crop, scale to [0, 1] and normalise (torchvision/timm style)."""

    crop_size: int = 224
    resize_size: int = 256
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    interpolation: str = "bilinear"

    def model_view(self, image: Image.Image) -> np.ndarray:
        """The resized, cropped RGB photo (uint8 HxWx3): exactly the pixels the model sees."""
        image = image.convert("RGB")
        w, h = image.size
        scale = self.resize_size / min(w, h)
        size = (max(self.crop_size, round(w * scale)), max(self.crop_size, round(h * scale)))
        image = image.resize(size, _RESAMPLE[self.interpolation])
        left = (size[0] - self.crop_size) // 2
        top = (size[1] - self.crop_size) // 2
        image = image.crop((left, top, left + self.crop_size, top + self.crop_size))
        return np.array(image, dtype=np.uint8)

    def normalize(self, pixels: np.ndarray) -> torch.Tensor:
        """uint8 HxWx3 (or NxHxWx3) pixels -> normalised float tensor NCHW."""
        x = torch.from_numpy(np.ascontiguousarray(pixels)).float().div_(255.0)
        if x.ndim == 3:
            x = x.unsqueeze(0)
        x = x.permute(0, 3, 1, 2)
        mean = torch.tensor(self.mean).view(1, 3, 1, 1)
        std = torch.tensor(self.std).view(1, 3, 1, 1)
        return ((x - mean) / std).contiguous()

    def to_tensor(self, image: Image.Image) -> torch.Tensor:
        """A PIL image -> the 1x3xHxW tensor the model is fed."""
        return self.normalize(self.model_view(image))

    def denormalize(self, x: torch.Tensor) -> np.ndarray:
        """A normalised CHW or NCHW tensor -> uint8 HxWx3 (first image of a batch)."""
        x = x.detach().cpu().float()
        if x.ndim == 4:
            x = x[0]
        mean = torch.tensor(self.mean).view(3, 1, 1)
        std = torch.tensor(self.std).view(3, 1, 1)
        pixels = (x * std + mean).clamp(0, 1).mul(255).round().byte()
        return pixels.permute(1, 2, 0).numpy()

    def zero_pixel(self) -> torch.Tensor:
        """The normalised value of a black pixel, per channel (shape 1x3x1x1)."""
        return (-torch.tensor(self.mean) / torch.tensor(self.std)).view(1, 3, 1, 1)
