"""The report builder (interpret/report/): one self-contained HTML file whose pictures are inside it and decode,
whose every text is escaped as the app escapes its captions, a zip of slide PNGs, .npy maps and a JSON of every
number, and file names that carry model, photo, method and target. Built from plain arrays: no torch, no Streamlit."""
from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from interpret import limits
from interpret.render import map_scale
from interpret.report import (
    Curves,
    Guess,
    MapPanel,
    ModelFacts,
    Photo,
    Report,
    Reproduce,
    Series,
    Table,
    render_html,
    render_zip,
    report_json,
)
from interpret.report.escape import html_text
from interpret.report.figures import map_picture, slide_png
from interpret.report.names import file_part, map_file_name, public_spec
from report_support import images_of, text_of

ROOT = Path(__file__).resolve().parents[1]
HOSTILE = "![x](http://127.0.0.1:9/pixel.png) <script>alert(1)</script> :red[big] $x$ **bold**"


def photo(name: str, seed: int, own: int = 400) -> Photo:
    rng = np.random.default_rng(seed)
    seen = rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)
    region = np.asarray(Image.fromarray(seen).resize((own, own)))
    return Photo(name, f"{seed:064x}", (own * 3 // 2, own), seen, own, region, (Guess(3, HOSTILE, 0.75),), name)


def panel(p: Photo, method: str, seed: int, mode: str = "absolute") -> MapPanel:
    values = np.random.default_rng(seed).normal(size=(32, 32)).astype(np.float32)
    return MapPanel(p.sha256, p.name, method, method.title(), 3, HOSTILE, "logit", None, (("steps", 8),), values,
                    map_scale(values, mode, "inferno"), 0.5, f"{method} · {HOSTILE}")


@pytest.fixture(scope="module")
def report() -> Report:
    photos = (photo(f"{HOSTILE}.png", 1), photo("two.png", 2))
    maps = tuple(panel(p, m, i) for i, (p, m) in enumerate((p, m) for p in photos for m in ("gradient", "gradcam")))
    curves = Curves("Deletion and insertion curves", tuple(
        Series(kind, label, np.linspace(0, 1, 9), np.linspace(0.9, 0.1, 9) ** (1 + i), ref)
        for kind in ("deletion", "insertion") for i, (label, ref) in enumerate(((HOSTILE, False), ("reference: random", True))))
    )
    table = Table("Faithfulness", ("map", "insertion ↑", "sanity"), ((HOSTILE, 0.5, "passes"), ("reference", np.nan, None)),
                  (f"{HOSTILE} — better than every reference map",))
    return Report("Saliency", "2026-01-01 00:00:00 UTC",
                  ModelFacts("torchvision:resnet18", "f00dkey123", "resize 256; crop 224", "cpu", "softmax", 1000),
                  photos, (("methods", "Gradient (gradient), Grad-CAM (gradcam)"), ("sign", "absolute")), maps,
                  (table,), (curves,), reproduce=Reproduce("http://127.0.0.1:8501/saliency?methods=gradient", ("note",),
                                                           ("interpret report sample:coffee --methods gradient",),
                                                           (("numpy", np.__version__),)))


def test_the_html_is_one_file_whose_pictures_decode_and_that_fetches_nothing(report):
    page = render_html(report)
    pictures = images_of(page)
    assert len(pictures) == 2 + 2 + 4 + 1  # photos (with predictions), the grid's photo column, 4 maps, the curves
    for _, picture in pictures:
        picture.load()
        assert picture.width > 0
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    assert not re.search(r"""(src|href)=["'](?!data:|http://127\.0\.0\.1:8501/)""", page)  # nothing else is loaded
    assert "<script" not in page.lower()
    for text in ("f00dkey123", "torchvision:resnet18", "Gradient (gradient)", "absolute", "interpret report"):
        assert text in text_of(page)


def test_every_user_text_is_escaped_as_the_app_escapes_captions(report):
    page = render_html(report)
    assert html_text(HOSTILE) in page
    for raw in ("![x]", "<script>", ":red[", "**bold**", "$x$"):
        assert raw not in page
    assert HOSTILE in text_of(page)  # shown exactly as written


def test_a_map_is_drawn_with_the_scale_it_was_shown_with_and_exported_up_to_the_photo_s_resolution(report):
    p, m = report.photos[0], report.maps[0]
    shown = map_picture(m, p)
    assert shown.shape == (32, 32, 3)
    slide = Image.open(io.BytesIO(slide_png(m, p, "torchvision:resnet18", 10_000)))
    assert slide.width == p.own_side  # capped at the photo's own resolution
    assert slide.height > slide.width  # the colour bar and the caption under the map
    small = Image.open(io.BytesIO(slide_png(m, p, "torchvision:resnet18", 200)))
    assert small.width == 200
    assert limits.EXPORT_SIDE_MAX >= 4096


def test_the_zip_holds_slide_pngs_npy_maps_the_grid_the_curves_and_every_number(report):
    archive = zipfile.ZipFile(io.BytesIO(render_zip(report, 300)))
    names = archive.namelist()
    data = json.loads(archive.read("report.json"))
    assert {"report.html", "report.json"} <= set(names)
    assert len([n for n in names if n.startswith("maps/") and n.endswith(".png")]) == 4
    npys = [n for n in names if n.endswith(".npy")]
    assert len(npys) == 4
    for entry, m in zip(data["maps"], report.maps, strict=True):
        np.testing.assert_array_equal(np.load(io.BytesIO(archive.read(entry["npy"]))), m.values)
        assert Image.open(io.BytesIO(archive.read(entry["png"]))).width == 300
        assert entry["scale"]["high"] == pytest.approx(m.scale.high)
    assert any(n.endswith("_grid.png") for n in names) and any("curves" in n for n in names)
    assert data["model"]["key"] == "f00dkey123"
    assert data["tables"][0]["rows"][1]["insertion ↑"] is None  # NaN as null: valid JSON
    assert data["photos"][0]["predictions"][0]["label"] == HOSTILE
    assert data == json.loads(json.dumps(report_json(report), ensure_ascii=False))


def test_file_names_carry_model_photo_method_and_target_and_are_safe():
    one = map_file_name("torchvision:resnet18", "aaaaaa11", "../up/<b>coffee.png", "gradient", 967, "espresso *x*", ".png")
    other = map_file_name("torchvision:resnet18", "bbbbbb22", "../up/<b>coffee.png", "gradient", 967, "espresso *x*", ".png")
    assert one == "resnet18-aaaaaa_b_coffee_gradient_967-espresso_x.png"
    assert one != other  # two models (same architecture, other weights) never share a file name
    assert re.fullmatch(r"[A-Za-z0-9._-]+", file_part("é/\\:*?\"<>| \n\x00"))


def test_a_shared_spec_names_local_files_by_their_file_name_only(tmp_path):
    model = tmp_path / "models" / "net.pt"
    model.parent.mkdir()
    model.write_bytes(b"x")
    assert public_spec(f"file:{model}") == "file:net.pt"
    assert public_spec(str(model)) == "net.pt"
    assert public_spec(f"hf:{model.parent}") == "hf:models"
    assert public_spec("hf:google/vit-base-patch16-224") == "hf:google/vit-base-patch16-224"
    assert public_spec("timm:resnet18") == "timm:resnet18"


def test_the_builder_imports_neither_torch_nor_streamlit():
    code = ("import sys, numpy as np; from interpret.report import render_html, render_zip, Report, ModelFacts; "
            "render_zip(Report('t', 'now', ModelFacts('s', 'k', 'p', 'cpu'))); "
            "print(sorted(m for m in ('torch', 'streamlit') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_a_report_holds_at_most_report_maps_maps_and_says_so(report):
    from dataclasses import replace

    from interpret.report.content import capped

    many = replace(report, maps=report.maps * (limits.REPORT_MAPS // len(report.maps) + 1))
    kept = capped(many)
    assert len(kept.maps) == limits.REPORT_MAPS and f"holds the first {limits.REPORT_MAPS}" in kept.notes[-1]
    assert capped(report) is report
