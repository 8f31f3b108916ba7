"""The Dataset page's views as PNG pictures (one download per view, as Mean maps has): the view's pictures in a
captioned grid, groups stacked under their titles, and Where it looks' box plot drawn with matplotlib's object API
(no pyplot state: safe from every session's thread). Every text is a user's (class and file names): drawn as written,
never as markup."""
from __future__ import annotations

import io
import textwrap
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

GAP = 8  # white pixels between pictures
FONT = 13  # caption size in pixels
MARKS = {"✓": "right:", "✗": "wrong:"}  # the page's marks, in words: Pillow's default font has no such glyphs


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # a Pillow without FreeType: the fixed bitmap font
        return ImageFont.load_default()


def text_block(text: str, width: int, size: int = FONT, lines: int | None = None) -> np.ndarray:
    """`text` wrapped to `width` pixels on white (`lines`: a fixed number of lines, the rest cut)."""
    for mark, word in MARKS.items():
        text = text.replace(mark, word)
    wrapped = textwrap.wrap(text, max(8, int(width / (size * 0.55)))) or [""]
    if lines is not None:
        wrapped = (wrapped + [""] * lines)[:lines]
    canvas = Image.new("RGB", (max(1, width), (size + 4) * len(wrapped) + 4), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    font = _font(size)
    for i, line in enumerate(wrapped):
        draw.text((2, 2 + i * (size + 4)), line, fill=(30, 30, 30), font=font)
    return np.asarray(canvas)


def _pad(picture: np.ndarray, height: int, width: int) -> np.ndarray:
    rgb = picture if picture.ndim == 3 else np.repeat(picture[..., None], 3, axis=2)
    out = np.full((height, width, 3), 255, np.uint8)
    out[:rgb.shape[0], :rgb.shape[1]] = rgb[:height, :width, :3]
    return out


def stacked(parts: Sequence[np.ndarray], gap: int = GAP) -> np.ndarray:
    """Pictures one under the other, left-aligned on white."""
    width = max(p.shape[1] for p in parts)
    padded = [_pad(p, p.shape[0] + gap, width) for p in parts]
    return np.concatenate(padded, axis=0)


def side_by_side(parts: Sequence[np.ndarray], gap: int = GAP) -> np.ndarray:
    """Pictures in a row, top-aligned on white."""
    height = max(p.shape[0] for p in parts)
    return np.concatenate([_pad(p, height, p.shape[1] + gap) for p in parts], axis=1)


def sheet(tiles: Sequence[np.ndarray], captions: Sequence[str], columns: int = 4, title: str = "",
          lines: int = 2) -> np.ndarray:
    """Pictures in a grid of `columns`, each with its caption (`lines` lines) under it, and a title above."""
    if not tiles:
        return text_block(title or "(nothing to show)", 480)
    width = max(t.shape[1] for t in tiles)
    cells = [stacked([t, text_block(c, width, lines=lines)], gap=2) for t, c in zip(tiles, captions, strict=True)]
    rows = [side_by_side(cells[i:i + columns]) for i in range(0, len(cells), columns)]
    grid = stacked(rows)
    return stacked([text_block(title, grid.shape[1], FONT + 3), grid]) if title else grid


def _literal(text: str) -> str:
    """A user's text as matplotlib draws it literally (a '$' would start mathtext)."""
    return str(text).replace("$", r"\$")


def boxplot_png(values: dict[str, np.ndarray], stat: str, title: str) -> bytes:
    """One horizontal box per class (whiskers at the minimum and maximum, as the page's chart), the first class on top."""
    from matplotlib.figure import Figure

    names = list(values)
    figure = Figure(figsize=(8, 1.4 + 0.3 * max(1, len(names))), dpi=100)
    ax = figure.add_subplot()
    if names:
        ax.boxplot([np.asarray(values[n], float) for n in names], orientation="horizontal", whis=(0, 100),
                   tick_labels=[_literal(n) for n in names])
        ax.invert_yaxis()
    ax.set_xlabel(_literal(stat))
    ax.set_title(_literal(textwrap.fill(title, 110)), fontsize=10, loc="left")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
