"""`interpret report`: two photos by two methods in one self-contained HTML file (and a zip of slide PNGs, .npy
maps and report.json), with `explain`'s model options; a class name or file name holding a tag and Markdown reaches
the report as text, and no folder of this machine is written into it."""
from __future__ import annotations

import html
import io
import json
import re
import zipfile

import numpy as np
import pytest
from PIL import Image

from interpret.cli import main
from interpret.samples import load_sample
from report_support import images_of, text_of
from test_report import HOSTILE

PHOTO = "<script>x <b>my *photo* [x](y) $z$.png"  # a file name a user could give (no slash: it is one file)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """One report of coffee and a hostile-named upload by gradient and Grad-CAM, on ResNet-18 with hostile classes."""
    folder = tmp_path_factory.mktemp("private-folder")
    photo = folder / PHOTO
    photo.write_bytes(load_sample("astronaut").data)
    classes = folder / "classes.txt"
    classes.write_text("\n".join(f"{HOSTILE} {i}" for i in range(1000)))
    out, archive = folder / "report.html", folder / "report.zip"
    argv = ["report", "sample:coffee", str(photo), "--methods", "gradient,gradcam", "--model", "torchvision:resnet18",
            "--weights", "random", "--classes", str(classes), "--mode", "positive", "--alpha", "0.4", "--out", str(out),
            "--zip", str(archive), "--size", "300"]
    return folder, argv, out, archive


def test_the_report_holds_the_model_the_photos_the_maps_and_the_settings(made, capsys, resnet18):
    folder, argv, out, archive = made
    code, printed, err = run(capsys, *argv)
    assert code == 0, err
    assert str(out) in printed
    page = out.read_text()
    text = text_of(page)
    pictures = images_of(page)
    for _, picture in pictures:
        picture.load()
    assert len([alt for alt, _ in pictures if " on " in alt]) == 4  # 2 photos x 2 methods
    assert "torchvision:resnet18" in text and "Gradient (saliency) (gradient), Grad-CAM (gradcam)" in text
    assert re.search(r"key\s+[0-9a-f]{64}", text)
    assert "sign positive" in text and "opacity 0.4" in text
    assert "interpret report sample:coffee" in text and "--classes classes.txt" in text


def test_a_tag_or_markdown_in_a_class_or_file_name_is_text_and_no_local_folder_is_named(made):
    folder, _, out, _ = made
    page = out.read_text()
    text = text_of(page)
    assert "<script" not in page.lower() and "<b>my" not in page
    assert HOSTILE in text and PHOTO in text  # shown exactly as written
    assert str(folder) not in page and "private-folder" not in page


def test_the_zip_holds_a_slide_png_and_an_npy_per_map_named_by_model_photo_method_and_target(made):
    _, _, _, archive = made
    files = zipfile.ZipFile(archive)
    data = json.loads(files.read("report.json"))
    assert [m["method"] for m in data["maps"]] == ["gradient", "gradcam", "gradient", "gradcam"]
    for entry in data["maps"]:
        name = r"maps/resnet18_random_weights-[0-9a-f]{6}_[A-Za-z0-9._-]+_(gradient|gradcam)_\d+-[A-Za-z0-9._-]+\.png"
        assert re.fullmatch(name, entry["png"]), entry["png"]
        assert Image.open(io.BytesIO(files.read(entry["png"]))).width == 300
        values = np.load(io.BytesIO(files.read(entry["npy"])))
        assert values.shape == (224, 224) and entry["max"] == pytest.approx(float(values.max()))
    assert html.unescape(data["photos"][1]["name"]) == PHOTO
    assert any(name.endswith("_grid.png") for name in files.namelist())


def test_bad_arguments_are_refused_in_one_line_before_the_model_loads(capsys, tmp_path):
    out = str(tmp_path / "r.html")
    code, _, err = run(capsys, "report", "sample:coffee", "--methods", "gradient", "--param", "steps=3", "--out", out)
    assert code == 2 and "METHOD.KEY=VALUE" in err and len(err.strip().splitlines()) == 1
    code, _, err = run(capsys, "report", "sample:coffee", "--methods", "gradient", "--param",
                       "integrated_gradients.steps=3", "--out", out)
    assert code == 2 and "not one of --methods" in err
    code, _, err = run(capsys, "report", "sample:coffee", "--methods", "nosuch", "--out", out)
    assert code == 1 and "Unknown method 'nosuch'" in err
    code, _, err = run(capsys, "report", "sample:coffee", "--out", str(tmp_path / "r.txt"))
    assert code == 1 and ".html" in err
    assert not list(tmp_path.iterdir())


def test_the_preprocessing_flags_a_report_writes_give_back_the_same_preprocessing():
    from interpret.cli import build_parser
    from interpret.cli.preprocessing_args import apply_changes, preprocessing_from_args
    from interpret.preprocess import IMAGENET
    from interpret.report.build import preprocessing_args

    edited = IMAGENET.replace(resize_size=300, crop_size=256, interpolation="bicubic", mean=(0.5, 0.25, 0.125),
                              std=(0.2, 0.3, 0.4), channel_order="BGR", resize_mode="longer", pad_fill=(1, 2, 3),
                              crop_rounding="floor", backend="tensor")
    args = build_parser().parse_args(["predict", "sample:coffee", *preprocessing_args(edited)])
    assert apply_changes(IMAGENET, preprocessing_from_args(args)) == edited
