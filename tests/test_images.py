"""Every image a user can give is either read upright in RGB, or refused with a clear reason."""
import io
import os
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageFile

from interpret import limits
from interpret.errors import ImageError
from interpret.images import FORMATS, decode_image, load_image, load_image_file
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


# --- Decode only what is accepted, at a bounded cost (interpret.limits) ---------------------------------



def png_declaring(width: int, height: int, idat: bytes = b"", depth: int = 8, colour: int = 0) -> bytes:
    """A PNG whose IHDR declares width x height, with the given (usually far too short) pixel data."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(idat)) + chunk(b"IEND", b"")


def jpeg_declaring(photo: Image.Image, width: int, height: int) -> bytes:
    """A real small JPEG whose SOF marker is rewritten to declare width x height."""
    data = bytearray(encode(photo, "JPEG"))
    at = data.index(b"\xff\xc0")
    struct.pack_into(">HH", data, at + 5, height, width)
    return bytes(data)


@pytest.mark.parametrize("fmt", ["ICO", "TGA", "PCX", "SGI", "DDS", "XBM", "PPM", "QOI", "JPEG2000", "ICNS", "SPIDER", "EPS"])
def test_formats_outside_the_accepted_list_are_refused_whatever_the_name(fmt):
    mode = {"XBM": "1", "SPIDER": "F", "EPS": "RGB"}.get(fmt, "RGB")
    size = (64, 64) if fmt not in ("ICNS",) else (16, 16)
    data = encode(Image.new(mode, size, 1 if mode == "1" else 0), fmt)
    Image.open(io.BytesIO(data))  # Pillow itself would read it
    for name in ("x.png", "x.jpg"):
        with pytest.raises(ImageError, match="not an image in an accepted format .accepted: JPEG, PNG, WEBP, BMP, TIFF, GIF"):
            decode_image(data, name)


def test_accepted_formats_are_the_six_the_upload_box_names():
    assert FORMATS == ("JPEG", "PNG", "WEBP", "BMP", "TIFF", "GIF")


@pytest.mark.parametrize("size", [(1, 50_000), (50_000, 1), (2, 20_000_000), (2000, 99)])
def test_long_thin_images_are_refused_by_their_declared_size(size):
    data = png_declaring(*size)
    assert len(data) < 200
    with pytest.raises(ImageError, match="IMAGE_ASPECT_RATIO"):
        decode_image(data, "strip.png")


def test_images_at_the_aspect_ratio_bound_decode():
    image = decode_image(encode(Image.new("RGB", (20 * 16, 16), "red"), "PNG"), "panorama.png")
    assert image.size == (320, 16)


def test_declared_pixels_above_the_bound_are_refused_before_decoding():
    data = png_declaring(8000, 8000)  # 64 MP, under Pillow's own bomb size
    with pytest.raises(ImageError, match="IMAGE_PIXELS"):
        decode_image(data, "big.png")


def test_zero_sized_declaration_is_refused():
    with pytest.raises(ImageError):
        decode_image(png_declaring(0, 10), "empty.png")


def test_jpeg_declaring_far_more_pixels_than_its_data_holds_is_refused(photo):
    data = jpeg_declaring(photo, 7000, 7000)
    assert len(data) < 10_000
    with pytest.raises(ImageError, match="truncated or damaged"):
        decode_image(data, "grey.jpg")


@pytest.mark.parametrize("progressive", [False, True])
def test_flat_jpegs_hold_enough_data_for_the_plausibility_bound(progressive):
    """The least data a real JPEG holds (one flat colour) is well above 1 byte per JPEG_PIXELS_PER_BYTE."""
    data = encode(Image.new("L", (3000, 3000), 128), "JPEG", progressive=progressive, optimize=True)
    assert 3000 * 3000 / len(data) < limits.JPEG_PIXELS_PER_BYTE / 3
    assert decode_image(data, "flat.jpg").size == (3000, 3000)


def test_flat_one_bit_png_holds_enough_data_for_the_deflate_bound():
    data = encode(Image.new("1", (4000, 4000), 1), "PNG", optimize=True)
    assert decode_image(data, "flat.png").size == (4000, 4000)


def test_png_whose_data_is_far_below_its_declared_size_is_refused():
    data = png_declaring(5000, 5000, idat=b"\0" * 100)  # 25 MB of rows declared, 100 bytes given
    with pytest.raises(ImageError, match="deflate codes at most"):
        decode_image(data, "thin.png")


def test_png_whose_data_ends_early_is_refused(photo):
    data = png_declaring(64, 48, idat=np.asarray(photo.convert("L")).tobytes()[:1000])
    with pytest.raises(ImageError, match="damaged or truncated"):
        decode_image(data, "short.png")


def test_uncompressed_bmp_must_hold_every_row(photo):
    data = encode(photo, "BMP")
    with pytest.raises(ImageError, match="every row"):
        decode_image(data[: len(data) - 200], "cut.bmp")


def test_truncated_images_are_refused_even_if_another_library_allowed_them(photo):
    data = encode(photo, "JPEG")
    ImageFile.LOAD_TRUNCATED_IMAGES = True
    try:
        with pytest.raises(ImageError, match="damaged or truncated"):
            decode_image(data[: len(data) // 3], "cut.jpg")
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = False


def float_tiff(values: np.ndarray) -> bytes:
    return encode(Image.fromarray(values.astype(np.float32)), "TIFF")


def test_non_finite_pixels_of_a_float_tiff_are_replaced_with_a_note():
    values = np.tile(np.linspace(0.0, 1.0, 32), (16, 1))
    values[3, 5], values[4, 6] = np.nan, np.inf
    loaded = load_image(float_tiff(values), "depth.tif")
    pixels = np.asarray(loaded.image)[..., 0]
    assert pixels.max() == 255 and pixels[0, 0] == 0
    assert pixels[3, 5] == 0 and pixels[4, 6] == 0  # the finite minimum
    assert loaded.notes == ("'depth.tif' had 2 pixels that were NaN or infinite; shown as the image's lowest value.",)


def test_float_tiff_without_finite_pixels_is_refused():
    with pytest.raises(ImageError, match="no finite pixel"):
        decode_image(float_tiff(np.full((8, 8), np.nan)), "nan.tif")


def test_ordinary_images_have_no_notes(photo):
    assert load_image(encode(photo, "PNG"), "a.png").notes == ()


def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    with pytest.raises(ImageError, match="not a regular file"):
        load_image_file(fifo)
    link = tmp_path / "link.png"
    link.symlink_to(fifo)
    with pytest.raises(ImageError, match="not a regular file"):
        load_image_file(link)


def test_a_character_device_is_refused():
    with pytest.raises(ImageError, match="not a regular file"):
        load_image_file("/dev/zero")


def test_a_folder_is_refused_as_a_folder(tmp_path):
    with pytest.raises(ImageError, match="is a folder"):
        load_image_file(tmp_path)


def test_a_file_over_the_byte_limit_is_refused_unread(tmp_path):
    big = tmp_path / "big.jpg"
    with open(big, "wb") as stream:
        stream.truncate(limits.IMAGE_FILE_BYTES + 1)
    with pytest.raises(ImageError, match="IMAGE_FILE_BYTES"):
        load_image_file(big)


def test_names_in_messages_are_one_printable_line():
    with pytest.raises(ImageError) as refused:
        decode_image(b"not an image", "bad\nname\x1b[31m.png")
    assert str(refused.value).startswith("'bad\\nname\\x1b[31m.png' is not an image")


@pytest.mark.parametrize(("fmt", "options"), [("WEBP", {}), ("TIFF", {}), ("TIFF", {"compression": "tiff_deflate"}),
                                              ("TIFF", {"compression": "tiff_lzw"}), ("GIF", {}), ("PNG", {}), ("BMP", {})],
                         ids=["webp", "tiff", "tiff-deflate", "tiff-lzw", "gif", "png", "bmp"])
@pytest.mark.parametrize("kept", [0.5, 0.9])
def test_every_accepted_format_refuses_data_that_ends_early(photo, fmt, options, kept):
    data = encode(photo.resize((256, 256)), fmt, **options)
    with pytest.raises(ImageError):
        decode_image(data[: int(len(data) * kept)], f"cut.{fmt.lower()}")
