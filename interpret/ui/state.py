"""What the shared sidebar chose (model, device, images), loaded once and cached across sessions."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import streamlit as st

from ..errors import InterpretError
from ..images import InputImage, load_image
from ..models import LoadedModel, load_model
from ..samples import load_sample
from .caching import cache_resource

MODEL_KEY = "interpret_model_request"
IMAGES_KEY = "interpret_images"
CURRENT_KEY = "interpret_current_image"
ERROR_KEY = "interpret_model_error"


@dataclass(frozen=True)
class ModelRequest:
    """Everything that identifies a model to load; `key` keys the loading (the loaded model's own
    `LoadedModel.key` keys every result computed with it)."""

    spec: str
    device: str
    weights: str | None = None  # None (pretrained), "random", or the name of an uploaded file
    weights_data: bytes | None = None
    class_names: tuple[str, ...] | None = None

    @property
    def key(self) -> str:
        weights = hashlib.sha256(self.weights_data).hexdigest()[:16] if self.weights_data else (self.weights or "pretrained")
        names = hashlib.sha256("\n".join(self.class_names).encode()).hexdigest()[:8] if self.class_names else "-"
        return f"{self.spec}|{self.device}|{weights}|{names}"


@cache_resource(max_entries=4, show_spinner="Loading the model…", hash_funcs={ModelRequest: lambda r: r.key})
def _cached_model(request: ModelRequest) -> LoadedModel:
    """The model a request names, loaded once for every session; its results are keyed by `LoadedModel.key`."""
    weights = request.weights_data if request.weights_data is not None else request.weights
    return load_model(request.spec, request.device, weights=weights, weights_name=request.weights or "weights",
                      class_names=request.class_names)


@st.cache_resource(max_entries=64)
def _cached_upload(sha: str, name: str, _data: bytes) -> InputImage:
    return load_image(_data, name)


@st.cache_resource(max_entries=16)
def _cached_sample(name: str) -> InputImage:
    return load_sample(name)


def request_model(request: ModelRequest) -> None:
    st.session_state[MODEL_KEY] = request


def current_request() -> ModelRequest | None:
    return st.session_state.get(MODEL_KEY)


def current_model() -> LoadedModel | None:
    """The sidebar's model, loaded once per (spec, device, weights) for all sessions; None if it failed."""
    request = current_request()
    if request is None:
        return None
    try:
        model = _cached_model(request)
    except InterpretError as exc:
        st.session_state[ERROR_KEY] = str(exc)
        return None
    except (RuntimeError, OSError, MemoryError) as exc:
        from ..devices import describe_device_failure

        st.session_state[ERROR_KEY] = describe_device_failure(exc, request.device)
        return None
    st.session_state.pop(ERROR_KEY, None)
    return model


def model_error() -> str | None:
    """Why the last model failed to load, if it did."""
    return st.session_state.get(ERROR_KEY)


def collect_images(samples: list[str], uploads: list, camera) -> tuple[list[InputImage], list[str]]:
    """Decode the chosen samples, uploads and camera photo; bad files become messages, not failures."""
    images: list[InputImage] = []
    errors: list[str] = []
    for name in samples:
        try:
            images.append(_cached_sample(name))
        except InterpretError as exc:
            errors.append(str(exc))
    files = list(uploads or []) + ([camera] if camera is not None else [])
    for file in files:
        data = file.getvalue()
        try:
            images.append(_cached_upload(hashlib.sha256(data).hexdigest(), file.name, data))
        except InterpretError as exc:
            errors.append(str(exc))
    return images, errors


def set_images(images: list[InputImage]) -> None:
    st.session_state[IMAGES_KEY] = images


def current_images() -> list[InputImage]:
    return st.session_state.get(IMAGES_KEY, [])


def set_current_image(image: InputImage | None) -> None:
    st.session_state[CURRENT_KEY] = image


def current_image() -> InputImage | None:
    return st.session_state.get(CURRENT_KEY)
