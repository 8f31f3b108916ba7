"""interpret.spatial: the one Gaussian blur."""
import pytest
import torch
import torch.nn.functional as F
from torchvision.transforms.functional import gaussian_blur as torchvision_blur

from interpret.spatial import gaussian_blur


def _direct(x: torch.Tensor, sigma: float, radius: int, padding: str) -> torch.Tensor:
    """The same blur as one 2-D convolution with the outer-product kernel."""
    t = torch.arange(-radius, radius + 1, dtype=torch.float64)
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    k = (k[:, None] * k[None, :]) / (k.sum() ** 2)
    c = x.shape[1]
    padded = F.pad(x.double(), (radius,) * 4, mode=padding)
    return F.conv2d(padded, k.expand(c, 1, -1, -1).contiguous(), groups=c).float()


@pytest.mark.parametrize("padding", ["replicate", "reflect"])
def test_the_blur_matches_a_direct_convolution_and_keeps_a_constant_image_constant(padding):
    x = torch.rand(2, 3, 40, 30, generator=torch.Generator().manual_seed(0))
    blurred = gaussian_blur(x, 2.5, padding=padding)
    assert blurred.shape == x.shape
    torch.testing.assert_close(blurred, _direct(x, 2.5, 8, padding), atol=1e-5, rtol=1e-5)  # radius ceil(3 sigma)
    constant = torch.full((1, 3, 20, 20), 0.3)
    torch.testing.assert_close(gaussian_blur(constant, 4.0, padding=padding), constant)
    assert float(blurred.std()) < float(x.std())


def test_the_insertion_metrics_blur_is_torchvisions_11_by_11_sigma_5():
    x = torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(2))
    ours = gaussian_blur(x, 5.0, radius=5, padding="reflect")
    torch.testing.assert_close(ours, torchvision_blur(x, [11, 11], [5.0, 5.0]), atol=1e-5, rtol=1e-5)


def test_a_wide_blur_on_a_small_image_uses_replicated_edges():
    x = torch.rand(1, 1, 6, 6, generator=torch.Generator().manual_seed(3))
    wide = gaussian_blur(x, 50.0)  # radius clipped to 5: nearly the mean of the padded image everywhere
    assert wide.shape == x.shape and float(wide.max() - wide.min()) < float(x.max() - x.min()) / 3


def test_bad_blur_arguments_are_refused():
    with pytest.raises(ValueError, match="padding must be one of"):
        gaussian_blur(torch.zeros(1, 3, 8, 8), 1.0, padding="zeros")
    with pytest.raises(ValueError, match="sigma must be positive"):
        gaussian_blur(torch.zeros(1, 3, 8, 8), 0.0)
