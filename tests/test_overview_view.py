"""'What the model sees': the exact input tensor, and the crop it came from framed on the photo."""
from __future__ import annotations

import numpy as np
from streamlit.testing.v1 import AppTest

from interpret.preprocess import IMAGENET
from interpret.samples import load_sample
from interpret.ui.overview_view import CROP_COLOUR, OUTSIDE_SHADE, photo_with_crop


def test_the_frame_is_drawn_where_the_crop_is_and_the_rest_is_shaded():
    photo = load_sample("chelsea").image  # 451 x 300 -> 384 x 256; crop x 80..304 -> 94.0..357.1 in the photo
    framed = photo_with_crop(photo, IMAGENET)
    original = np.asarray(photo)
    left, top, right, bottom = IMAGENET.crop_box(*photo.size)
    assert (round(left), round(top), round(right), round(bottom)) == (94, 19, 357, 281)
    assert np.array_equal(framed[150, 225], original[150, 225])  # inside: untouched
    assert np.array_equal(framed[150, 20], np.round(original[150, 20] * np.float32(OUTSIDE_SHADE)).astype(np.uint8))
    assert tuple(framed[150, 94]) == CROP_COLOUR and tuple(framed[19, 225]) == CROP_COLOUR


def test_a_squash_frames_the_whole_photo_and_shades_nothing():
    photo = load_sample("rocket").image
    framed = photo_with_crop(photo, IMAGENET.replace(resize_mode="squash", resize_size=224))
    assert tuple(framed[0, 0]) == CROP_COLOUR and tuple(framed[-1, -1]) == CROP_COLOUR
    assert np.array_equal(framed[10:-10, 10:-10], np.asarray(photo)[10:-10, 10:-10])


def overview_app() -> None:
    from interpret.models import load_model
    from interpret.samples import load_sample
    from interpret.ui.overview_view import image_and_model_view

    image_and_model_view(load_model("torchvision:resnet18", "cpu", weights="random"), load_sample("chelsea"))


def test_the_view_shows_the_framed_photo_and_the_model_input_with_their_sizes():
    at = AppTest.from_function(overview_app, default_timeout=120)
    at.run()
    assert not at.exception
    captions = [image.proto.imgs[0].caption for image in at.get("image")]
    assert captions == ["chelsea.png · 451×300 · resized to 384×256, then the framed 224×224 crop",
                        "What the model sees: 224×224 (de-normalised input tensor)"]
