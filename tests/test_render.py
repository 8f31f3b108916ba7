"""interpret/render.py and interpret/signs.py: sign modes, normalisation, colour maps, overlays and mosaics as arrays."""
from __future__ import annotations

import matplotlib
import numpy as np
import pytest

from interpret.render import colorize, colormap_lut, mosaic, normalise, overlay, resize, scale_of
from interpret.signs import MODES, select

VALUES = np.array([-2.0, -0.5, 0.0, 1.0, np.nan], dtype=np.float32)


@pytest.mark.parametrize("mode, expected", [
    ("absolute", [2.0, 0.5, 0.0, 1.0, 0.0]),
    ("positive", [0.0, 0.0, 0.0, 1.0, 0.0]),
    ("negative", [2.0, 0.5, 0.0, 0.0, 0.0]),
    ("signed", [-2.0, -0.5, 0.0, 1.0, 0.0]),
])
def test_each_sign_mode_keeps_its_part_and_makes_nan_finite(mode, expected):
    out = select(VALUES, mode)
    np.testing.assert_array_equal(out, np.array(expected, np.float32))
    assert out.dtype == np.float32  # the map's own dtype unless asked
    assert select(VALUES, mode, np.float64).dtype == np.float64


def test_select_converts_integers_and_leaves_its_input_alone():
    ints = np.array([[-3, 4]])
    np.testing.assert_array_equal(select(ints, "absolute", np.float64), [[3.0, 4.0]])
    values = VALUES.copy()
    select(values, "signed")
    assert np.isnan(values[-1])


def test_an_unknown_mode_is_refused_with_the_modes():
    assert MODES == ("absolute", "positive", "negative", "signed")
    with pytest.raises(ValueError, match="absolute"):
        select(VALUES, "magnitude")


def test_scale_is_a_high_percentile_of_the_selected_magnitudes():
    values = -np.arange(1.0, 101.0)  # one outlier-free ramp of negative values
    assert scale_of(values, "absolute") == pytest.approx(np.percentile(np.arange(1.0, 101.0), 99.5))
    assert scale_of(values, "negative", clip_percentile=50) == pytest.approx(50.5)
    assert scale_of(values, "positive") == 0.0  # nothing positive at all
    sparse = np.zeros((20, 20))
    sparse[3, 4] = 7.0  # the 99.5th percentile is 0: the maximum is used instead
    assert scale_of(sparse, "absolute") == 7.0


def test_normalise_clips_at_the_scale_and_keeps_the_sign_when_signed():
    values = np.array([[-4.0, -1.0, 0.0, 1.0, 2.0, 8.0]])
    np.testing.assert_allclose(normalise(values, "absolute", scale=2.0), [[1.0, 0.5, 0.0, 0.5, 1.0, 1.0]])
    np.testing.assert_allclose(normalise(values, "signed", scale=2.0), [[-1.0, -0.5, 0.0, 0.5, 1.0, 1.0]])
    np.testing.assert_allclose(normalise(values, "negative", scale=4.0), [[1.0, 0.25, 0.0, 0.0, 0.0, 0.0]])
    default = normalise(values, "positive")
    assert default.dtype == np.float32 and default.max() == 1.0 and default.min() == 0.0
    assert not normalise(np.zeros((3, 3)), "absolute").any()


def test_colour_lookup_tables_are_matplotlibs():
    lut = colormap_lut("viridis")
    assert lut.shape == (256, 3) and lut.dtype == np.uint8
    reference = (matplotlib.colormaps["viridis"]([0.0, 1.0])[:, :3] * 255).round().astype(np.uint8)
    np.testing.assert_array_equal(lut[[0, 255]], reference)


def test_colorize_maps_zero_and_the_scale_to_the_ends_of_the_colour_map():
    values = np.array([[0.0, 1.0], [2.0, 4.0]], np.float32)
    rgb = colorize(values, "absolute", scale=2.0)
    assert rgb.shape == (2, 2, 3) and rgb.dtype == np.uint8
    inferno = colormap_lut("inferno")
    np.testing.assert_array_equal(rgb[0, 0], inferno[0])
    np.testing.assert_array_equal(rgb[0, 1], inferno[128])  # 0.5 * 255 rounds to 128
    np.testing.assert_array_equal(rgb[1, 0], inferno[255])
    np.testing.assert_array_equal(rgb[1, 1], inferno[255])  # clipped at the scale
    np.testing.assert_array_equal(colorize(values, "absolute", cmap="gray", scale=4.0)[1, 1], [255, 255, 255])


def test_signed_maps_use_a_diverging_map_centred_on_zero():
    values = np.array([[-1.0, 0.0, 1.0]], np.float32)
    rgb = colorize(values, "signed", scale=1.0)
    diverging = colormap_lut("RdBu_r")
    np.testing.assert_array_equal(rgb[0], diverging[[0, 128, 255]])
    assert rgb[0, 0, 2] > rgb[0, 0, 0] and rgb[0, 2, 0] > rgb[0, 2, 2]  # negative blue, positive red


def test_resize_float_maps_and_rgb_images():
    ramp = np.tile(np.arange(4, dtype=np.float32), (4, 1))
    assert resize(ramp, (4, 4)) is ramp  # already the size
    big = resize(ramp, (8, 16))
    assert big.shape == (8, 16) and big.dtype == np.float32
    assert big.min() >= 0.0 and big.max() <= 3.0 and np.all(np.diff(big[0]) >= 0)  # bilinear keeps the ramp
    nearest = resize(ramp, (8, 8), nearest=True)
    np.testing.assert_array_equal(np.unique(nearest), [0.0, 1.0, 2.0, 3.0])
    rgb = np.zeros((2, 2, 3), np.uint8)
    rgb[0, 0] = 255
    out = resize(rgb, (4, 6), nearest=True)
    assert out.shape == (4, 6, 3) and out.dtype == np.uint8 and (out[:2, :3] == 255).all() and not out[2:, 3:].any()


def test_overlay_blends_a_smaller_heat_map_over_the_photo():
    photo = np.full((8, 10, 3), 200, np.uint8)
    heat = np.zeros((4, 5, 3), np.uint8)
    half = overlay(photo, heat, alpha=0.5)
    assert half.shape == photo.shape and half.dtype == np.uint8
    assert (half == 100).all()
    np.testing.assert_array_equal(overlay(photo, heat, alpha=0.0), photo)
    np.testing.assert_array_equal(overlay(photo, heat, alpha=1.0), np.zeros_like(photo))
    weight = np.zeros((4, 5), np.float32)
    weight[:, :2] = 1.0  # only the left part of the map shows
    weighted = overlay(photo, heat, alpha=1.0, weight=weight)
    assert (weighted[:, 0] == 0).all() and (weighted[:, -1] == 200).all()


def test_mosaic_lays_out_every_channel_on_a_white_grid():
    channels = np.stack([np.full((4, 4), float(i)) for i in range(5)])
    channels[1, 0, 0] = -1.0  # one tile with a range of its own
    grid = mosaic(channels, cmap="viridis", pad=2)
    assert grid.shape == (2 * (4 + 2) + 2, 3 * (4 + 2) + 2, 3) and grid.dtype == np.uint8  # 3 columns, 2 rows
    lut = colormap_lut("viridis")
    assert (grid[:2] == 255).all() and (grid[:, :2] == 255).all()  # padding
    assert (grid[2:6, 2:6] == lut[0]).all()  # a constant channel is drawn at the bottom of the map
    tile = grid[2:6, 8:12]  # channel 1: its own minimum and maximum
    np.testing.assert_array_equal(tile[0, 0], lut[0])
    np.testing.assert_array_equal(tile[3, 3], lut[255])
    assert (grid[8:14, 14:20] == 255).all()  # no sixth channel: the last cell stays white


def test_mosaic_on_one_shared_scale_and_bigger_tiles():
    channels = np.stack([np.zeros((3, 3)), np.full((3, 3), 5.0), np.full((3, 3), 10.0)])
    shared = mosaic(channels, columns=3, shared_scale=True, cmap="gray", pad=0)
    assert shared.shape == (3, 9, 3)
    np.testing.assert_array_equal(shared[0, [0, 3, 6], 0], [0, 128, 255])
    fixed = mosaic(channels, columns=3, shared_scale=True, cmap="gray", pad=0, value_range=(0.0, 20.0))
    np.testing.assert_array_equal(fixed[0, [0, 3, 6], 0], [0, 64, 128])
    tiled = mosaic(channels, columns=1, tile=12, pad=1)
    assert tiled.shape == (3 * (12 + 1) + 1, 12 + 2, 3)


def test_mosaic_labels_are_drawn_on_tiles_large_enough():
    channels = np.zeros((2, 24, 24))
    plain = mosaic(channels, columns=2)
    labelled = mosaic(channels, columns=2, labels=["0", "1"])
    assert labelled.shape == plain.shape and (labelled != plain).any()
    small = np.zeros((2, 8, 8))
    np.testing.assert_array_equal(mosaic(small, labels=["0", "1"]), mosaic(small))  # no room: no labels
