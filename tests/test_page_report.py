"""The Report button of every page (the sidebar's Share section) gives one HTML file of what the page shows: its
pictures decode, its text holds the model's key, the methods and the settings; the Saliency page's map PNGs are
fit for a slide and named by model, photo, method and target, its grid and the Trust curves download as PNGs, and
`interpret report` makes the same report for the same inputs."""
from __future__ import annotations

import io
import re

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from app_support import open_app, settle
from interpret.cli import main
from report_support import Downloads, images_of, recorded_downloads, text_of

METHODS = ["gradient", "gradcam"]


@pytest.fixture(scope="module")
def downloads():
    with recorded_downloads() as made:
        yield made


@pytest.fixture(scope="module")
def app(downloads) -> AppTest:
    at = open_app(timeout=300)
    at.session_state["sal-methods"] = METHODS  # chosen before the page's first run: no other maps computed
    at.switch_page("pages/saliency.py").run()
    settle(at)
    assert not at.exception, at.exception
    return at


def report_of(downloads: Downloads, page: str) -> str:
    return downloads.named(rf"_{page}_report\.html$").decode("utf-8")


def maps_in(page: str) -> dict[str, np.ndarray]:
    return {alt: np.asarray(image.convert("RGB")) for alt, image in images_of(page) if " on " in alt}


def test_the_saliency_report_holds_the_model_key_the_methods_the_settings_and_decodable_maps(app, downloads, bundled):
    assert [b.label for b in app.sidebar.get("download_button")] == ["Report", "zip"]
    page = report_of(downloads, "saliency")
    text = text_of(page)
    assert bundled.key in text and "bundled:efficientnet_lite0" in text
    assert "methods Gradient (saliency) (gradient), Grad-CAM (gradcam)" in text
    for setting in ("sign absolute", "colour map inferno", "opacity 0.5", "clip percentile 99.5", "CAM layer"):
        assert setting in text
    assert "espresso" in text  # the photo's prediction
    shown = maps_in(page)
    assert sorted(shown) == ["Grad-CAM on coffee.png", "Gradient (saliency) on coffee.png"]
    assert re.search(r"/saliency\?methods=gradient,gradcam", text)  # the link to this view


def test_the_zip_holds_report_json_a_slide_png_and_an_npy_per_map(app, downloads):
    import json
    import zipfile

    files = zipfile.ZipFile(io.BytesIO(downloads.named(r"_saliency_report\.zip$")))
    data = json.loads(files.read("report.json"))
    assert [m["method"] for m in data["maps"]] == METHODS
    for entry in data["maps"]:
        assert Image.open(io.BytesIO(files.read(entry["png"]))).width == 224
        assert np.load(io.BytesIO(files.read(entry["npy"]))).shape == (224, 224)
    assert data["settings"]["sign"] == "absolute" and data["photos"][0]["predictions"][0]["label"] == "espresso"


def test_a_map_png_is_named_by_model_photo_method_and_target_and_drawn_at_the_chosen_size(app, downloads, bundled):
    names = downloads.names(r"_coffee_gradient_967-espresso\.png$")
    assert names and names[-1].startswith("efficientnet_lite0-" + bundled.key[:6])
    assert Image.open(io.BytesIO(downloads.named(r"_coffee_gradient_967-espresso\.png$"))).width == 224
    app.sidebar.selectbox(key="report-size").set_value(896).run()
    assert not app.exception, app.exception
    big = Image.open(io.BytesIO(downloads.named(r"_coffee_gradient_967-espresso\.png$")))
    assert big.width == 350  # coffee.png is 600 x 400: the model's 224 px crop is 350 px of the photo's own pixels
    app.switch_page("pages/overview.py").run()
    assert app.sidebar.selectbox(key="report-size").value == 896  # the choice lasts across pages
    app.sidebar.selectbox(key="report-size").set_value(0).run()
    app.switch_page("pages/saliency.py").run()
    settle(app)


def test_the_cli_report_of_the_same_inputs_holds_the_same_maps_and_settings(app, downloads, tmp_path, capsys):
    out = tmp_path / "cli.html"
    assert main(["report", "sample:coffee", "--methods", ",".join(METHODS), "--out", str(out)]) == 0
    capsys.readouterr()
    cli, shown = out.read_text(), report_of(downloads, "saliency")
    setting = re.compile(r"Settings (.*) Photos")
    assert setting.search(text_of(cli)).group(1) == setting.search(text_of(shown)).group(1)
    assert re.search(r"key ([0-9a-f]{64})", text_of(cli)).group(1) == re.search(r"key ([0-9a-f]{64})", text_of(shown)).group(1)
    ours, theirs = maps_in(shown), maps_in(cli)
    assert sorted(ours) == sorted(theirs)
    for alt, picture in ours.items():
        assert picture.shape == theirs[alt].shape
        assert np.abs(picture.astype(int) - theirs[alt]).mean() < 1.0, alt  # one map, batched or alone


def test_the_grid_of_all_photos_downloads_as_one_png_and_its_report_is_a_grid(app, downloads):
    app.sidebar.multiselect(key="sb-samples").set_value(["coffee", "chelsea"]).run()
    app.radio(key="sal-photos").set_value("all").run()
    settle(app)
    assert not app.exception, app.exception
    assert app.query_params["scope"] in ("all", ["all"])  # not `photos`, the uploads' token (ui/photo_links.py)
    grid = Image.open(io.BytesIO(downloads.named(r"_grid\.png$")))
    assert grid.width > grid.height > 300
    page = report_of(downloads, "saliency")
    assert len(maps_in(page)) == 2 * len(METHODS) and "chelsea.png" in text_of(page)
    app.radio(key="sal-photos").set_value("this").run()
    app.sidebar.multiselect(key="sb-samples").set_value(["coffee"]).run()


def test_the_trust_report_holds_the_table_the_verdicts_and_the_curves(app, downloads):
    app.session_state["trust-methods"] = ["gradient"]
    app.session_state["trust-steps"] = 8
    app.switch_page("pages/trust.py").run()
    settle(app)
    assert not app.exception, app.exception
    page = report_of(downloads, "trust")
    text = text_of(page)
    assert "Faithfulness and sanity" in text and "reference: random" in text
    assert "deletion / insertion steps 8" in text and "methods Gradient (saliency) (gradient)" in text
    assert any(alt == "Deletion and insertion curves" for alt, _ in images_of(page))
    curves = Image.open(io.BytesIO(downloads.named(r"_curves\.png$")))
    assert curves.width > curves.height


def test_the_predictions_report_holds_every_loaded_photo_with_its_top_classes(app, downloads, bundled):
    app.sidebar.multiselect(key="sb-samples").set_value(["coffee", "chelsea"]).run()
    app.switch_page("pages/overview.py").run()
    assert not app.exception, app.exception
    page = report_of(downloads, "predictions")
    text = text_of(page)
    assert bundled.key in text and "coffee.png" in text and "chelsea.png" in text and "espresso" in text
    assert "interpret predict sample:coffee sample:chelsea --model bundled:efficientnet_lite0" in text
    assert [alt for alt, _ in images_of(page)] == ["coffee.png", "chelsea.png"]
    app.sidebar.multiselect(key="sb-samples").set_value(["coffee"]).run()


def test_the_feature_maps_report_holds_the_mosaic_with_its_scale(app, downloads):
    app.switch_page("pages/feature_maps.py").run()
    assert not app.exception, app.exception
    page = report_of(downloads, "feature_maps")
    mosaic = [picture for alt, picture in images_of(page) if alt.startswith("Feature maps of ")]
    assert len(mosaic) == 1 and mosaic[0].width >= 224


def test_the_mistakes_report_holds_the_set_s_accuracy_confusions_and_worst_mistakes(app, downloads):
    app.switch_page("pages/mistakes.py").run()
    settle(app)
    assert not app.exception, app.exception
    text = text_of(report_of(downloads, "mistakes"))
    assert re.search(r"18 images evaluated\. Top-1 accuracy \d+\.\d%", text), text[:2000]
    for part in ("Per class, worst first", "Most frequent confusions", "Most confident mistakes"):
        assert part in text


def test_the_dataset_page_has_the_report_buttons_before_a_store_is_open(app, downloads, bundled):
    app.switch_page("pages/dataset.py").run()
    assert not app.exception, app.exception
    assert [b.label for b in app.sidebar.get("download_button")] == ["Report", "zip"]
    assert bundled.key in text_of(report_of(downloads, "dataset"))


def test_a_class_name_with_a_tag_and_markdown_reaches_the_report_as_text(app, downloads):
    from test_page_labels import HOSTILE, RAW, hostile_class_file

    app.sidebar.selectbox(key="sb-source").set_value("torchvision").run()
    app.sidebar.radio(key="sb-weights").set_value("random").run()
    app.sidebar.file_uploader(key="sb-classes").set_value(("classes.txt", hostile_class_file(), "text/plain")).run()
    app.session_state["sal-methods"] = ["gradient"]
    app.switch_page("pages/saliency.py").run()
    settle(app)
    assert not app.exception, app.exception
    page = report_of(downloads, "saliency")
    assert HOSTILE in text_of(page)  # the predicted class's name, shown exactly as written
    assert not [raw for raw in RAW if raw in page] and "<script" not in page.lower()
    assert "classes.txt" in text_of(page)  # the commands name the file the user gave, and say it is not in the link
