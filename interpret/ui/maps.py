"""Attribution maps in the app: each computed once for every session, and drawn with the display settings.

Finished maps live in a SharedLRU rather than st.cache_data: computing a map draws a progress bar,
and st calls made inside a cached function are recorded and replayed on every later hit. A map whose
computation was stopped stores nothing; the maps finished before it stay stored.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import streamlit as st

from ..attribution import REGISTRY, Attribution, Target, attribute
from ..attribution.requirements import applicable, split_applicable
from ..images import InputImage
from ..models import LoadedModel
from ..progress import Progress
from ..render import colorize, shown_cmap
from ..render import overlay as blend
from .errors import user_errors
from .plain import plain
from .progress_bar import progress_bar
from .shared_lru import SharedLRU
from .widgets import DisplaySettings

computations = {"count": 0}  # maps actually computed (not served from the store): evidence for tests


@st.cache_resource
def _maps() -> SharedLRU:
    return SharedLRU(512)


def map_key(lm: LoadedModel, image: InputImage, method: str, params: dict[str, Any], target: Target,
            layer: str | None) -> str:
    """Everything that makes a map what it is, as one string."""
    return "|".join(map(str, (lm.key, image.sha256, method, sorted(params.items()), target.index, target.objective,
                              target.contrast, layer)))


def cached_map(lm: LoadedModel, image: InputImage, method: str, params: dict[str, Any], target: Target,
               layer: str | None = None, progress: Progress | None = None) -> Attribution:
    """One map, computed once per key for every session (the others wait for the first)."""

    def compute() -> Attribution:
        computations["count"] += 1
        x = lm.preprocessing.to_tensor(image.image)
        return attribute(lm, x, method, target, layer=layer, params=dict(params), progress=progress)

    return _maps().get_or_compute(map_key(lm, image, method, params, target, layer), compute)


def compute_maps(lm: LoadedModel, image: InputImage, methods: list[str], params: dict[str, dict[str, Any]],
                 target: Target, layer: str | None) -> list[Attribution]:
    """Every chosen map that can be computed; a progress bar shows while one is computed, and any click interrupts it.

    A method that does not apply to this model is one st.warning with its reason; a method that fails (a setting it
    refuses, a run-time failure) is one st.error naming it; the other methods' maps are still returned.
    """
    results = []
    for method in methods:
        can, reason = applicable(lm, method)
        if not can:
            st.warning(plain(reason), icon="🚫")
            continue
        use_layer = layer if REGISTRY[method].uses_layer else None
        label = REGISTRY[method].label
        with user_errors(str(lm.device), label), progress_bar(f"Computing {label}…") as progress:
            results.append(cached_map(lm, image, method, params.get(method, {}), target, use_layer, progress))
    return results


def offered_methods(lm: LoadedModel, methods: list[str] | None = None) -> list[str]:
    """The methods (all registered ones by default) that can compute an honest map on this model; the others are
    listed in an expander "Not available for this model", each with its one-line reason."""
    offered, refused = split_applicable(lm, list(REGISTRY) if methods is None else methods)
    if refused:
        with st.expander(f"Not available for this model ({len(refused)})"):
            for reason in refused.values():
                st.caption(plain(reason))
    return offered


def shown_image(values: np.ndarray, photo: np.ndarray, settings: DisplaySettings,
                scale: float | None) -> tuple[np.ndarray, np.ndarray]:
    """(overlay on the photo, heat map alone) as RGB arrays, drawn with the display settings."""
    heat = colorize(values, settings.mode, shown_cmap(settings.mode, settings.cmap), settings.clip_percentile, scale)
    return blend(photo, heat, settings.alpha), heat
