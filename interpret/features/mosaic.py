"""A page of a layer's channels as one labelled image, in any channel order."""
from __future__ import annotations

import math

import numpy as np

from ..render import mosaic

PER_PAGE = 256
MIN_TILE = 48  # pixels: small maps are enlarged so that the channel index fits on each tile


def page_count(channels: int, per_page: int = PER_PAGE) -> int:
    return max(1, math.ceil(channels / per_page))


def channel_mosaic(values: np.ndarray, order: np.ndarray | None = None, page: int = 0, per_page: int = PER_PAGE,
                   shared_scale: bool = False, cmap: str = "viridis", labels: bool = True) -> np.ndarray:
    """Channels order[page * per_page : ...] of a C x H x W array as one RGB mosaic.

    With `shared_scale`, every tile uses the whole layer's range (the same colours on every page).
    """
    order = np.arange(values.shape[0]) if order is None else np.asarray(order)
    pages = page_count(len(order), per_page)
    if not 0 <= page < pages:
        raise ValueError(f"page {page} does not exist: there are {pages}")
    chosen = order[page * per_page:(page + 1) * per_page]
    value_range = (float(np.nan_to_num(values).min()), float(np.nan_to_num(values).max())) if shared_scale else None
    tile = max(MIN_TILE, values.shape[1])
    return mosaic(values[chosen], shared_scale=shared_scale, cmap=cmap, tile=tile,
                  labels=[str(int(c)) for c in chosen] if labels else None, value_range=value_range)
