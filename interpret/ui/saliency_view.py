"""Saliency page parts: method choice with parameter widgets, cached maps, and the side-by-side comparison.

Maps are computed once per (model, image sha256, method, parameters, target, objective, layer) with
st.cache_data and drawn from the cached raw arrays, so display settings never recompute anything.
"""
from __future__ import annotations

import io
from contextlib import contextmanager
from typing import Any, Callable

import numpy as np
import streamlit as st
from PIL import Image

from ..attribution import OBJECTIVES, REGISTRY, Attribution, Target, attribute
from ..images import InputImage
from ..layers import default_cam_layer
from ..models import LoadedModel
from ..render import colorize, scale_of
from ..render import overlay as blend
from .widgets import DisplaySettings, class_picker, display_controls, layer_picker

try:  # st calls made inside a cached function are recorded and replayed on every hit; progress must not be
    from streamlit.runtime.caching.cached_message_replay import in_cached_function
except ImportError:  # pragma: no cover - another Streamlit version: progress is simply recorded
    in_cached_function = None

DEFAULT_METHODS = ("gradient", "grad_x_input", "guided_backprop", "gradcam")  # one pass each: a quick first view
OBJECTIVE_HELP = {"logit": "the class score", "probability": "the softmax probability",
                  "loss": "the cross-entropy loss for the class (as in the origin article)"}
COLUMNS = 4
computations = {"count": 0}  # maps actually computed (not served from the cache): evidence for tests


@contextmanager
def _not_recorded():
    token = in_cached_function.set(False) if in_cached_function is not None else None
    try:
        yield
    finally:
        if token is not None:
            in_cached_function.reset(token)


def method_picker(key: str = "sal") -> list[str]:
    """One or several methods, by their labels."""
    return st.multiselect("Methods", list(REGISTRY), default=list(DEFAULT_METHODS), key=f"{key}-methods",
                          format_func=lambda name: REGISTRY[name].label,
                          help="Maps are drawn side by side on the same photo with the same display settings.")


def param_widgets(method: str, key: str = "sal") -> dict[str, Any]:
    """A widget per parameter of the method, starting at its default."""
    impl = REGISTRY[method]
    values: dict[str, Any] = {}
    for p in impl.params:
        wkey = f"{key}-{method}-{p.name}"
        if p.kind == "choice":
            values[p.name] = st.selectbox(p.name, p.choices, index=p.choices.index(p.default), help=p.help, key=wkey)
        elif p.kind == "bool":
            values[p.name] = st.checkbox(p.name, value=bool(p.default), help=p.help, key=wkey)
        elif p.kind == "int":
            values[p.name] = int(st.number_input(p.name, int(p.low) if p.low is not None else None,
                                                 int(p.high) if p.high is not None else None, int(p.default), help=p.help, key=wkey))
        else:
            values[p.name] = float(st.number_input(p.name, p.low, p.high, float(p.default), help=p.help, key=wkey))
    return impl.resolve_params(values)


def settings_view(lm: LoadedModel, methods: list[str], key: str = "sal") -> tuple[dict[str, dict], str | None]:
    """Each chosen method's parameters (in expanders) and, if a CAM is chosen, the layer."""
    params: dict[str, dict] = {}
    with_params = [m for m in methods if REGISTRY[m].params]
    if with_params:
        columns = st.columns(min(len(with_params), COLUMNS))
        for i, method in enumerate(with_params):
            with columns[i % len(columns)].expander(f"{REGISTRY[method].label} settings"):
                params[method] = param_widgets(method, key)
    layer = None
    if any(REGISTRY[m].uses_layer for m in methods):
        layer = layer_picker(lm, f"{key}-layer", default=default_cam_layer(lm), label="CAM layer")
    return {m: params.get(m, {}) for m in methods}, layer


def target_view(lm: LoadedModel, predicted: int, key: str = "sal") -> Target:
    left, right = st.columns([3, 2])
    with left:
        index = class_picker(lm, f"{key}-target", predicted)
    with right:
        objective = st.radio("Explain", OBJECTIVES, horizontal=True, key=f"{key}-objective",
                             format_func=lambda o: o, help="; ".join(f"{k}: {v}" for k, v in OBJECTIVE_HELP.items()))
    return Target(index, objective)


@st.cache_data(max_entries=512, show_spinner=False)
def cached_map(model_key: str, sha: str, method: str, params: tuple, target: int, objective: str, layer: str | None,
               _lm: LoadedModel, _image: InputImage, _progress: Callable[[float], None]) -> Attribution:
    """One map, computed once per key for every session."""
    computations["count"] += 1
    x = _lm.preprocessing.to_tensor(_image.image)
    return attribute(_lm, x, method, Target(target, objective), layer=layer, params=dict(params), progress=_progress)


def compute_maps(lm: LoadedModel, model_key: str, image: InputImage, methods: list[str], params: dict[str, dict],
                 target: Target, layer: str | None) -> list[Attribution]:
    """Every chosen map (cached); a progress bar shows while a slow one is computed, and Stop interrupts it."""
    results = []
    for method in methods:
        bar = st.empty()

        def progress(fraction: float, bar=bar, label=REGISTRY[method].label) -> None:
            with _not_recorded():
                bar.progress(min(1.0, max(0.0, fraction)), text=f"Computing {label}…")

        use_layer = layer if REGISTRY[method].uses_layer else None
        results.append(cached_map(model_key, image.sha256, method, tuple(sorted(params[method].items())), target.index,
                                  target.objective, use_layer, lm, image, progress))
        bar.empty()
    return results


def shown_image(values: np.ndarray, photo: np.ndarray, settings: DisplaySettings, scale: float | None) -> tuple[np.ndarray, np.ndarray]:
    """(overlay on the photo, heat map alone) as RGB arrays, drawn with the display settings."""
    heat = colorize(values, settings.mode, settings.cmap if settings.mode != "signed" else None, settings.clip_percentile, scale)
    return blend(photo, heat, settings.alpha), heat


def png_bytes(rgb: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG")
    return buffer.getvalue()


def npy_bytes(values: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, values)
    return buffer.getvalue()


def render_comparison(lm: LoadedModel, image: InputImage, attributions: list[Attribution], settings: DisplaySettings,
                      show_heat: bool = True, key: str = "sal") -> list[Attribution]:
    """The maps side by side on the same photo; returns the ones drawn (blank/constant/NaN maps are reported)."""
    photo = lm.preprocessing.model_view(image.image)
    drawable = [a for a in attributions if a.status == "ok"]
    for a in attributions:
        if a.status != "ok":
            reason = {"nan": "contains NaN or infinite values", "blank": "is all zeros", "constant": "is constant"}[a.status]
            st.warning(f"{REGISTRY[a.method].label}: the map {reason}, so it is not drawn ({a.caption()}).")
    scale = max((scale_of(a.values, settings.mode, settings.clip_percentile) for a in drawable), default=0.0) \
        if settings.shared_scale else None
    for row in range(0, len(drawable), COLUMNS):
        columns = st.columns(COLUMNS)
        for column, a in zip(columns, drawable[row:row + COLUMNS]):
            with column:
                over, heat = shown_image(a.values, photo, settings, scale)
                st.image(over, caption=caption(a), width="stretch")
                if show_heat:
                    st.image(heat, caption="heat map", width="stretch")
                name = f"{image.name.rsplit('.', 1)[0]}_{a.method}_{a.target}"
                left, right = st.columns(2)
                left.download_button("PNG", png_bytes(over), f"{name}.png", "image/png", key=f"{key}-png-{a.method}")
                right.download_button(".npy", npy_bytes(a.values), f"{name}.npy", "application/octet-stream", key=f"{key}-npy-{a.method}")
    return drawable


def caption(a: Attribution) -> str:
    objective = "" if a.objective == "logit" else f" ({a.objective})"
    return f"{REGISTRY[a.method].label}{objective} · " + a.caption().split(" · ", 1)[1]


def display_view(key: str = "sal") -> tuple[DisplaySettings, bool]:
    settings = display_controls(f"{key}-display")
    show_heat = st.toggle("Also show the heat maps alone", value=True, key=f"{key}-heat")
    return settings, show_heat
