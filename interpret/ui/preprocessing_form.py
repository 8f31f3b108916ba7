"""The sidebar's preprocessing editor: what is done to a photo before the model sees it, shown and editable.

For a zoo model it shows the zoo's pipeline (read-only: it is the one the weights were trained with); for an
uploaded or custom model, whose file does not say how it was trained, every setting can be changed: resize,
crop, size, filter, mean/std and channel order. The widgets' keys carry the default's digest, so another
model's defaults start a fresh form.
"""
from __future__ import annotations

import dataclasses
import hashlib

import streamlit as st

from ..errors import InterpretError, ParameterError
from ..limits import PREPROCESS_SIDE_MAX, PREPROCESS_SIDE_MIN
from ..models.sources import BY_KEY
from ..preprocess import BACKENDS, CHANNEL_ORDERS, INTERPOLATIONS, RESIZE_MODES, ROUNDINGS, Preprocessing
from .plain import plain
from .state import ModelRequest, current_model, request_model

RESIZE_LABELS = {"shorter": "shorter side to the resize size (keep ratio)",
                 "longer": "longer side to the resize size (keep ratio, border)",
                 "squash": "both sides to the resize size (ratio not kept)"}
ROUNDING_LABELS = {"round": "round to nearest", "floor": "round down"}
BACKEND_LABELS = {"pil": "Pillow (torchvision, timm)", "tensor": "torchvision on the tensor (transformers)"}


def _digest(pre: Preprocessing) -> str:
    return hashlib.sha256(repr(dataclasses.astuple(pre)).encode()).hexdigest()[:12]


def _numbers(text: str, name: str) -> tuple[float, ...]:
    """'0.5' or '0.485, 0.456, 0.406' -> three floats; anything else is refused by Preprocessing's own check."""
    try:
        values = tuple(float(part) for part in text.replace(" ", "").split(",") if part)
    except ValueError:
        raise ParameterError(f"The {name} '{text}' is not one number or three comma-separated numbers.") from None
    return values * 3 if len(values) == 1 else values


def _text(values: tuple[float, ...]) -> str:
    return ", ".join(f"{v:.6g}" for v in values)


def preprocessing_table(pre: Preprocessing) -> None:
    """Every setting of `pre`, one row each (read-only)."""
    st.dataframe([{"setting": f.name, "value": str(getattr(pre, f.name))} for f in dataclasses.fields(pre)],
                 hide_index=True, width="stretch")


def preprocessing_editor(default: Preprocessing, key: str, editable: bool = True) -> Preprocessing:
    """An expander showing `default` and, when `editable`, widgets to change it; the preprocessing chosen.

    A setting that cannot be applied (a non-positive std, a mean of two values) is shown as an error and
    the default is kept until it is fixed."""
    with st.expander("Preprocessing", expanded=False):
        st.caption(plain(default.describe()))
        if not editable:
            preprocessing_table(default)
            return default
        k = f"{key}-{_digest(default)}"
        crop = st.checkbox("Centre crop", value=default.crops,
                           key=f"{k}-crop", help="Off: the whole photo is resized straight to the input size.")
        size = int(st.number_input("Input size (pixels)", PREPROCESS_SIDE_MIN, PREPROCESS_SIDE_MAX, default.crop_size,
                                   key=f"{k}-size", help="The model's input is this many pixels square."))
        if crop:
            mode = st.selectbox("Resize", list(RESIZE_MODES), index=RESIZE_MODES.index(default.resize_mode),
                                format_func=lambda m: RESIZE_LABELS[m], key=f"{k}-mode")
            resize = int(st.number_input("Resize size (pixels)", PREPROCESS_SIDE_MIN, PREPROCESS_SIDE_MAX,
                                         default.resize_size, key=f"{k}-resize",
                                         help="The side the photo is resized to before the centre crop."))
        else:
            mode, resize = "squash", size
        interpolation = st.selectbox("Interpolation", INTERPOLATIONS, index=INTERPOLATIONS.index(default.interpolation),
                                     key=f"{k}-interp")
        mean = st.text_input("Mean (per channel)", _text(default.mean), key=f"{k}-mean",
                             help="Subtracted from pixels scaled to [0, 1], in the model's channel order.")
        std = st.text_input("Std (per channel)", _text(default.std), key=f"{k}-std", help="Divided by, after the mean.")
        order = st.radio("Channel order", CHANNEL_ORDERS, index=CHANNEL_ORDERS.index(default.channel_order),
                         key=f"{k}-order", horizontal=True, help="BGR: for models trained on OpenCV/Caffe images.")
        st.caption("Rounding and resizing code: each zoo has its own; they move the crop by a pixel.")
        size_rounding = st.radio("Side the ratio gives", ROUNDINGS, index=ROUNDINGS.index(default.size_rounding),
                                 format_func=lambda r: ROUNDING_LABELS[r], key=f"{k}-sround",
                                 help="torchvision rounds the long side down; timm's border mode to nearest.")
        crop_rounding = st.radio("Crop offset", ROUNDINGS, index=ROUNDINGS.index(default.crop_rounding),
                                 format_func=lambda r: ROUNDING_LABELS[r], key=f"{k}-cround",
                                 help="torchvision and timm round to nearest; transformers rounds down.")
        backend = st.radio("Resized by", BACKENDS, index=BACKENDS.index(default.backend),
                           format_func=lambda b: BACKEND_LABELS[b], key=f"{k}-backend")
        try:
            chosen = default.replace(crop_size=size, resize_size=resize, resize_mode=mode, interpolation=interpolation,
                                     mean=_numbers(mean, "mean"), std=_numbers(std, "std"), channel_order=order,
                                     size_rounding=size_rounding, crop_rounding=crop_rounding, backend=backend)
        except InterpretError as exc:
            st.error(f"{plain(exc)} The model keeps: {plain(default.describe())}")
            return default
        if chosen != default:
            st.caption(f"Changed: {plain(chosen.describe())}")
        return chosen


def preprocessing_editable(source: str, request: ModelRequest) -> bool:
    """Whether the sidebar lets the user edit the preprocessing: not for a zoo's own (or random) weights, whose
    pipeline is the zoo's (`Source.own_preprocessing`); yes for a model file, a py: factory, a transformers folder
    and a user's weights file."""
    return not BY_KEY[source].own_preprocessing or request.weights_data is not None


def preprocessing_request(request: ModelRequest, key: str, editable: bool = True) -> ModelRequest:
    """`request` with the preprocessing the sidebar's editor chose, starting from the model's own.

    The model is loaded as requested to learn its own preprocessing (the zoo's, the image processor's, or the
    source's default); an edited one is a new request, served by the loaded network under the new preprocessing
    (`models.with_preprocessing`: no second load). While the model does not load (no consent yet, a bad file)
    there is nothing to edit and the page shows why."""
    request_model(request)
    lm = current_model()
    if lm is None:
        return request
    chosen = preprocessing_editor(lm.preprocessing, key, editable=editable)
    return request if chosen == lm.preprocessing else dataclasses.replace(request, preprocessing=chosen)
