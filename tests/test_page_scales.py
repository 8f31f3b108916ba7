"""Every map the Saliency page draws says what its colours mean, signed maps say which colour is which sign, and a
photo the model sees much enlarged says so (AppTest)."""
from __future__ import annotations

import html

import pytest
from streamlit.testing.v1 import AppTest

from app_support import open_app

METHODS = ["gradient", "gradcam"]


def map_captions(at: AppTest) -> list[str]:
    return [html.unescape(m.value) for m in at.markdown if "map-caption" in m.value]


def scale_notes(at: AppTest) -> str:
    return " ".join(c.value for c in at.caption if c.value.startswith("Colour scale"))


@pytest.fixture(scope="module")
def page() -> AppTest:
    at = open_app("pages/saliency.py", 300)
    at.multiselect(key="sal-methods").set_value(METHODS).run()
    assert not at.exception, at.exception
    return at


def test_each_map_and_heat_map_has_its_bar_and_its_range(page):
    captions = map_captions(page)
    assert len(captions) == 2 * len(METHODS)  # the overlay and the heat map of each method
    assert all("|value| 0 … " in c for c in captions), captions
    heat_maps = [image for image in page.get("image")][1::2]
    assert len(heat_maps) == len(METHODS)
    notes = scale_notes(page)
    assert "99.5th percentile of \\|values\\|" in notes and "red:" not in notes  # (| escaped for Markdown)


def test_signed_mode_draws_a_diverging_map_the_box_names_and_a_legend_of_the_signs(page):
    page.selectbox(key="sal-display-mode").set_value("signed").run()
    assert not page.exception, page.exception
    box = page.selectbox(key="sal-display-cmap-signed")
    assert box.value == "RdBu_r" and "diverging" in box.label
    assert "red: raises the class score, blue: lowers it" in scale_notes(page)
    assert all(" … 0 … " in c for c in map_captions(page))  # both ends and the zero in the middle
    page.toggle(key="sal-display-shared").set_value(True).run()
    assert f"shared by {len(METHODS)} maps" in scale_notes(page)


def tiny_photo_app() -> None:
    import io

    import numpy as np
    from PIL import Image

    from interpret.images import load_image
    from interpret.models import load_model
    from interpret.ui.overview_view import image_and_model_view

    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (8, 8, 3), dtype=np.uint8)).save(buffer, format="PNG")
    image_and_model_view(load_model("torchvision:resnet18", "cpu", weights="random"), load_image(buffer.getvalue(), "icon.png"))


def test_a_tiny_image_says_it_was_scaled_up():
    at = AppTest.from_function(tiny_photo_app, default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    [notice] = [i.value for i in at.info]
    assert "8×8 image is scaled up 32×" in notice  # resized to 256 before the 224 crop
