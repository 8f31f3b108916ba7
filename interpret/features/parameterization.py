"""Image parameterisations for feature visualisation (Olah et al. 2017, "Feature Visualization").

Optimising raw pixels yields high-frequency noise. Two standard remedies, as in lucid/lucent:
a Fourier basis whose coefficients are scaled by 1/frequency (so that every frequency is equally
easy to change), and colours decorrelated with the square root of ImageNet's colour covariance.
Written here (about 40 lines) because lucent pins old torch versions and is not installed.
"""
from __future__ import annotations

import numpy as np
import torch

PARAMETERIZATIONS = ("fourier", "pixel")

# Square root of ImageNet's colour covariance (lucid's color_correlation_svd_sqrt).
_COLOR_SQRT = np.array([[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]], dtype=np.float32)
_COLOR = torch.from_numpy(_COLOR_SQRT / np.max(np.linalg.norm(_COLOR_SQRT, axis=0)))


def _frequencies(h: int, w: int) -> np.ndarray:
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.rfftfreq(w)[None, :]
    return np.sqrt(fx * fx + fy * fy)


class ImageParam(torch.nn.Module):
    """A 1 x 3 x H x W image in [0, 1] built from learnable parameters."""

    scale: torch.Tensor  # the Fourier coefficients' 1/frequency scale (a buffer)

    def __init__(self, size: int, kind: str = "fourier", decorrelate: bool = True, seed: int = 0,
                 decay_power: float = 1.0):
        super().__init__()
        if kind not in PARAMETERIZATIONS:
            raise ValueError(f"parameterization must be one of {PARAMETERIZATIONS}")
        generator = torch.Generator().manual_seed(seed)
        self.size, self.kind, self.decorrelate = size, kind, decorrelate
        if kind == "fourier":
            freqs = _frequencies(size, size)
            scale = 1.0 / np.maximum(freqs, 1.0 / size) ** decay_power
            self.register_buffer("scale", torch.from_numpy(scale.astype(np.float32)))
            self.spectrum = torch.nn.Parameter(0.01 * torch.randn(1, 3, *freqs.shape, 2, generator=generator))
        else:
            self.pixels = torch.nn.Parameter(0.01 * torch.randn(1, 3, size, size, generator=generator))

    def forward(self) -> torch.Tensor:
        if self.kind == "fourier":
            spectrum = torch.view_as_complex(self.spectrum) * self.scale
            image = torch.fft.irfftn(spectrum, s=(self.size, self.size), norm="ortho") / 4.0
        else:
            image = self.pixels
        if self.decorrelate:
            image = torch.einsum("nchw,dc->ndhw", image, _COLOR.to(image.device))
        return torch.sigmoid(image)
