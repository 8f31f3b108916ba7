"""How maps are drawn (sign, colour map, opacity, clip percentile, one scale for all or each its own) and the
scale each is drawn with: the one rule the pages, the CLI's report and the exports share, so a map has the same
colours and the same numbers under its bar wherever it is shown."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from ..render import ScaleInfo, map_scale, scale_of

OBJECTIVE_WORDS = {"logit": "class score", "probability": "probability", "loss": "loss"}  # what a sign raises


@dataclass(frozen=True)
class DisplaySettings:
    """How maps are drawn; changing one only redraws, never recomputes."""

    mode: str = "absolute"
    cmap: str = "inferno"
    alpha: float = 0.5
    clip_percentile: float = 99.5
    shared_scale: bool = False


def shared_top(maps: Iterable[np.ndarray], settings: DisplaySettings) -> float | None:
    """The one range every map is drawn with when the scale is shared (the largest of their percentiles), else None."""
    if not settings.shared_scale:
        return None
    return max((scale_of(values, settings.mode, settings.clip_percentile) for values in maps), default=0.0)


def drawn_scale(values: np.ndarray, settings: DisplaySettings, scale: float | None = None, shared_by: int = 0,
                objective: str = "logit") -> ScaleInfo:
    """The scale a map is drawn with (`scale`: the shared range, shared by `shared_by` maps)."""
    return map_scale(values, settings.mode, settings.cmap, settings.clip_percentile, scale,
                     shared_by if scale is not None else 0, OBJECTIVE_WORDS.get(objective, objective))
