"""Saliency page parts: method choice with parameter widgets, and the side-by-side comparison.

Maps come from `maps.compute_maps` (computed once per model, photo, method, parameters, target and
layer, for every session), so display settings never recompute anything.
"""
from __future__ import annotations

import streamlit as st

from ..attribution import OBJECTIVES, REGISTRY, Attribution, Target
from ..images import InputImage
from ..layers import default_cam_layer
from ..models import LoadedModel
from ..render import scale_of
from .downloads import map_png_bytes, npy_bytes
from .map_image import display_scale, scale_note, show_map
from .maps import offered_methods, shown_image
from .plain import plain
from .url_state import persistent
from .widgets import DisplaySettings, class_picker, display_controls, layer_picker, param_widgets

DEFAULT_METHODS = ("gradient", "grad_x_input", "guided_backprop", "gradcam")  # one pass each: a quick first view
OBJECTIVE_HELP = {"logit": "the class score",
                  "probability": "the class's probability (softmax, or sigmoid for a sigmoid head)",
                  "loss": "the cross-entropy loss for the class (binary for a sigmoid head; as in the origin article)"}
COLUMNS = 4


def method_picker(lm: LoadedModel, key: str = "sal") -> list[str]:
    """One or several of the methods that apply to this model, by their labels; the others listed with their reason."""
    offered = offered_methods(lm)
    return persistent(st.multiselect, "Methods", options=offered, default=[m for m in DEFAULT_METHODS if m in offered],
                      key=f"{key}-methods", url="methods", format_func=lambda name: REGISTRY[name].label,
                      help="Maps are drawn side by side on the same photo with the same display settings. "
                           "Only the methods that can compute an honest map on this model are offered.")


def settings_view(lm: LoadedModel, methods: list[str], key: str = "sal") -> tuple[dict[str, dict], str | None]:
    """Each chosen method's parameters (in expanders) and, if a CAM is chosen, the layer."""
    params: dict[str, dict] = {}
    with_params = [m for m in methods if REGISTRY[m].params]
    if with_params:
        columns = st.columns(min(len(with_params), COLUMNS))
        for i, method in enumerate(with_params):
            with columns[i % len(columns)].expander(f"{REGISTRY[method].label} settings"):
                params[method] = param_widgets(method, key, url=True)
    layer = None
    if any(REGISTRY[m].uses_layer for m in methods):
        layer = layer_picker(lm, f"{key}-layer", default=default_cam_layer(lm), label="CAM layer", url="layer")
    return {m: params.get(m, {}) for m in methods}, layer


def target_view(lm: LoadedModel, predicted: int, key: str = "sal") -> Target:
    left, right = st.columns([3, 2])
    with left:
        index = class_picker(lm, f"{key}-target", predicted, url="target")
    with right:
        objective = persistent(st.radio, "Explain", options=list(OBJECTIVES), default=OBJECTIVES[0], url="objective",
                               horizontal=True, key=f"{key}-objective", format_func=lambda o: o,
                               help="; ".join(f"{k}: {v}" for k, v in OBJECTIVE_HELP.items()))
    return Target(index, objective)


def render_comparison(lm: LoadedModel, image: InputImage, attributions: list[Attribution], settings: DisplaySettings,
                      show_heat: bool = True, key: str = "sal") -> list[Attribution]:
    """The maps side by side on the same photo; returns the ones drawn (blank/constant/NaN maps are reported)."""
    photo = lm.preprocessing.model_view(image.image)
    drawable = [a for a in attributions if a.status == "ok"]
    for a in attributions:
        if a.status != "ok":
            reason = {"nan": "contains NaN or infinite values", "blank": "is all zeros", "constant": "is constant"}[a.status]
            st.warning(f"{REGISTRY[a.method].label}: the map {reason}, so it is not drawn ({plain(a.caption())}).")
        elif a.note.startswith("WARNING"):  # a method's own check of its map failed (DeepLIFT's summation)
            st.warning(plain(f"{REGISTRY[a.method].label}: {a.note}."))
    scale = max((scale_of(a.values, settings.mode, settings.clip_percentile) for a in drawable), default=0.0) \
        if settings.shared_scale else None
    for row in range(0, len(drawable), COLUMNS):
        columns = st.columns(COLUMNS)
        for column, a in zip(columns, drawable[row:row + COLUMNS], strict=False):  # the last row may be short
            with column:
                over, heat = shown_image(a.values, photo, settings, scale)
                shown_scale = display_scale(a.values, settings, scale, len(drawable), a.objective)
                show_map(over, shown_scale, caption(a), bar=not show_heat, lines=3)
                if show_heat:
                    show_map(heat, shown_scale, "heat map", lines=0)
                name = f"{image.name.rsplit('.', 1)[0]}_{a.method}_{a.target}"
                left, right = st.columns(2)
                left.download_button("PNG", map_png_bytes(over, shown_scale), f"{name}.png", "image/png",
                                     key=f"{key}-png-{a.method}")
                right.download_button(".npy", npy_bytes(a.values), f"{name}.npy", "application/octet-stream",
                                      key=f"{key}-npy-{a.method}")
    scale_note(display_scale(a.values, settings, scale, len(drawable), a.objective) for a in drawable)
    return drawable


def caption(a: Attribution) -> str:
    objective = "" if a.objective == "logit" else f" ({a.objective})"
    return f"{REGISTRY[a.method].label}{objective} · " + a.caption().split(" · ", 1)[1]  # plain text: show_map escapes it


def display_view(key: str = "sal") -> tuple[DisplaySettings, bool]:
    settings = display_controls(f"{key}-display", url=True)
    show_heat = persistent(st.toggle, "Also show the heat maps alone", default=True, key=f"{key}-heat", url="heat")
    return settings, show_heat
