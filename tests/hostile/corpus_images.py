"""Images: format confusion, truncation, size and aspect bombs, odd modes and pixels, odd names and paths.

API: `interpret.images.load_image(data, name)` (and `load_image_file(path)` for paths that are not plain
files). CLI: `predict PATH --json` for a subset, with the default model.
"""
from __future__ import annotations

import gzip

import numpy as np
from PIL import Image

from . import files as F
from .cases import ACCEPT, EITHER, REFUSE, Case, Env
from .helpers import check_predicted, fifo, link_to, sparse, special, write

CATEGORY = "images"


def _load(built, env: Env):
    from interpret.images import load_image

    return load_image(built["data"], built["name"])


def _load_file(built, env: Env):
    from interpret.images import load_image_file

    return load_image_file(built["path"])


def _predict(built) -> list[str]:
    return ["predict", built["path"], "--json"]


def rgb(size: tuple[int, int]):
    """The decoded image is RGB at `size`."""

    def check(value, built) -> None:
        assert value.image.mode == "RGB", f"mode {value.image.mode}, expected RGB"
        assert value.image.size == size, f"size {value.image.size}, expected {size}"

    return check


def _not_flat(value, built) -> None:
    """Accepted float pixels keep the ramp they hold (not all black, not all one value)."""
    pixels = np.asarray(value.image.convert("L"), dtype=np.float64)
    assert pixels.std() > 20, f"the image came out flat (std {pixels.std():.1f}): the finite pixels were lost"
    assert pixels[:, -2].mean() > pixels[:, 1].mean() + 100, "the ramp's bright end is not bright"


def _first_frame_red(value, built) -> None:
    r, g, b = value.image.getpixel((10, 10))
    assert r > 200 and g < 60 and b < 60, f"pixel {(r, g, b)}: not the first (red) frame"


def _nan_noted(stdout: str, stderr: str, built) -> None:
    check_predicted(stdout, stderr, built)
    assert "NaN or infinite" in stderr, f"no note of the replaced pixels on stderr: {stderr[-300:]!r}"


def _case(id, data, name, expect, cli=False, check=None, mentions=("{name}",), **kw) -> Case:
    return Case(id=f"images/{id}", category=CATEGORY, build=write(name, data), expect=expect, api=_load,
                cli=_predict if cli else None, check=check if expect != REFUSE else None,
                check_cli=check_predicted if expect != REFUSE else None, mentions=mentions if expect != ACCEPT else (), **kw)


def _refuse_other_format(fmt: str, mode: str, name: str, size=(64, 48), cli=False) -> Case:
    def data() -> bytes:
        image = F.photo(size)
        return F.encode(image.convert(mode), fmt)

    return _case(f"{fmt.lower()}-content-named-{name.rsplit('.', 1)[-1]}", data, name, REFUSE, cli=cli,
                 why=f"{fmt} is decoded by Pillow whatever the extension; only the accepted formats may be")


CONFUSION = [
    _refuse_other_format("SPIDER", "F", "spider.png", cli=True),
    _refuse_other_format("ICO", "RGB", "icon.png"),
    _refuse_other_format("ICO", "RGB", "icon.jpg"),
    _refuse_other_format("TGA", "RGB", "targa.png", cli=True),
    _refuse_other_format("TGA", "RGB", "targa.tif"),
    _refuse_other_format("PCX", "RGB", "pcx.png"),
    _refuse_other_format("PCX", "RGB", "pcx.bmp"),
    _refuse_other_format("SGI", "RGB", "sgi.png"),
    _refuse_other_format("DDS", "RGB", "dds.png"),
    _refuse_other_format("XBM", "1", "xbm.png"),
    _refuse_other_format("PPM", "RGB", "ppm.jpg"),
    _refuse_other_format("PPM", "RGB", "ppm.webp"),
    _refuse_other_format("QOI", "RGB", "qoi.png"),
    _refuse_other_format("JPEG2000", "RGB", "j2k.jpg", cli=True),
    _refuse_other_format("ICNS", "RGB", "icns.png", size=(128, 128)),
    _refuse_other_format("IM", "RGB", "im.png"),
    _refuse_other_format("MSP", "1", "msp.bmp"),
    _refuse_other_format("BLP", "P", "blp.gif"),
    _case("eps-named-jpg", F.eps_bytes, "drawing.jpg", REFUSE, cli=True,
          why="EPS is handed to Ghostscript where it is installed: a program, not an image"),
    _case("eps-binary-header-named-png", lambda: b"\xc5\xd0\xd3\xc6" + bytes(26) + F.eps_bytes(), "eps.png", REFUSE),
    _case("pdf-named-png", lambda: F.encode(F.photo((64, 48)), "PDF"), "doc.png", REFUSE),
    _case("svg-named-png", lambda: b'<svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"/>', "vector.png", REFUSE),
    _case("html-named-jpg", lambda: b"<html><script>alert(1)</script></html>", "page.jpg", REFUSE),
    _case("zip-named-png", lambda: b"PK\x05\x06" + bytes(18), "archive.png", REFUSE),
    _case("gzip-of-png-named-png", lambda: gzip.compress(F.photo_bytes("PNG")), "packed.png", REFUSE),
    # content of an accepted format under another accepted extension: decoded by its content
    _case("png-named-jpg", lambda: F.photo_bytes("PNG"), "really_png.jpg", ACCEPT, check=rgb((160, 120)), cli=True),
    _case("webp-named-gif", lambda: F.photo_bytes("WEBP"), "really_webp.gif", ACCEPT, check=rgb((160, 120))),
    _case("bmp-named-tiff", lambda: F.photo_bytes("BMP"), "really_bmp.tiff", ACCEPT, check=rgb((160, 120))),
]

BROKEN = [
    _case("empty-file", lambda: b"", "empty.png", REFUSE, cli=True),
    _case("one-byte", lambda: b"\x89", "one.png", REFUSE),
    _case("text-named-png", lambda: b"this is not an image\n" * 20, "notes.png", REFUSE, cli=True),
    _case("png-signature-only", lambda: F.PNG_SIGNATURE, "sig.png", REFUSE),
    _case("png-truncated-half", lambda: F.photo_bytes("PNG")[: len(F.photo_bytes("PNG")) // 2], "half.png", REFUSE, cli=True),
    _case("png-without-iend", lambda: F.png_from_chunks([c for c in F.png_chunks(F.photo_bytes("PNG")) if c[0] != b"IEND"]),
          "noend.png", EITHER, check=rgb((160, 120))),
    _case("png-wrong-header-crc", lambda: F.png_from_chunks(F.png_chunks(F.photo_bytes("PNG")), bad_crc=b"IHDR"),
          "badcrc.png", REFUSE),
    _case("png-wrong-data-crc", lambda: F.png_from_chunks(F.png_chunks(F.photo_bytes("PNG")), bad_crc=b"IDAT"),
          "badcrc_idat.png", EITHER, check=rgb((160, 120))),
    _case("png-zero-width", lambda: F.png_declaring(0, 10), "zero.png", REFUSE),
    _case("jpeg-soi-only", lambda: b"\xff\xd8", "soi.jpg", REFUSE),
    _case("jpeg-truncated-half", lambda: F.photo_bytes("JPEG")[: len(F.photo_bytes("JPEG")) // 2], "half.jpg", REFUSE, cli=True),
    _case("jpeg-progressive-truncated", lambda: F.photo_bytes("JPEG", progressive=True)[:600], "prog.jpg", REFUSE),
    _case("jpeg-declares-7000x7000-with-10kb", lambda: F.jpeg_declaring(7000, 7000, 10_000), "grey.jpg", REFUSE, cli=True,
          why="libjpeg pads the missing data with grey and the model predicts on the padding"),
    _case("gif-truncated", lambda: F.photo_bytes("GIF")[:40], "cut.gif", REFUSE),
    _case("webp-truncated", lambda: F.photo_bytes("WEBP")[:30], "cut.webp", REFUSE),
    _case("tiff-truncated", lambda: F.photo_bytes("TIFF")[:200], "cut.tif", REFUSE),
    _case("bmp-truncated", lambda: F.photo_bytes("BMP")[:100], "cut.bmp", REFUSE),
    _case("gif-zero-size-frame", F.gif_zero_size_frame, "zero_frame.gif", EITHER, check=rgb((64, 48))),
]

BOMBS = [
    _case("png-1x50000", lambda: F.png_gray(1, 50_000), "thin.png", REFUSE, cli=True,
          why="its short side is scaled to 256: a 256 x 12.8 M image, 12 GB"),
    _case("png-50000x1", lambda: F.png_gray(50_000, 1), "wide.png", REFUSE),
    _case("png-2x20000000", lambda: F.png_gray(2, 20_000_000), "needle.png", REFUSE, cli=True, seconds=20,
          why="OverflowError traceback when resized"),
    _case("png-10x10000-aspect-1000", lambda: F.png_gray(10, 10_000), "aspect.png", REFUSE),
    _case("png-declares-20000x20000", lambda: F.png_declaring(20_000, 20_000), "bomb.png", REFUSE, cli=True),
    _case("png-declares-65535x65535", lambda: F.png_declaring(65_535, 65_535), "bomb2.png", REFUSE),
    _case("png-declares-2^31-wide", lambda: F.png_declaring(2**31 - 1, 1), "bomb3.png", REFUSE),
    _case("png-49mp-zeros", lambda: F.png_zeros(7000, 7000), "black49.png", EITHER, seconds=20,
          check=lambda v, b: None, why="48 KB that decode to 49 MP: under the pixel limit, or refused by the bytes limit"),
    _case("tiff-declares-100000x100000", lambda: F.tiff_declaring(100_000, 100_000), "bomb.tif", REFUSE),
    _case("gif-declares-65535x65535", lambda: F.photo_bytes("GIF")[:6] + b"\xff\xff\xff\xff" + F.photo_bytes("GIF")[10:],
          "bomb.gif", REFUSE),
    _case("bmp-declares-huge", lambda: F.photo_bytes("BMP")[:18] + (60_000).to_bytes(4, "little") * 2
          + F.photo_bytes("BMP")[26:], "bomb.bmp", REFUSE),
    _case("jpeg-huge-app1-segments", lambda: F.jpeg_with_app1(5_000_000), "exif.jpg", ACCEPT, check=rgb((160, 120)),
          why="5 MB of EXIF-like APP1 before the image"),
    _case("over-the-byte-limit", lambda: F.photo_bytes("PNG") + bytes(60 * 2**20), "padded.png", REFUSE,
          why="60 MB of trailing zeros after a valid PNG"),
]

MODES = [
    _case("palette-png", lambda: F.encode(F.photo().convert("P"), "PNG"), "palette.png", ACCEPT, check=rgb((160, 120)),
          cli=True),
    _case("palette-png-transparency", lambda: F.encode(F.photo().convert("P"), "PNG", transparency=0), "ptrans.png", ACCEPT,
          check=rgb((160, 120))),
    _case("cmyk-jpeg", lambda: F.encode(F.photo().convert("CMYK"), "JPEG"), "cmyk.jpg", ACCEPT, check=rgb((160, 120)), cli=True),
    _case("cmyk-tiff", lambda: F.encode(F.photo().convert("CMYK"), "TIFF"), "cmyk.tif", ACCEPT, check=rgb((160, 120))),
    _case("la-png", lambda: F.encode(F.photo().convert("LA"), "PNG"), "la.png", ACCEPT, check=rgb((160, 120))),
    _case("rgba-png", lambda: F.encode(F.photo().convert("RGBA"), "PNG"), "rgba.png", ACCEPT, check=rgb((160, 120))),
    _case("one-bit-png", lambda: F.encode(F.photo().convert("1"), "PNG"), "bits.png", ACCEPT, check=rgb((160, 120))),
    _case("grey-16-bit-png", F.png16, "deep.png", ACCEPT, check=rgb((64, 48))),
    _case("grey-16-bit-tiff", lambda: F.encode(Image.fromarray((F.ramp() * 65535).astype(np.uint16)), "TIFF"), "deep.tif",
          ACCEPT, check=rgb((64, 48))),
    _case("float-tiff", lambda: F.float_tiff(F.ramp()), "float.tif", ACCEPT, check=_not_flat),
    _case("float-tiff-one-nan", lambda: F.float_tiff(np.where(np.arange(64) == 5, np.nan, F.ramp())), "nan.tif", EITHER,
          check=_not_flat, why="today one NaN pixel makes the whole image black"),
    Case("images/float-tiff-one-nan-cli-note", CATEGORY, write("nan.tif", lambda: F.float_tiff(
         np.where(np.arange(64) == 5, np.nan, F.ramp()))), ACCEPT, cli=_predict, check_cli=_nan_noted,
         why="the app notes the replaced pixel; the CLI said nothing"),
    _case("float-tiff-inf", lambda: F.float_tiff(np.where(np.arange(64) == 5, np.inf, F.ramp())), "inf.tif", EITHER,
          check=_not_flat),
    _case("float-tiff-minus-inf", lambda: F.float_tiff(np.where(np.arange(64) == 5, -np.inf, F.ramp())), "minf.tif", EITHER,
          check=_not_flat),
    _case("float-tiff-all-nan", lambda: F.float_tiff(np.full((48, 64), np.nan)), "allnan.tif", REFUSE, cli=True),
    _case("float-tiff-huge-values", lambda: F.float_tiff(F.ramp() * 3e38), "huge.tif", ACCEPT, check=_not_flat),
    _case("animated-gif-first-frame", lambda: F.animated_gif([(255, 0, 0), (0, 255, 0), (0, 0, 255)]), "anim.gif", ACCEPT,
          check=_first_frame_red, cli=True),
    _case("animated-png-first-frame", lambda: F.encode(Image.new("RGB", (64, 48), (255, 0, 0)), "PNG", save_all=True,
          append_images=[Image.new("RGB", (64, 48), (0, 255, 0))]), "anim.png", ACCEPT, check=_first_frame_red),
    _case("multipage-tiff", lambda: F.encode(Image.new("RGB", (64, 48), (255, 0, 0)), "TIFF", save_all=True,
          append_images=[Image.new("RGB", (32, 32), (0, 0, 255))]), "pages.tif", ACCEPT, check=_first_frame_red),
    _case("mpo-first-picture", lambda: F.frames("MPO", [(255, 0, 0), (0, 0, 255)]), "stereo.jpg", EITHER,
          check=_first_frame_red, why="a 3-D camera's JPEG with a second picture appended"),
    _case("animated-webp-first-frame", lambda: F.frames("WEBP", [(255, 0, 0), (0, 255, 0)], lossless=True), "anim.webp",
          ACCEPT, check=_first_frame_red),
    _case("gif-1000-frames", lambda: F.frames("GIF", [(255, 0, 0)] + [(0, 0, 255), (0, 255, 0)] * 500), "long.gif", ACCEPT,
          check=_first_frame_red, why="only the first frame is decoded: 1000 frames cost no more than one"),
    _case("png-ztxt-bomb", lambda: F.png_with_text_bomb(50_000_000), "textbomb.png", EITHER, check=rgb((160, 120)),
          why="a 48 KB text chunk that inflates to 50 MB"),
    _case("png-5000-idat-chunks", F.png_many_idat, "chunky.png", ACCEPT, check=rgb((160, 120))),
    _case("exif-orientation-6", lambda: F.jpeg_with_orientation(6), "rotated.jpg", ACCEPT, check=rgb((120, 160))),
    _case("exif-orientation-invalid", lambda: F.jpeg_with_orientation(99), "oddexif.jpg", ACCEPT, check=rgb((160, 120))),
    _case("one-pixel-png", lambda: F.encode(Image.new("RGB", (1, 1), (9, 9, 9)), "PNG"), "dot.png", ACCEPT, check=rgb((1, 1)),
          cli=True),
    _case("webp-lossless", lambda: F.photo_bytes("WEBP", lossless=True), "lossless.webp", ACCEPT, check=rgb((160, 120))),
    _case("tiff-lzw", lambda: F.photo_bytes("TIFF", compression="tiff_lzw"), "lzw.tif", ACCEPT, check=rgb((160, 120))),
    _case("bmp-top-down", lambda: F.photo_bytes("BMP")[:22] + (-120).to_bytes(4, "little", signed=True)
          + F.photo_bytes("BMP")[26:], "topdown.bmp", ACCEPT, check=rgb((160, 120))),
]


def _devzero_skip() -> str | None:
    import os

    return None if os.path.exists("/dev/zero") else "no /dev/zero here"


PATHS = [
    Case("images/folder-named-png", CATEGORY, special("dir.png", lambda p: p.mkdir()), REFUSE, api=_load_file, cli=_predict,
         forbid=("does not exist",), why="a folder given as an image got 'does not exist'"),
    Case("images/fifo-named-png", CATEGORY, special("pipe.png", fifo), REFUSE, api=_load_file, cli=_predict,
         why="reading a FIFO blocks forever"),
    Case("images/link-to-dev-zero-named-png", CATEGORY, special("zero.png", link_to("/dev/zero")), REFUSE, api=_load_file,
         cli=_predict, skip=_devzero_skip, why="a character device is read until memory runs out"),
    Case("images/sparse-10gb-named-png", CATEGORY, special("huge.png", sparse(10 * 2**30)), REFUSE, api=_load_file,
         cli=_predict, why="10 GB of zeros on a disk that stores none of them"),
    Case("images/missing-file", CATEGORY, lambda folder: {"path": str(folder / "gone.png"), "name": "gone.png"}, REFUSE,
         api=_load_file, cli=_predict),
    _case("name-with-newline", lambda: b"not an image", "bad\nname.png", REFUSE, mentions=(),
          why="the message must stay on one line whatever the file is called"),
    _case("name-with-escape-codes", lambda: b"not an image", "\x1b[31mred\x1b[0m.png", REFUSE, mentions=("red",)),
    _case("name-with-html", lambda: b"not an image", "<img src=x onerror=alert(1)>.png", REFUSE, mentions=("img",)),
    _case("very-long-name", lambda: F.photo_bytes("PNG"), "p" * 250 + ".png", ACCEPT, check=rgb((160, 120))),
]

CASES: list[Case] = CONFUSION + BROKEN + BOMBS + MODES + PATHS
