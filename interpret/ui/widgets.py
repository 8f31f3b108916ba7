"""Widgets every page shares: target class, layer, a method's parameters, and how maps are displayed.

Each is drawn through `url_state.persistent`: its value lasts across page switches (and in the URL where asked).
"""
from __future__ import annotations

import math
from typing import Any

import streamlit as st

from ..attribution import REGISTRY
from ..models import LoadedModel
from ..render import DIVERGING_MAPS
from ..report.scales import DisplaySettings  # how maps are drawn: one definition for the pages and the CLI
from ..signs import MODES
from .answers import layers_of
from .url_state import persistent

CMAPS = ["inferno", "viridis", "jet", "magma", "gray", "RdBu_r", "coolwarm"]


def _model_scope(lm: LoadedModel) -> str:
    return f"{lm.spec}|{lm.num_classes}"


PREDICTED = -1  # the class picker's first entry: follow the prediction (not None: a selectbox shows None as empty)


def class_picker(lm: LoadedModel, key: str, default: int, label: str = "Target class", url: str | None = None) -> int:
    """A searchable list of class names; its first entry follows `default` (e.g. the prediction).

    That entry is PREDICTED (-1), not None: Streamlit draws a selectbox whose value is None as its empty
    placeholder ("Choose an option"), even when None is one of the options."""
    options = [PREDICTED, *range(lm.num_classes)]
    choice = persistent(
        st.selectbox, label, options=options, default=PREDICTED, url=url,
        format_func=lambda i: f"predicted: {lm.label(default)} ({default})" if i == PREDICTED else f"{lm.label(i)} ({i})",
        key=class_key(lm, key),
        help="Type to search the class names.",
    )
    return default if choice == PREDICTED else int(choice)


def class_key(lm: LoadedModel, key: str) -> str:
    """The widget key of `class_picker(lm, key, ...)`: its value is PREDICTED unless a class was chosen."""
    return f"{key}|{_model_scope(lm)}"


def layer_picker(lm: LoadedModel, key: str, default: str | None = None, spatial_only: bool = True,
                 label: str = "Layer", url: str | None = None) -> str | None:
    """A layer chosen from the model's layers, each shown with its type and output shape."""
    layers = [info for info in layers_of(lm) if info.spatial or not spatial_only]
    if not layers:
        st.info("This model exposes no layers that can be captured (a TorchScript file?).")
        return None
    names = [info.name for info in layers]
    by_name = {info.name: info for info in layers}
    first = default if default in names else names[-1]
    return persistent(st.selectbox, label, options=names, default=first, url=url, format_func=lambda n: by_name[n].label,
                      key=f"{key}|{_model_scope(lm)}", help="Type to search; shapes exclude the batch dimension.")


def param_widgets(method: str, key: str = "sal", url: bool = False) -> dict[str, Any]:
    """A widget per parameter of the method, starting at its default; the resolved parameters.

    `url`: mirror them in the URL as METHOD.PARAM (one page's main method settings, not every page's)."""
    impl = REGISTRY[method]
    values: dict[str, Any] = {}
    for p in impl.params:
        wkey = f"{key}-{method}-{p.name}"
        name = f"{method}.{p.name}" if url else None
        if p.kind == "choice":
            values[p.name] = persistent(st.selectbox, p.name, options=list(p.choices), default=p.default, url=name,
                                        help=p.help, key=wkey)
        elif p.kind == "bool":
            values[p.name] = persistent(st.checkbox, p.name, default=bool(p.default), url=name, help=p.help, key=wkey)
        elif p.kind == "int":
            low, high = (int(p.low) if p.low is not None else None), (int(p.high) if p.high is not None else None)
            values[p.name] = int(persistent(st.number_input, p.name, min_value=low, max_value=high, step=1,
                                            default=int(p.default), url=name, bounds=_bounds(low, high),
                                            help=p.help, key=wkey))
        else:
            low_f, high_f = (float(p.low) if p.low is not None else None), (float(p.high) if p.high is not None else None)
            values[p.name] = float(persistent(st.number_input, p.name, min_value=low_f, max_value=high_f,
                                              default=float(p.default), url=name, bounds=_bounds(low_f, high_f),
                                              help=p.help, key=wkey))
    return impl.resolve_params(values)


def _bounds(low: float | None, high: float | None) -> tuple[float, float]:
    return (-math.inf if low is None else low, math.inf if high is None else high)


def display_controls(key: str, default_mode: str = "absolute", url: bool = False) -> DisplaySettings:
    """How maps are drawn; changing these only re-renders, never recomputes. Kept for the session (and, with
    `url`, mirrored in the URL as sign, cmap, alpha, clip and shared)."""
    def name(field: str) -> str | None:
        return field if url else None

    cols = st.columns(5)
    with cols[0]:
        mode = persistent(st.selectbox, "Sign", options=list(MODES), default=default_mode, key=f"{key}-mode",
                          url=name("sign"), help="signed uses a diverging colour map centred on zero")
    with cols[1]:
        if mode == "signed":  # the box shows what is drawn: a signed map always gets a diverging colour map
            cmap = persistent(st.selectbox, "Colour map (diverging)", options=list(DIVERGING_MAPS),
                              default=DIVERGING_MAPS[0], key=f"{key}-cmap-signed", url=name("cmap"),
                              help="Signed maps need a colour map centred on zero: red above it, blue below.")
        else:
            cmap = persistent(st.selectbox, "Colour map", options=CMAPS, default=CMAPS[0], key=f"{key}-cmap",
                              url=name("cmap"))
    with cols[2]:
        alpha = persistent(st.slider, "Opacity", min_value=0.0, max_value=1.0, step=0.05, default=0.5,
                           bounds=(0.0, 1.0), key=f"{key}-alpha", url=name("alpha"))
    with cols[3]:
        clip = persistent(st.slider, "Clip percentile", min_value=90.0, max_value=100.0, step=0.1, default=99.5,
                          bounds=(90.0, 100.0), key=f"{key}-clip", url=name("clip"))
    with cols[4]:
        shared = persistent(st.toggle, "Shared scale", default=False, key=f"{key}-shared", url=name("shared"),
                            help="one colour scale for all maps on screen")
    return DisplaySettings(mode, cmap, alpha, clip, shared)
