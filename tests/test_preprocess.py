"""The tensor the model sees, shown back to the user, is exactly the resized crop."""
import numpy as np
import pytest
import torch
from PIL import Image

from interpret import limits
from interpret.errors import ImageError
from interpret.preprocess import Preprocessing


def test_denormalised_tensor_is_the_model_view(coffee):
    pre = Preprocessing(crop_size=224, resize_size=256, mean=(0.5, 0.4, 0.3), std=(0.2, 0.25, 0.3))
    x = pre.to_tensor(coffee.image)
    assert tuple(x.shape) == (1, 3, 224, 224)
    view = pre.model_view(coffee.image)
    assert np.abs(pre.denormalize(x).astype(int) - view.astype(int)).max() <= 1


def test_black_pixel_normalises_to_zero_pixel():
    pre = Preprocessing()
    x = pre.normalize(np.zeros((4, 4, 3), np.uint8))
    assert np.allclose(x[0, :, 0, 0].numpy(), pre.zero_pixel().flatten().numpy())


def test_centre_crop_of_a_wide_photo(coffee):
    pre = Preprocessing(crop_size=100, resize_size=100)
    assert pre.model_view(coffee.image).shape == (100, 100, 3)


def test_the_mean_and_std_tensors_are_built_once_per_device_and_dtype():
    pre = Preprocessing(mean=(0.5, 0.4, 0.3), std=(0.2, 0.25, 0.3))
    mean, std = pre.stats()
    assert mean.shape == std.shape == (1, 3, 1, 1) and mean.dtype == torch.float32
    assert torch.equal(mean.flatten(), torch.tensor([0.5, 0.4, 0.3]))
    assert torch.equal(std.flatten(), torch.tensor([0.2, 0.25, 0.3]))
    assert pre.stats()[0] is mean and pre.stats("cpu", torch.float64)[0].dtype == torch.float64
    assert Preprocessing(mean=(0.5, 0.4, 0.3), std=(0.2, 0.25, 0.3)).stats()[1] is std  # equal settings, same tensors


def test_standardise_and_unstandardise_are_inverse_and_agree_with_normalize():
    pre = Preprocessing()
    pixels = np.random.default_rng(0).integers(0, 256, (2, 8, 8, 3), dtype=np.uint8)
    x = pre.normalize(pixels)
    unit = torch.from_numpy(pixels).double().div(255).permute(0, 3, 1, 2)
    torch.testing.assert_close(pre.standardise(unit), x.double(), atol=1e-6, rtol=1e-6)
    torch.testing.assert_close(pre.unstandardise(x), unit.float(), atol=1e-6, rtol=1e-6)
    torch.testing.assert_close(pre.unstandardise(x[0]), unit[0].float(), atol=1e-6, rtol=1e-6)  # CHW too
    assert torch.equal(pre.zero_pixel(), pre.standardise(torch.zeros(1, 3, 1, 1)))


@pytest.mark.parametrize("size", [(1, 50_000), (2, 20_000_000), (21, 1)])
def test_a_resize_that_would_explode_is_refused_before_any_pixel_is_made(size):
    with pytest.raises(ImageError, match="IMAGE_ASPECT_RATIO"):
        Preprocessing().resized_size(*size)


def test_the_resized_pixel_bound_holds_for_large_resize_sizes():
    pre = Preprocessing(crop_size=1024, resize_size=1024)
    with pytest.raises(ImageError, match="RESIZED_PIXELS"):
        pre.resized_size(20 * 100, 100)
    assert pre.resized_size(400, 100) == (4096, 1024)


def test_the_largest_accepted_strip_resizes_within_the_bound():
    w, h = Preprocessing(crop_size=518, resize_size=518).resized_size(limits.IMAGE_ASPECT_RATIO, 1)
    assert (w, h) == (518 * limits.IMAGE_ASPECT_RATIO, 518) and w * h <= limits.RESIZED_PIXELS
    view = Preprocessing().model_view(Image.new("RGB", (limits.IMAGE_ASPECT_RATIO * 3, 3), "blue"))
    assert view.shape == (224, 224, 3)


def test_an_empty_image_is_refused():
    with pytest.raises(ImageError, match="nothing to resize"):
        Preprocessing().resized_size(0, 5)
