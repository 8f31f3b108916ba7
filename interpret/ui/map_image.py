"""Drawing a map in the app: the picture with its colour bar right under it, and a caption of fixed height.

Every page draws its maps through `show_map`, so that each map says what its colours mean (a bar with values,
or "normalised per map") and maps laid out side by side stay aligned whatever the length of their captions:
the caption sits in a block of a fixed number of lines (the whole text on hover). `scale_note` is the one
line under a grid that says how the range was chosen and, for signed maps, which colour is which sign.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import streamlit as st

from ..render import ScaleInfo, colour_bar, map_scale, tick
from ..report.escape import html_text
from ..report.scales import drawn_scale
from .plain import plain

GAP = 4  # white pixel rows between a picture and its bar
LINE = 1.35  # rem per caption line
SHORT_PARTS = {"absolute": "|value|", "positive": "positive", "negative": "−value", "signed": "value"}


display_scale = drawn_scale  # the scale `maps.shown_image(values, photo, settings, scale)` draws with (report/scales.py)


def with_bar(image: np.ndarray, scale: ScaleInfo | None, pad: bool = False) -> np.ndarray:
    """The picture with its colour bar (same width) under it; without a scale the picture alone, or with `pad`
    white rows as high as a bar (a photo beside maps keeps the row's captions aligned)."""
    if scale is None and not pad:
        return image
    rgb = image if image.ndim == 3 else np.repeat(image[..., None], 3, axis=2)
    if rgb.shape[1] < 160:  # a thumbnail is enlarged so that the bar's numbers stay readable
        factor = -(-160 // rgb.shape[1])
        rgb = rgb.repeat(factor, axis=0).repeat(factor, axis=1)
    gap = np.full((GAP, rgb.shape[1], 3), 255, np.uint8)
    bar = colour_bar(scale or ScaleInfo("gray"), rgb.shape[1])
    return np.concatenate([rgb, gap, bar if scale is not None else np.full_like(bar, 255)], axis=0)


def range_text(scale: ScaleInfo) -> str:
    """The range in a few characters, for under one map: '|value| 0 … 3.2e-3' or 'normalised per map'."""
    if scale.normalised:
        return f"normalised {scale.how or 'per map'}"
    middle = " … 0 … " if scale.signed else " … "
    return f"{SHORT_PARTS.get(scale.mode, 'value')} {tick(scale.low)}{middle}{tick(scale.high)}"




def fixed_caption(text: str, lines: int = 2, extra: str = "", target: Any = None, extra_line: bool = False) -> None:
    """A caption block `lines` lines high (longer text is cut, the whole of it shown on hover), then `extra`
    on one line (kept, blank, with `extra_line`): maps in neighbouring columns keep their rows aligned."""
    where = st if target is None else target
    body = html_text(text)
    height = round(LINE * lines, 2)
    parts = [f'<div style="height:{height}rem;line-height:{LINE}rem;overflow:hidden;display:-webkit-box;'
             f'-webkit-line-clamp:{lines};-webkit-box-orient:vertical" title="{body}">{body}</div>'] if lines else []
    if extra or extra_line:
        extra_text = html_text(extra)
        parts.append(f'<div style="height:{LINE}rem;line-height:{LINE}rem;white-space:nowrap;overflow:hidden;'
                     f'text-overflow:ellipsis" title="{extra_text}">{extra_text}</div>')
    where.markdown(f'<div class="map-caption" style="font-size:0.875rem;opacity:0.75;margin-bottom:0.5rem">'
                   f'{"".join(parts)}</div>', unsafe_allow_html=True)


def show_map(image: np.ndarray, scale: ScaleInfo | None, caption: str = "", *, bar: bool = True, lines: int = 2,
             width: int | str = "stretch", pad: bool = False, target: Any = None) -> np.ndarray:
    """One map: the picture with its colour bar under it (`bar=False`: the range in words only), its caption in a
    fixed-height block and its range on one line (`pad`: a picture without a scale, e.g. the photo beside maps, gets a
    blank band as high as a bar). Returns the array drawn (for a PNG download with the bar).

    `caption` is plain text (escaped here, never read as Markdown)."""
    where = st if target is None else target
    picture = with_bar(image, scale, pad) if bar else image
    where.image(picture, width=width)
    extra = range_text(scale) if scale is not None else ""
    if not lines and caption:  # no caption block: the caption leads the range line
        extra = f"{caption} · {extra}" if extra else caption
    fixed_caption(caption, lines, extra, where, extra_line=pad)
    return picture


def show_maps(images: Sequence[np.ndarray], scales: Sequence[ScaleInfo | None], captions: Sequence[str], *, columns: int = 4,
              lines: int = 2, target: Any = None) -> None:
    """Several maps in a grid, row by row (every row aligned), each with its bar and fixed-height caption."""
    where = st if target is None else target
    for row in range(0, len(images), columns):
        cols = where.columns(columns)
        for col, image, scale, text in zip(cols, images[row:row + columns], scales[row:row + columns],
                                           captions[row:row + columns], strict=False):
            show_map(image, scale, text, lines=lines, target=col)


def scale_note(scales: Iterable[ScaleInfo | None], target: Any = None) -> None:
    """One caption under a group of maps: how their ranges were chosen and, for signed maps, the colours' signs."""
    where = st if target is None else target
    seen: list[str] = []
    for scale in scales:
        if scale is None:
            continue
        words = ("each " + (scale.how or "map") + " on its own range") if scale.normalised else scale.how
        for part in (words, scale.legend):
            if part and part not in seen:
                seen.append(part)
    if seen:
        where.caption("Colour scale: " + plain("; ".join(seen)))


def channel_mode(channel_map: np.ndarray) -> str:
    """How one channel is drawn over the photo: its positive part, or by magnitude where it is nowhere positive."""
    return "positive" if float(np.nan_to_num(channel_map).max()) > 0 else "absolute"


def channel_scale(channel_map: np.ndarray, cmap: str, clip_percentile: float = 99.5) -> ScaleInfo:
    """The scale `feature_view.channel_overlay` draws one channel with."""
    return map_scale(channel_map, channel_mode(channel_map), cmap, clip_percentile)
