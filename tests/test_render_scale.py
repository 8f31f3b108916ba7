"""What a map's colours mean: scales, colour bars with values, the signed legend, PNGs with their bar, the
faithfulness verdict beside the reference maps, the Trust table as shown and the curves' legend."""
from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from interpret.images import fit_notice, model_fit
from interpret.preprocess import Preprocessing
from interpret.render import (
    DIVERGING,
    ScaleInfo,
    colorize,
    colormap_lut,
    colour_bar,
    map_scale,
    mosaic_scale,
    shown_cmap,
    tick,
    with_colour_bar,
)
from interpret.ui.curve_chart import curve_chart
from interpret.ui.downloads import map_png_bytes
from interpret.ui.map_image import html_text, range_text, with_bar
from interpret.ui.verdicts import MISSING, faithfulness_verdict, map_verdicts, styled_table

RAMP = np.linspace(0.0, 3.2e-3, 201, dtype=np.float32).reshape(1, -1)


def test_ticks_are_short_and_keep_their_magnitude():
    assert [tick(v) for v in (0.0, 0.25, 12.5, 3.2e-3, -1.5e4, 1e-6)] == ["0", "0.25", "12.5", "3.2e-3", "-1.5e4", "1e-6"]


def test_the_scale_is_the_one_colorize_draws_with_in_the_maps_units():
    scale = map_scale(RAMP, "absolute", "viridis", 99.5)
    assert scale.low == 0.0 and scale.high == pytest.approx(np.percentile(RAMP, 99.5))
    assert scale.cmap == "viridis" and not scale.signed and scale.legend == ""
    assert scale.text().startswith("|value| 0 … 3.2e-3 (99.5th percentile of |values|")
    # colorize with that scale puts the top value at the bar's right end and zero at its left end
    rgb = colorize(RAMP, "absolute", "viridis", scale=scale.high)
    lut = colormap_lut("viridis")
    np.testing.assert_array_equal(rgb[0, 0], lut[0])
    np.testing.assert_array_equal(rgb[0, -1], lut[255])
    assert map_scale(RAMP, "absolute", clip_percentile=100).how == "maximum of |values|"
    shared = map_scale(RAMP, "positive", "inferno", scale=0.01, shared_by=3)
    assert shared.high == 0.01 and "shared by 3 maps" in shared.text() and "positive part" in shared.text()


def test_a_signed_map_gets_a_diverging_map_and_a_legend_of_its_signs():
    values = np.array([[-2.0, 0.0, 1.0]], np.float32)
    scale = map_scale(values, "signed", "inferno", 100, objective="loss")
    assert scale.cmap == DIVERGING == shown_cmap("signed", "inferno") and shown_cmap("signed", "coolwarm") == "coolwarm"
    assert (scale.low, scale.high) == (-2.0, 2.0)
    assert scale.ticks() == (-2.0, 0.0, 2.0)
    assert scale.legend == "red: raises the loss, blue: lowers it" and scale.text().endswith(scale.legend)
    assert range_text(scale) == "value -2 … 0 … 2"
    bar = colour_bar(scale, 224)
    coloured = bar[2][(bar[2] != 255).any(axis=1)][1:-1]  # the bar's row without its outline
    left, right = coloured[0], coloured[-1]  # RdBu_r: blue at the low end, red at the high end, as the legend says
    np.testing.assert_array_equal(left, colormap_lut(DIVERGING)[0])
    assert left[2] > left[0] and right[0] > right[2]


def test_the_bar_is_the_colour_map_with_values_written_under_it():
    scale = ScaleInfo("gray", 0.0, 4.0)
    bar = colour_bar(scale, 300)
    assert bar.shape[1] == 300 and bar.dtype == np.uint8
    ramp = bar[2, :, 0].astype(int)
    inner = ramp[ramp != 255][1:-1]  # without the outline at both ends
    assert inner[0] == 0 and inner[-1] >= 250
    assert (np.diff(inner) >= 0).all()  # dark to bright, left to right
    rows_with_text = np.where((bar[16:] < 128).any(axis=(1, 2)))[0]
    assert len(rows_with_text) > 3  # the tick values are drawn under the bar
    normalised = ScaleInfo("viridis", normalised=True, how="per channel")
    assert normalised.text().startswith("normalised per channel") and range_text(normalised) == "normalised per channel"


def test_a_mosaic_says_whether_its_tiles_share_a_range():
    channels = np.stack([np.full((4, 4), -1.0), np.full((4, 4), 5.0)])
    assert mosaic_scale(channels, False, "viridis").normalised
    shared = mosaic_scale(channels, True, "viridis")
    assert (shared.low, shared.high) == (-1.0, 5.0) and "shared by every channel" in shared.text()
    assert mosaic_scale(np.full((2, 3, 3), 2.0), True, "gray").low == 2.0  # not forced down to 0


def test_the_downloaded_png_holds_the_map_its_bar_and_its_words():
    values = np.tile(np.linspace(0.0, 3.2e-3, 224, dtype=np.float32), (224, 1))
    scale = map_scale(values, "absolute", "inferno")
    heat = colorize(values, "absolute", "inferno", scale=scale.high)
    png = Image.open(io.BytesIO(map_png_bytes(heat, scale)))
    assert png.width == 224 and png.height > 224 + colour_bar(scale, 224).shape[0]
    np.testing.assert_array_equal(np.asarray(png)[:224], heat)
    assert with_colour_bar(np.zeros((8, 8, 3), np.uint8), scale).shape[1] >= 224  # a small map is enlarged for its bar
    assert map_png_bytes(heat, None) != map_png_bytes(heat, scale)


def test_the_bar_drawn_on_screen_is_under_the_picture_and_a_photo_can_be_padded_to_match():
    photo = np.full((224, 224, 3), 7, np.uint8)
    drawn = with_bar(photo, ScaleInfo("inferno", 0, 1))
    padded = with_bar(photo, None, pad=True)
    assert drawn.shape == padded.shape and (padded[224:] == 255).all()
    np.testing.assert_array_equal(drawn[:224], photo)
    assert with_bar(photo, None) is photo


def test_caption_text_is_inert_html():
    text = html_text("![x](http://h/p.png) <b>x</b> :red[y] $z$ **w** it's")
    assert "<b>" not in text and "![" not in text and ":red[" not in text and "**" not in text and "$z$" not in text
    import html

    assert html.unescape(text) == "![x](http://h/p.png) <b>x</b> :red[y] $z$ **w** it's"


REFERENCES = {"reference: random": (0.667, 0.094), "reference: centre": (0.769, 0.243), "reference: sobel": (0.430, 0.426)}


def test_a_map_below_the_centred_gaussian_on_insertion_and_above_random_on_deletion_is_worse():
    """The issue's case: Grad-CAM scored below the centred-Gaussian reference and nothing said so."""
    verdict = faithfulness_verdict(0.754, 0.276, REFERENCES)
    assert verdict.verdict == "worse" and verdict.colour == "red"
    assert "worse than the centred-Gaussian reference on insertion (0.754 vs 0.769)" in verdict.text
    assert "worse than the random reference on deletion (0.276 vs 0.094)" in verdict.text


@pytest.mark.parametrize("insertion, deletion, expected", [
    (0.85, 0.05, "better"), (0.80, 0.090, "better"), (0.70, 0.05, "mixed"), (0.765, 0.10, "level"), (0.5, 0.5, "worse"),
])
def test_each_area_is_read_against_the_best_reference_of_its_kind(insertion, deletion, expected):
    assert faithfulness_verdict(insertion, deletion, REFERENCES).verdict == expected


def test_no_verdict_without_references_and_none_for_the_references_themselves():
    assert faithfulness_verdict(0.8, 0.1, {}) is None
    assert faithfulness_verdict(float("nan"), 0.1, REFERENCES) is None
    rows = [("Grad-CAM", 0.754, 0.276, False)] + [(label, i, d, True) for label, (i, d) in REFERENCES.items()]
    assert set(map_verdicts(rows)) == {"Grad-CAM"}


def test_the_table_as_shown_has_dashes_not_none_and_coloured_verdicts():
    table = pd.DataFrame({"map": ["Gradient", "reference: random"], "faithfulness": ["worse", "reference"],
                          "insertion ↑": [0.71234, 0.6], "sanity": ["passes", ""], "SSIM": [0.5, None],
                          "over the random draws": ["0.1 to 0.2", None]})
    html = styled_table(table).to_html()
    assert "None" not in html and "nan" not in html and html.count(MISSING) == 3
    assert "0.712" in html and "0.71234" not in html
    assert "#f8d7da" in html and "#d4edda" in html  # worse in red, passes in green


def test_the_curves_legend_names_every_map_and_greys_the_references():
    labels = ["Gradient", "Grad-CAM", "Integrated Gradients", "Guided Backprop", *REFERENCES]
    frame = pd.DataFrame({label: np.linspace(1, i / 10, 5) for i, label in enumerate(labels)},
                         index=pd.Index(np.linspace(0, 1, 5), name="fraction of pixels"))
    spec = curve_chart(frame, list(REFERENCES)).to_dict()
    colour = spec["encoding"]["color"]
    assert colour["scale"]["domain"] == labels and colour["legend"]["labelLimit"] == 0
    methods, greys = colour["scale"]["range"][:4], colour["scale"]["range"][4:]
    assert len(set(methods)) == 4 and all(g[1:3] == g[3:5] == g[5:7] for g in greys)  # references: grey shades
    assert spec["encoding"]["strokeDash"]["scale"]["domain"] == ["method", "reference"]


def test_a_tiny_image_and_a_panorama_report_how_the_model_sees_them():
    pre = Preprocessing(crop_size=224, resize_size=224)
    assert model_fit(8, 8, pre) == (28.0, 1.0)
    assert "scaled up 28×" in fit_notice(8, 8, pre)
    factor, kept = model_fit(4000, 300, pre)
    assert kept == pytest.approx(224 / (4000 * 224 / 300), rel=1e-3)
    assert "cropped to 7.5%" in fit_notice(4000, 300, pre)
    assert fit_notice(640, 480, pre) is None and fit_notice(640, 480, Preprocessing()) is None


def test_the_enlargement_notice_states_sizes_that_give_its_factor():
    """The defect: an 8x8 icon resized to 256 then cropped to 224 was 'scaled up 32× (8×8 → 224×224)': 224 / 8 is 28.
    The notice names the resized size the factor is of, then the crop."""
    pre = Preprocessing(crop_size=224, resize_size=256)
    assert model_fit(8, 8, pre)[0] == 32.0
    assert "scaled up 32× (8×8 → 256×256, then its centre 224×224)" in fit_notice(8, 8, pre)
    assert "scaled up 28× (8×8 → 224×224)" in fit_notice(8, 8, Preprocessing(crop_size=224, resize_size=224))
