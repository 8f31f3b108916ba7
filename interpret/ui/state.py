"""What the shared sidebar chose (model, device, images), loaded once and cached across sessions.

A model that fails to load leaves the session as it was: its message is kept for the pages, the last
model that did load stays usable (`previous_model`), and the chosen images are untouched. A failure that
comes from the file itself is remembered by request, so a model that hangs its first pass or is refused
is not loaded again on every rerun.
"""
from __future__ import annotations

import dataclasses
import hashlib
import logging
from dataclasses import dataclass

import streamlit as st

from .. import limits
from ..devices import fit_cpu_threads
from ..errors import DeviceError, InterpretError, WeightsUnavailableError, device_advice, first_line, is_device_failure
from ..images import InputImage, load_image
from ..models import LoadedModel, load_model, parse_kwargs, with_preprocessing
from ..models.keys import canonical_key
from ..models.sources.base import preprocessing_id
from ..policy import CodeConsentRequired
from ..preprocess import Preprocessing
from ..samples import load_sample
from .caching import cache_resource
from .shared_lru import SharedLRU

MODEL_KEY = "interpret_model_request"
IMAGES_KEY = "interpret_images"
CURRENT_KEY = "interpret_current_image"
ERROR_KEY = "interpret_model_error"
PREVIOUS_KEY = "interpret_previous_model"
CARRIED_KEY = "interpret_carried_images"  # images brought from another page (a mistake of a labelled set)
NEW_CARRIED_KEY = "interpret_new_carried"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelRequest:
    """Everything that identifies a model to load; `key` keys the loading (the loaded model's own
    `LoadedModel.key` keys every result computed with it)."""

    spec: str
    device: str
    weights: str | None = None  # None (pretrained), "random", or the name of an uploaded file
    weights_data: bytes | None = None
    class_names: tuple[str, ...] | None = None
    trust_code: bool = False  # the user ticked "I trust it" for this very file or code (TorchScript, .pt2, py:)
    model_kwargs: str = ""  # a py: factory's keyword arguments, as JSON text ("" for none)
    preprocessing: Preprocessing | None = None  # replaces the source's own preprocessing
    activation: str | None = None  # "softmax" or "sigmoid"; None: the source's default
    prefer: str | None = None  # "ema": a checkpoint's EMA weights (interpret/models/checkpoints.py)

    @property
    def key(self) -> str:
        """The full sha256 of a canonical encoding of every field (the file by its sha256)."""
        data = hashlib.sha256(self.weights_data).hexdigest() if self.weights_data is not None else None
        names = list(self.class_names) if self.class_names is not None else None
        return canonical_key("request", self.spec, self.device, self.weights, data, names, self.trust_code,
                             self.model_kwargs, preprocessing_id(self.preprocessing), self.activation, self.prefer)


@cache_resource(max_entries=4, show_spinner="Loading the model…", hash_funcs={ModelRequest: lambda r: r.key})
def _cached_model(request: ModelRequest) -> LoadedModel:
    """The model a request names, loaded once for every session; its results are keyed by `LoadedModel.key`.
    An edited preprocessing reuses the model as loaded with its own (one copy of the weights, no second load)."""
    if request.preprocessing is not None:
        return with_preprocessing(_cached_model(dataclasses.replace(request, preprocessing=None)), request.preprocessing)
    fit_cpu_threads()  # a container's CPU quota, before the first pass
    weights = request.weights_data if request.weights_data is not None else request.weights
    return load_model(request.spec, request.device, weights=weights, weights_name=request.weights or "weights",
                      class_names=request.class_names, trust_code=request.trust_code, activation=request.activation,
                      model_kwargs=parse_kwargs(request.model_kwargs), prefer=request.prefer)


@st.cache_resource
def _failures() -> SharedLRU:
    """Why a request failed, by request key, for every session: the same file fails the same way again."""
    return SharedLRU(64)


@st.cache_resource
def _uploads() -> SharedLRU:
    """Decoded uploads by sha256 and name, bounded by `limits.UPLOAD_CACHE_PHOTOS` and `limits.UPLOAD_CACHE_BYTES`;
    a reloaded page finds its session's photos here (ui/photo_links.py)."""
    return SharedLRU(limits.UPLOAD_CACHE_PHOTOS, max_bytes=limits.UPLOAD_CACHE_BYTES)


def image_bytes(image: InputImage) -> int:
    """What a decoded upload holds: its file's bytes plus its pixels as Pillow stores them."""
    return len(image.data) + image.image.width * image.image.height * _stored_pixel_bytes(image.image.mode)


def _stored_pixel_bytes(mode: str) -> int:
    """Bytes Pillow keeps per pixel: one for 1, L and P, two for I;16, four for every other mode.
    RGB is kept as 32-bit pixels, so counting its three bands under-counted an upload by a quarter."""
    if mode in ("1", "L", "P"):
        return 1
    return 2 if mode.startswith("I;16") else 4


def _cached_upload(sha: str, name: str, data: bytes) -> InputImage:
    return _uploads().get_or_compute(f"{sha}:{name}", lambda: load_image(data, name), nbytes=image_bytes)


def stored_upload(sha: str, name: str) -> InputImage | None:
    """The decoded upload of this sha256 and name, if the upload store still holds it."""
    return _uploads().get(f"{sha}:{name}")


@st.cache_resource(max_entries=16)
def _cached_sample(name: str) -> InputImage:
    return load_sample(name)


def request_model(request: ModelRequest | None) -> None:
    st.session_state[MODEL_KEY] = request


def current_request() -> ModelRequest | None:
    return st.session_state.get(MODEL_KEY)


class ConsentWait(str):
    """Why the model is not loaded yet: it is code and waits for the sidebar's consent box (not a failure)."""


def _load(request: ModelRequest) -> LoadedModel | str:
    """The model, or one line saying why it did not load (unexpected errors go to the server log)."""
    failures = _failures()
    known = failures.get(request.key)
    if known is not None:
        return known
    try:
        return _cached_model(request)
    except DeviceError as exc:  # a device freed or plugged in later: retried
        return device_advice(exc, request.device, "app")
    except WeightsUnavailableError as exc:  # weights put in place later: retried
        return str(exc)
    except CodeConsentRequired as exc:  # the box is ticked later: a new request
        return ConsentWait(exc)
    except InterpretError as exc:
        failures.put(request.key, str(exc))
        return str(exc)
    except MemoryError:  # the host's memory, not a device's: no advice to switch devices
        return f"Loading {request.spec} ran out of this machine's memory."
    except Exception as exc:
        if is_device_failure(exc):
            return device_advice(exc, request.device, "app")
        log.exception("Loading the model %s failed unexpectedly", request.spec)
        message = (f"Loading {request.spec} failed unexpectedly ({type(exc).__name__}: {first_line(exc, 200)}); "
                   "the server log has the details.")
        failures.put(request.key, message)
        return message


def current_model() -> LoadedModel | None:
    """The sidebar's model, loaded once per request for all sessions; None if it failed (see `model_error`)."""
    request = current_request()
    if request is None:
        st.session_state.pop(ERROR_KEY, None)
        return None
    outcome = _load(request)
    if isinstance(outcome, str):
        st.session_state[ERROR_KEY] = outcome
        return None
    st.session_state.pop(ERROR_KEY, None)
    st.session_state[PREVIOUS_KEY] = outcome
    return outcome


def model_error() -> str | None:
    """Why the sidebar's model did not load, if it did not."""
    return st.session_state.get(ERROR_KEY)


def previous_model() -> LoadedModel | None:
    """The last model that loaded in this session: still usable while the sidebar's choice fails."""
    return st.session_state.get(PREVIOUS_KEY)


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
        except Exception as exc:  # a decoder's own bug: one line here, the traceback in the server log
            log.exception("Decoding the upload %r failed unexpectedly", file.name)
            errors.append(f"'{file.name}' could not be read ({type(exc).__name__}: {first_line(exc, 200)}).")
    return images, errors


def set_images(images: list[InputImage]) -> None:
    st.session_state[IMAGES_KEY] = images


def current_images() -> list[InputImage]:
    return st.session_state.get(IMAGES_KEY, [])


def set_current_image(image: InputImage | None) -> None:
    st.session_state[CURRENT_KEY] = image


def current_image() -> InputImage | None:
    return st.session_state.get(CURRENT_KEY)


def carry_image(image: InputImage) -> None:
    """Add an image from another page to the session's images; the sidebar makes it the current one."""
    carried = [im for im in st.session_state.get(CARRIED_KEY, []) if im.sha256 != image.sha256][-3:]
    st.session_state[CARRIED_KEY] = [*carried, image]
    st.session_state[NEW_CARRIED_KEY] = image.sha256


def carried_images() -> list[InputImage]:
    return list(st.session_state.get(CARRIED_KEY, []))


def take_new_carried() -> str | None:
    """The sha256 of an image just carried here, once."""
    return st.session_state.pop(NEW_CARRIED_KEY, None)
