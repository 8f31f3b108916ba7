"""The tensor the model sees, shown back to the user, is exactly the resized crop."""
import numpy as np

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
