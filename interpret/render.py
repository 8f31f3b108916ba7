"""Maps and activations to RGB arrays: colour maps, overlays, channel mosaics and the colour bars that say what
their colours mean (no matplotlib figures)."""
from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .errors import ParameterError
from .signs import select

DIVERGING = "RdBu_r"


def check_cmap(name: str) -> str:
    """A matplotlib colour map's name, or a ParameterError naming it and a few that exist."""
    import matplotlib

    if not isinstance(name, str) or name not in matplotlib.colormaps:
        raise ParameterError(f"'{str(name)[:60]}' is not a colour map; try inferno, viridis, magma, jet, gray or RdBu_r "
                             "(any matplotlib colour map name).")
    return name


def check_alpha(alpha: float) -> float:
    """An overlay's opacity: a finite number from 0 to 1, or a ParameterError."""
    if not isinstance(alpha, (int, float)) or not math.isfinite(alpha) or not 0 <= alpha <= 1:
        raise ParameterError(f"The opacity (alpha) must be a number from 0 to 1, not {alpha!r}.")
    return float(alpha)


@lru_cache(maxsize=32)
def colormap_lut(name: str) -> np.ndarray:
    """A 256 x 3 uint8 lookup table for a matplotlib colour map (a ParameterError for an unknown name)."""
    import matplotlib

    check_cmap(name)
    return (matplotlib.colormaps[name](np.linspace(0, 1, 256))[:, :3] * 255).round().astype(np.uint8)


def scale_of(values: np.ndarray, mode: str, clip_percentile: float = 99.5) -> float:
    """The magnitude mapped to full colour: a high percentile of |selected values| (robust to outliers)."""
    selected = np.abs(select(values, mode))
    scale = float(np.percentile(selected, clip_percentile)) if selected.size else 0.0
    return scale if scale > 0 else float(selected.max(initial=0.0))


def normalise(values: np.ndarray, mode: str = "absolute", clip_percentile: float = 99.5,
              scale: float | None = None) -> np.ndarray:
    """Values to [0, 1] (or [-1, 1] for 'signed'), clipped at `scale` (default: the percentile)."""
    selected = select(values, mode, np.float32)
    scale = scale_of(values, mode, clip_percentile) if scale is None else scale
    if scale <= 0:
        return np.zeros_like(selected)
    low = -1.0 if mode == "signed" else 0.0
    return np.clip(selected / scale, low, 1.0)


def colorize(values: np.ndarray, mode: str = "absolute", cmap: str | None = None,
             clip_percentile: float = 99.5, scale: float | None = None) -> np.ndarray:
    """A map as an RGB uint8 image; signed maps use a diverging colour map centred on zero."""
    unit = normalise(values, mode, clip_percentile, scale)
    if mode == "signed":
        unit = (unit + 1) / 2
        cmap = cmap or DIVERGING
    lut = colormap_lut(cmap or "inferno")
    return lut[np.round(unit * 255).astype(np.uint8)]


def resize(array: np.ndarray, size: tuple[int, int], nearest: bool = False) -> np.ndarray:
    """Resize an H x W (float) or H x W x 3 (uint8) array to (height, width)."""
    height, width = size
    if array.shape[:2] == (height, width):
        return array
    resample = Image.Resampling.NEAREST if nearest else Image.Resampling.BILINEAR
    if array.ndim == 2:
        return np.asarray(Image.fromarray(array.astype(np.float32)).resize((width, height), resample))
    return np.asarray(Image.fromarray(array).resize((width, height), resample))


def overlay(photo: np.ndarray, heat_rgb: np.ndarray, alpha: float = 0.5, weight: np.ndarray | None = None) -> np.ndarray:
    """Blend a coloured map over a photo; `weight` (0..1 per pixel) lets weak regions show the photo."""
    heat = resize(heat_rgb, photo.shape[:2]).astype(np.float32)
    a = np.full(photo.shape[:2], check_alpha(alpha), np.float32)
    if weight is not None:
        a = a * np.clip(resize(weight.astype(np.float32), photo.shape[:2]), 0, 1)
    blended = photo.astype(np.float32) * (1 - a[..., None]) + heat * a[..., None]
    return blended.round().clip(0, 255).astype(np.uint8)


def mosaic(channels: np.ndarray, columns: int | None = None, shared_scale: bool = False, cmap: str = "viridis",
           tile: int | None = None, labels: list[str] | None = None, pad: int = 2,
           value_range: tuple[float, float] | None = None) -> np.ndarray:
    """Every channel (C x H x W) as one RGB grid, each tile scaled on its own or all on one scale.

    `value_range` (low, high) fixes the shared scale, e.g. to a whole layer's range when only one
    page of its channels is drawn, so that colours mean the same on every page.
    """
    count, h, w = channels.shape
    columns = columns or max(1, math.ceil(math.sqrt(count)))
    rows = math.ceil(count / columns)
    data = np.nan_to_num(channels.astype(np.float32))
    if shared_scale:
        low, high = value_range if value_range is not None else (float(data.min()), float(data.max()))
        data = np.clip(data, low, high)
        unit = (data - low) / (high - low) if high > low else np.zeros_like(data)
    else:
        low = data.reshape(count, -1).min(1)[:, None, None]
        high = data.reshape(count, -1).max(1)[:, None, None]
        span = np.where(high > low, high - low, 1.0)
        unit = np.where(high > low, (data - low) / span, 0.0)
    tiles = colormap_lut(cmap)[np.round(unit * 255).astype(np.uint8)]  # C x h x w x 3
    if tile and tile != h:
        scale = max(1, round(tile / h))
        tiles = tiles.repeat(scale, axis=1).repeat(scale, axis=2)
        h, w = tiles.shape[1:3]
    grid = np.full((rows * (h + pad) + pad, columns * (w + pad) + pad, 3), 255, np.uint8)
    for i in range(count):
        r, c = divmod(i, columns)
        y, x = pad + r * (h + pad), pad + c * (w + pad)
        grid[y:y + h, x:x + w] = tiles[i]
    if labels is not None and h >= 24:
        image = Image.fromarray(grid)
        draw = ImageDraw.Draw(image)
        for i, text in enumerate(labels[:count]):
            r, c = divmod(i, columns)
            x, y = pad + c * (w + pad) + 1, pad + r * (h + pad)
            draw.rectangle((x, y, x + 6 * len(text) + 2, y + 11), fill=(0, 0, 0))
            draw.text((x + 1, y), text, fill=(255, 255, 255))
        grid = np.asarray(image)
    return grid


# ---------------------------------------------------------------- scales: what a map's colours mean

DIVERGING_MAPS = ("RdBu_r", "coolwarm", "bwr", "seismic")  # red for high values, blue for low ones, white at the centre
SIGN_PARTS = {"absolute": "|value|", "positive": "positive part", "negative": "magnitude of the negative part",
              "signed": "value", "range": "value"}  # "range": raw values from their minimum to their maximum


def shown_cmap(mode: str, cmap: str | None) -> str:
    """The colour map a map is drawn with: the chosen one, except that a signed map always gets a diverging one."""
    if mode == "signed":
        return cmap if cmap in DIVERGING_MAPS else DIVERGING
    return cmap or "inferno"


def sign_legend(objective: str = "score") -> str:
    """Which colour is which sign on a diverging map: 'red: raises the score, blue: lowers it'."""
    return f"red: raises the {objective}, blue: lowers it"


def tick(value: float) -> str:
    """A value as a short tick label: 0, 0.25, 12.5, 3.2e-3, -1.5e+4."""
    if value == 0 or not math.isfinite(value):
        return "0" if value == 0 else str(value)
    if 1e-2 <= abs(value) < 1e4:
        return f"{value:.3g}"
    mantissa, exponent = f"{value:.1e}".split("e")
    return f"{mantissa.removesuffix('.0')}e{int(exponent)}"


@dataclass(frozen=True)
class ScaleInfo:
    """What a drawn map's colours mean: the value at each end of its colour map and how that range was chosen.

    `normalised` maps (e.g. each mosaic tile on its own range) have no common values: their text says so."""

    cmap: str
    low: float = 0.0
    high: float = 1.0
    mode: str = "absolute"
    how: str = ""  # e.g. "99.5th percentile of |values|", "shared by 5 maps"
    legend: str = ""  # signed maps: which colour is which sign
    normalised: bool = False

    @property
    def signed(self) -> bool:
        return self.mode == "signed"

    def ticks(self) -> tuple[float, ...]:
        """The values written under the bar: both ends, and zero (signed) or the middle."""
        return (self.low, 0.0 if self.signed else (self.low + self.high) / 2, self.high)

    def text(self) -> str:
        """One line saying what the colours mean: '|value| 0 … 3.2e-3 (99.5th percentile of |values|)'."""
        if self.normalised:
            line = f"normalised {self.how or 'per map'}: its own minimum (left colour) to maximum (right colour)"
        else:
            middle = " … 0 … " if self.signed else " … "
            line = f"{SIGN_PARTS.get(self.mode, 'value')} {tick(self.low)}{middle}{tick(self.high)}"
            line += f" ({self.how})" if self.how else ""
        return line + (f" · {self.legend}" if self.legend else "")


def map_scale(values: np.ndarray, mode: str = "absolute", cmap: str | None = None, clip_percentile: float = 99.5,
              scale: float | None = None, shared_by: int = 0, objective: str = "score") -> ScaleInfo:
    """The scale `colorize(values, mode, cmap, clip_percentile, scale)` draws with, as a ScaleInfo.

    `shared_by` > 0: `scale` is one range shared by that many maps (the largest of their percentiles)."""
    top = scale_of(values, mode, clip_percentile) if scale is None else float(scale)
    part = "|values|" if mode in ("absolute", "signed") else SIGN_PARTS[mode]
    if top <= 0:
        how = "the map is zero in this sign mode"
    elif shared_by > 0:
        how = f"shared by {shared_by} map{'s' if shared_by != 1 else ''}: the largest {clip_percentile:g}th percentile of {part}"
    else:
        how = f"{clip_percentile:g}th percentile of {part}; larger values clipped" if clip_percentile < 100 \
            else f"maximum of {part}"
    return ScaleInfo(shown_cmap(mode, cmap), -top if mode == "signed" else 0.0, top, mode, how,
                     sign_legend(objective) if mode == "signed" else "")


def text_font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    """Pillow's default font at `size` pixels (the fixed bitmap font where Pillow has no FreeType)."""
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # a Pillow without FreeType: the fixed bitmap font
        return ImageFont.load_default()


def colour_bar(scale: ScaleInfo, width: int = 224, bar_height: int | None = None,
               font_size: int | None = None) -> np.ndarray:
    """A horizontal colour bar (uint8 RGB, white background) with tick values under it, `width` pixels wide
    (`font_size`: the values' size in pixels; default up to 16, for a page; an exported picture asks for more)."""
    width = max(64, int(width))
    bar_height = bar_height or max(8, width // 20)
    font_size = font_size or max(9, min(16, width // 18))
    margin = font_size * 2  # room for the end labels, centred on the bar's ends
    height = bar_height + 4 + font_size + 4
    canvas = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    inner = width - 2 * margin
    ramp = colormap_lut(scale.cmap)[np.linspace(0, 255, inner).round().astype(np.uint8)]
    canvas.paste(Image.fromarray(np.repeat(ramp[None], bar_height, axis=0)), (margin, 0))
    draw.rectangle((margin - 1, 0, margin + inner, bar_height - 1), outline=(120, 120, 120))
    font = text_font(font_size)
    if scale.normalised:
        labels = [(0.0, "min"), (1.0, "max")]
    else:
        span = scale.high - scale.low
        labels = [((v - scale.low) / span if span > 0 else 0.5, tick(v)) for v in scale.ticks()]
    for fraction, label in labels:
        x = margin + round(fraction * (inner - 1))
        draw.line((x, bar_height, x, bar_height + 3), fill=(60, 60, 60))
        text_width = draw.textlength(label, font=font)
        left = min(max(0, x - text_width / 2), width - text_width)
        draw.text((left, bar_height + 4), label, fill=(30, 30, 30), font=font)
    return np.asarray(canvas)


def with_colour_bar(image: np.ndarray, scale: ScaleInfo, text: bool = True) -> np.ndarray:
    """The image with its colour bar under it (and, with `text`, the scale's words wrapped below): for PNG files."""
    rgb = image if image.ndim == 3 else np.repeat(image[..., None], 3, axis=2)
    if rgb.shape[1] < 224:  # a small map is enlarged (nearest) so that the bar's numbers stay readable
        factor = math.ceil(224 / rgb.shape[1])
        rgb = rgb.repeat(factor, axis=0).repeat(factor, axis=1)
    width = rgb.shape[1]
    parts = [rgb, np.full((4, width, 3), 255, np.uint8), colour_bar(scale, width)]
    if text:
        font_size = max(9, min(14, width // 22))
        font = text_font(font_size)
        lines = textwrap.wrap(scale.text(), max(16, int(width / (font_size * 0.55))))
        block = Image.new("RGB", (width, (font_size + 3) * len(lines) + 4), (255, 255, 255))
        draw = ImageDraw.Draw(block)
        for i, line in enumerate(lines):
            draw.text((2, 2 + i * (font_size + 3)), line, fill=(30, 30, 30), font=font)
        parts.append(np.asarray(block))
    return np.concatenate(parts, axis=0)


def mosaic_scale(values: np.ndarray, shared_scale: bool, cmap: str, what: str = "channel") -> ScaleInfo:
    """The scale `mosaic`/`channel_mosaic` draws `values` (C x H x W) with: one range for all, or each tile its own."""
    if not shared_scale:
        return ScaleInfo(cmap, normalised=True, how=f"per {what}")
    data = np.nan_to_num(np.asarray(values, np.float32))
    low, high = (float(data.min()), float(data.max())) if data.size else (0.0, 0.0)
    return ScaleInfo(cmap, low, high, "range", f"shared by every {what}: the minimum to the maximum of the whole layer")
