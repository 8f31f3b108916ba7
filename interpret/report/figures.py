"""The pictures of a report and of the exports fit for a slide: each map drawn exactly as the page drew it (the same
colours for the same scale), a map at a chosen size up to the photo's own resolution with its colour bar and a
caption legible at that size, the photo x method grid and the Trust curves as matplotlib figures rendered to PNG.

Matplotlib is used through its object API only (no pyplot state), so figures are drawn safely from any thread;
every text it draws is a user's (class names, file names, labels) and is drawn as written (no mathtext).
"""
from __future__ import annotations

import io
import math
import textwrap

import numpy as np
from PIL import Image, ImageDraw

from .. import limits
from ..render import ScaleInfo, colorize, colour_bar, overlay, text_font, tick
from .content import Curves, MapPanel, Photo, Report

GAP = 6  # white pixels between a picture and its bar, and around the caption


def png(rgb: np.ndarray) -> bytes:
    """An RGB (or gray) uint8 array as a PNG file."""
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb)).save(buffer, format="PNG")
    return buffer.getvalue()


def heat(panel: MapPanel) -> np.ndarray:
    """The map's colours as the page drew them: its values on its scale's colour map, from its scale's range."""
    return colorize(panel.values, panel.scale.mode, panel.scale.cmap, scale=max(abs(panel.scale.high), 0.0))


def fitted(picture: np.ndarray, side: int) -> np.ndarray:
    """A photo resized to `side` x `side` (Lanczos: a large region shrinks without aliasing)."""
    if picture.shape[:2] == (side, side):
        return picture
    return np.asarray(Image.fromarray(picture).resize((side, side), Image.Resampling.LANCZOS))


def export_side(photo: Photo, side: int | None) -> int:
    """The side a map is drawn at: `side` (None: the model's input), at most the photo's own resolution
    (`Photo.export_side`, itself at most EXPORT_SIDE_MAX)."""
    seen = int(photo.seen.shape[0])
    if side is None:
        return seen
    return max(16, min(int(side), photo.export_side, limits.EXPORT_SIDE_MAX))


def map_picture(panel: MapPanel, photo: Photo, side: int | None = None) -> np.ndarray:
    """The map over its photo, as the page drew it; at another `side` the photo's region at that size under it
    (the photo as the model sees it where the region was not made)."""
    size = export_side(photo, side)
    if size == photo.seen.shape[0] == photo.seen.shape[1]:
        base = photo.seen
    else:
        base = fitted(photo.region if photo.region is not None and size > photo.seen.shape[0] else photo.seen, size)
    return overlay(base, heat(panel), panel.alpha)


def font_size(width: int) -> int:
    """Text size for a picture `width` px wide, legible once the picture fills a slide's half."""
    return max(12, min(64, width // 28))


def text_block(lines: list[str], width: int, size: int) -> np.ndarray:
    """Lines of text wrapped to `width` px, on white."""
    font = text_font(size)
    per_line = max(12, int(width / (size * 0.56)))
    wrapped = [part for line in lines if line for part in textwrap.wrap(line, per_line)]
    block = Image.new("RGB", (width, (size + size // 3) * len(wrapped) + 2 * GAP), (255, 255, 255))
    draw = ImageDraw.Draw(block)
    for i, line in enumerate(wrapped):
        draw.text((GAP, GAP + i * (size + size // 3)), line, fill=(20, 20, 20), font=font)
    return np.asarray(block)


def captioned(picture: np.ndarray, scale: ScaleInfo | None, lines: list[str]) -> np.ndarray:
    """The picture with its colour bar (values legible at its size) and the caption lines under it."""
    width = picture.shape[1]
    size = font_size(width)
    parts = [picture, np.full((GAP, width, 3), 255, np.uint8)]
    if scale is not None:
        parts.append(colour_bar(scale, width, bar_height=max(8, size), font_size=size))
        lines = [*lines, scale.text()]
    parts.append(text_block(lines, width, size))
    return np.concatenate(parts, axis=0)


def panel_lines(panel: MapPanel, model: str) -> list[str]:
    """What a map shows, in words: method and target, then photo and model."""
    objective = "" if panel.objective == "logit" else f" ({panel.objective})"
    layer = f" @ {panel.layer}" if panel.layer else ""
    settings = ", ".join(f"{k}={v}" for k, v in panel.params)
    return [f"{panel.label}{objective}{layer} · {panel.target_label} ({panel.target})",
            f"{panel.photo} · {model}" + (f" · {settings}" if settings else "")]


def slide_png(panel: MapPanel, photo: Photo, model: str, side: int | None = None) -> bytes:
    """One map as a PNG for a slide: at `side` px (up to the photo's own resolution), its bar and caption under it."""
    return png(captioned(map_picture(panel, photo, side), panel.scale, panel_lines(panel, model)))


# ---------------------------------------------------------------- matplotlib figures

def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=150, layout="constrained")


def _figure_png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", facecolor="white")
    return buffer.getvalue()


def _colour_bar(figure, ax, scale: ScaleInfo) -> None:
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    low, high = (0.0, 1.0) if scale.normalised else (scale.low, scale.high if scale.high > scale.low else scale.low + 1)
    bar = figure.colorbar(ScalarMappable(Normalize(low, high), scale.cmap), ax=ax, orientation="horizontal",
                          fraction=0.06, pad=0.02, aspect=14)
    ticks = (0.0, 1.0) if scale.normalised else scale.ticks()
    bar.set_ticks(list(ticks), labels=["min", "max"] if scale.normalised else [tick(t) for t in ticks])
    bar.ax.tick_params(labelsize=7)


def grid_rows(report: Report) -> tuple[list[Photo], list[str]]:
    """The grid's photos (those with a map) and methods, in the order the maps were drawn."""
    shas = list(dict.fromkeys(m.photo_sha for m in report.maps))
    methods = list(dict.fromkeys(m.method for m in report.maps))
    return [p for p in (report.photo(s) for s in shas) if p is not None], methods


def grid_png(report: Report) -> bytes:
    """The photo x method grid as one PNG: a row per photo (the photo, then each method's map over it with its
    colour bar), the method's label over each column, the target under each map."""
    photos, methods = grid_rows(report)
    cells = {(m.photo_sha, m.method): m for m in report.maps}
    labels = {m.method: m.label for m in report.maps}
    figure = _figure(2.3 * (len(methods) + 1), 2.75 * max(1, len(photos)) + 0.4)
    axes = np.atleast_2d(figure.subplots(max(1, len(photos)), len(methods) + 1, squeeze=False))
    for r, photo in enumerate(photos):
        axes[r, 0].imshow(photo.seen)
        top = f"\n{photo.guesses[0].label} ({photo.guesses[0].prob:.0%})" if photo.guesses else ""
        axes[r, 0].set_title(_short(photo.name) + top, fontsize=8, parse_math=False)
        for c, method in enumerate(methods, start=1):
            panel = cells.get((photo.sha256, method))
            ax = axes[r, c]
            if panel is None:
                ax.text(0.5, 0.5, "not drawn", ha="center", va="center", fontsize=8, parse_math=False)
                continue
            ax.imshow(map_picture(panel, photo))
            head = f"{labels[method]}\n" if r == 0 else ""
            ax.set_title(f"{head}{_short(panel.target_label)} ({panel.target})", fontsize=8, parse_math=False)
            _colour_bar(figure, ax, panel.scale)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    figure.suptitle(_short(report.model.spec, 80), fontsize=9, parse_math=False)
    return _figure_png(figure)


def _short(text: str, limit: int = 28) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def curves_png(curves: Curves) -> bytes:
    """The deletion and insertion curves side by side, every map in the legend, the reference maps grey and dashed."""
    figure = _figure(10, 4.2)
    axes = figure.subplots(1, 2)
    colours = iter(__import__("matplotlib").colormaps["tab10"](np.linspace(0, 1, 10)))
    colour_of: dict[str, object] = {}
    for ax, kind in zip(axes, ("deletion", "insertion"), strict=True):
        for s in (s for s in curves.series if s.kind == kind):
            if s.reference:
                style: dict = {"color": "0.55", "linestyle": "--", "linewidth": 1.2}
            else:
                style = {"color": colour_of.setdefault(s.label, next(colours, "black")), "linewidth": 2}
            ax.plot(s.fractions, s.probs, label=_short(s.label, 40), **style)
        ax.set_title(f"{kind.capitalize()} ({'lower' if kind == 'deletion' else 'higher'} is better)", fontsize=10)
        ax.set_xlabel("fraction of pixels")
        ax.set_ylabel("probability")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, max(1e-6, math.ceil(max((float(np.max(s.probs)) for s in curves.series), default=1) * 10) / 10))
        for text in ax.legend(fontsize=7).get_texts():
            text.set_parse_math(False)
    return _figure_png(figure)
