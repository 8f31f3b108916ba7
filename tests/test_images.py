"""Every image a user can give is either read upright in RGB, or refused with a clear reason."""
import io

import numpy as np
import pytest
from PIL import Image

from interpret.errors import ImageError
from interpret.images import decode_image, load_image
from interpret.samples import load_sample, sample_names


def encode(image: Image.Image, fmt: str, **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def photo() -> Image.Image:
    return load_sample("astronaut").image.resize((64, 48))


def test_every_sample_photo_is_available():
    assert {"coffee", "chelsea", "grace_hopper", "rocket", "astronaut", "china", "flower"} <= set(sample_names())


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "BMP", "TIFF", "GIF"])
def test_common_formats_decode_to_rgb(photo, fmt):
    image = decode_image(encode(photo, fmt), f"x.{fmt.lower()}")
    assert image.mode == "RGB" and image.size == (64, 48)


@pytest.mark.parametrize("mode", ["L", "P", "RGBA", "CMYK", "LA", "1"])
def test_colour_modes_become_rgb(photo, mode):
    converted = photo.convert(mode)
    image = decode_image(encode(converted, "PNG" if mode != "CMYK" else "JPEG"), "x")
    assert image.mode == "RGB" and image.size == photo.size


def test_sixteen_bit_grayscale_is_scaled_not_clipped():
    ramp = (np.arange(64 * 32, dtype=np.uint16).reshape(32, 64) * 30).astype(np.uint16)
    image = decode_image(encode(Image.fromarray(ramp), "PNG"), "deep.png")
    pixels = np.asarray(image)
    assert pixels.min() == 0 and pixels.max() == 255


def test_transparent_pixels_become_white(photo):
    rgba = photo.convert("RGBA")
    rgba.putalpha(0)
    assert np.asarray(decode_image(encode(rgba, "PNG"), "x")).min() == 255


def test_exif_orientation_is_respected(photo):
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    image = decode_image(encode(photo, "JPEG", exif=exif), "phone.jpg")
    assert image.size == (48, 64)


def test_gif_uses_its_first_frame():
    frames = [Image.new("RGB", (8, 8), colour) for colour in ("red", "blue")]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:])
    assert decode_image(data, "a.gif").getpixel((0, 0))[0] > 200


def test_decompression_bomb_is_refused():
    data = encode(Image.new("1", (9000, 9000)), "PNG")
    assert len(data) < 200_000
    with pytest.raises(ImageError, match="accepted"):
        decode_image(data, "bomb.png")


@pytest.mark.parametrize("data", [b"", b"%PDF-1.4 not an image", b"\x89PNG\r\n\x1a\n" + b"\0" * 40])
def test_non_images_are_refused(data):
    with pytest.raises(ImageError):
        decode_image(data, "file.png")


def test_truncated_jpeg_is_refused(photo):
    data = encode(photo, "JPEG")
    with pytest.raises(ImageError, match="damaged or truncated"):
        decode_image(data[: len(data) // 3], "cut.jpg")


def test_input_image_is_keyed_by_its_bytes(photo):
    a = load_image(encode(photo, "PNG"), "a.png")
    b = load_image(encode(photo, "PNG"), "b.png")
    c = load_image(encode(photo.rotate(1), "PNG"), "c.png")
    assert a.sha256 == b.sha256 != c.sha256
