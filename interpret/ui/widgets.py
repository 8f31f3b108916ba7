"""Widgets every page shares: target class, layer, a method's parameters, and how maps are displayed."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import streamlit as st

from ..attribution import REGISTRY
from ..layers import list_layers
from ..models import LoadedModel
from ..render import DIVERGING_MAPS
from ..signs import MODES


def _model_scope(lm: LoadedModel) -> str:
    return f"{lm.spec}|{lm.num_classes}"


def class_picker(lm: LoadedModel, key: str, default: int, label: str = "Target class") -> int:
    """A searchable list of class names; its first entry follows `default` (e.g. the prediction)."""
    options = [None, *range(lm.num_classes)]
    choice = st.selectbox(
        label,
        options,
        format_func=lambda i: f"predicted: {lm.label(default)} ({default})" if i is None else f"{lm.label(i)} ({i})",
        key=f"{key}|{_model_scope(lm)}",
        help="Type to search the class names.",
    )
    return default if choice is None else int(choice)


def layer_picker(lm: LoadedModel, key: str, default: str | None = None, spatial_only: bool = True,
                 label: str = "Layer") -> str | None:
    """A layer chosen from the model's layers, each shown with its type and output shape."""
    layers = [info for info in list_layers(lm) if info.spatial or not spatial_only]
    if not layers:
        st.info("This model exposes no layers that can be captured (a TorchScript file?).")
        return None
    names = [info.name for info in layers]
    by_name = {info.name: info for info in layers}
    index = names.index(default) if default in names else len(names) - 1
    return st.selectbox(label, names, index=index, format_func=lambda n: by_name[n].label,
                        key=f"{key}|{_model_scope(lm)}", help="Type to search; shapes exclude the batch dimension.")


def param_widgets(method: str, key: str = "sal") -> dict[str, Any]:
    """A widget per parameter of the method, starting at its default; the resolved parameters."""
    impl = REGISTRY[method]
    values: dict[str, Any] = {}
    for p in impl.params:
        wkey = f"{key}-{method}-{p.name}"
        if p.kind == "choice":
            values[p.name] = st.selectbox(p.name, p.choices, index=p.choices.index(p.default), help=p.help, key=wkey)
        elif p.kind == "bool":
            values[p.name] = st.checkbox(p.name, value=bool(p.default), help=p.help, key=wkey)
        elif p.kind == "int":
            low, high = (int(p.low) if p.low is not None else None), (int(p.high) if p.high is not None else None)
            values[p.name] = int(st.number_input(p.name, low, high, int(p.default), help=p.help, key=wkey))
        else:
            values[p.name] = float(st.number_input(p.name, p.low, p.high, float(p.default), help=p.help, key=wkey))
    return impl.resolve_params(values)


@dataclass(frozen=True)
class DisplaySettings:
    mode: str = "absolute"
    cmap: str = "inferno"
    alpha: float = 0.5
    clip_percentile: float = 99.5
    shared_scale: bool = False


def display_controls(key: str, default_mode: str = "absolute") -> DisplaySettings:
    """How maps are drawn; changing these only re-renders, never recomputes."""
    cols = st.columns(5)
    mode = cols[0].selectbox("Sign", MODES, index=MODES.index(default_mode), key=f"{key}-mode",
                             help="signed uses a diverging colour map centred on zero")
    if mode == "signed":  # the box shows what is drawn: a signed map always gets a diverging colour map
        cmap = cols[1].selectbox("Colour map (diverging)", DIVERGING_MAPS, key=f"{key}-cmap-signed",
                                 help="Signed maps need a colour map centred on zero: red above it, blue below.")
    else:
        cmap = cols[1].selectbox("Colour map", ["inferno", "viridis", "jet", "magma", "gray", "RdBu_r", "coolwarm"],
                                 key=f"{key}-cmap")
    alpha = cols[2].slider("Opacity", 0.0, 1.0, 0.5, 0.05, key=f"{key}-alpha")
    clip = cols[3].slider("Clip percentile", 90.0, 100.0, 99.5, 0.1, key=f"{key}-clip")
    shared = cols[4].toggle("Shared scale", value=False, key=f"{key}-shared", help="one colour scale for all maps on screen")
    return DisplaySettings(mode, cmap, alpha, clip, shared)
