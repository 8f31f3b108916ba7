"""The tensor the model sees, shown back to the user, is exactly the resized crop."""
import numpy as np
import pytest
import torch
from PIL import Image

from interpret import limits
from interpret.errors import ImageError, ParameterError
from interpret.preprocess import Preprocessing
from interpret.samples import load_sample


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


def test_the_crop_box_is_where_the_model_view_comes_from():
    """The box drawn on the photo: cropping the photo there and resizing gives the model's view."""
    pre = Preprocessing(crop_size=224, resize_size=256, size_rounding="floor", crop_rounding="round")
    w, h = load_sample("chelsea").image.size  # 451 x 300 -> 384 x 256, crop at (80, 16)
    left, top, right, bottom = pre.crop_box(w, h)
    assert (round(left * 384 / w), round(top * 256 / h)) == (80, 16)
    assert right - left == pytest.approx(224 * w / 384) and bottom - top == pytest.approx(224 * h / 256)
    assert 0 <= left < right <= w and 0 <= top < bottom <= h
    square = Preprocessing(crop_size=224, resize_size=224, resize_mode="squash")
    assert square.crop_box(w, h) == (0.0, 0.0, float(w), float(h))  # a squash without a crop sees the whole photo


def test_a_crop_larger_than_the_resized_photo_adds_a_border_of_the_fill_colour():
    """torchvision's CenterCrop pads with zeros, timm's border mode with the mean colour; the box then reaches past the photo."""
    photo = Image.new("RGB", (200, 100), (10, 200, 30))
    pre = Preprocessing(crop_size=224, resize_size=200, resize_mode="longer", pad_fill=(124, 116, 104), crop_rounding="round")
    view = pre.model_view(photo)
    assert view.shape == (224, 224, 3)
    assert tuple(view[0, 0]) == (124, 116, 104) and tuple(view[112, 112]) == (10, 200, 30)
    assert tuple(view[11, 11]) == (124, 116, 104) and tuple(view[62, 12]) == (10, 200, 30)  # 12 px and 62 px borders
    assert pre.crop_box(200, 100) == (-12.0, -62.0, 212.0, 162.0)


def test_bgr_models_get_blue_first_and_the_photo_comes_back_in_rgb(coffee):
    rgb = Preprocessing(mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25))
    bgr = rgb.replace(channel_order="BGR")
    x = bgr.to_tensor(coffee.image)
    assert torch.equal(x, rgb.to_tensor(coffee.image).flip(1))
    assert np.array_equal(bgr.denormalize(x), rgb.denormalize(rgb.to_tensor(coffee.image)))
    unit = torch.rand(1, 3, 4, 4)
    torch.testing.assert_close(bgr.unstandardise(bgr.standardise(unit)), unit)


@pytest.mark.parametrize(("changes", "message"), [
    ({"crop_size": 4}, "PREPROCESS_SIDE_MIN"),
    ({"resize_size": 5000}, "PREPROCESS_SIDE_MAX"),
    ({"std": (0.5, 0.0, 0.5)}, "positive"),
    ({"mean": (0.5, 0.5)}, "three finite numbers"),
    ({"interpolation": "cubic"}, "interpolation 'cubic' is not one of"),
    ({"resize_mode": "fit"}, "resize mode"),
    ({"channel_order": "GRB"}, "channel order"),
    ({"backend": "tensor", "interpolation": "box"}, "tensor backend"),
    ({"colour": "red"}, "no setting colour"),
    ({"mean": (1e308, 0.5, 0.5)}, "NORMALISED_PIXEL_MAX"),  # finite in Python, inf in float32
    ({"std": (0.5, 1e-300, 0.5)}, "NORMALISED_PIXEL_MAX"),  # 0 in float32: a division by zero
    ({"mean": (1e30,) * 3}, "NORMALISED_PIXEL_MAX"),  # finite, but far beyond any model's input
])
def test_a_preprocessing_that_cannot_be_applied_is_refused_in_one_line(changes, message):
    with pytest.raises(ParameterError, match=message):
        Preprocessing().replace(**changes)


def test_the_default_rules_are_unchanged_and_describe_says_what_is_done():
    """The old behaviour: the long side rounded (451 x 300 -> 385 x 256) and the crop offset floored."""
    pre = Preprocessing()
    assert pre.resized_size(451, 300) == (385, 256)
    assert Preprocessing(size_rounding="floor").resized_size(451, 300) == (384, 256)
    assert pre.describe().startswith("resize the shorter side to 256 (bilinear")
    assert "centre crop 224×224" in pre.describe() and "RGB" in pre.describe()
    assert "no crop" in Preprocessing(crop_size=224, resize_size=224, resize_mode="squash").describe()


def test_a_mean_and_std_that_normalise_within_the_bound_are_accepted_and_finite():
    """Pipelines fed 0-255 values (no rescale: std 1/255) are real; their inputs stay finite in float32."""
    pre = Preprocessing(mean=(0.4, 0.45, 0.5), std=(1 / 255,) * 3)
    x = pre.standardise(torch.tensor([0.0, 1.0]).view(2, 1, 1, 1).expand(2, 3, 1, 1))
    assert torch.isfinite(x).all() and float(x.abs().max()) < 200
