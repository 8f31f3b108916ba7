"""The shared sidebar: model source, device and images. Drawn by app.py before every page.

In shared mode (interpret/policy.py) it offers no code-bearing model source; a TorchScript file loads
only once the user ticks the consent box, which is bound to that file's sha256.
"""
from __future__ import annotations

import hashlib
import inspect

import streamlit as st

from .. import limits
from ..devices import available_devices
from ..errors import InterpretError
from ..images import ACCEPTED
from ..models import DEFAULT_SPEC, parse_class_names, timm_names, torchvision_names
from ..models.checkpoints import is_torchscript
from ..policy import CONSENT_LABEL, SHARED_ENV, code_allowed, shared_mode
from ..samples import sample_names
from .plain import plain
from .state import ModelRequest, collect_images, request_model, set_current_image, set_images

SOURCES = {"bundled": "Bundled offline (EfficientNet-Lite0, ImageNet)", "torchvision": "torchvision zoo",
           "timm": "timm zoo", "file": "My TorchScript file"}
CODE_SOURCES = ("file",)  # sidebar sources whose files are code (policy.CODE_SOURCES): off in shared mode
IMAGE_MEGABYTES = limits.IMAGE_FILE_BYTES // 2**20
CLASS_NAMES_MEGABYTES = limits.CLASS_NAMES_FILE_BYTES // 2**20
WEIGHTS = {"pretrained": "pretrained (cache or download)", "random": "random weights", "file": "my weights file (state dict)"}


def sources() -> dict[str, str]:
    """The model sources this server offers: no code-bearing ones in shared mode."""
    return {key: label for key, label in SOURCES.items() if code_allowed() or key not in CODE_SOURCES}


def _upload_limit() -> str:
    return f"Up to {st.get_option('server.maxUploadSize')} MB (the server's upload limit)."


@st.cache_data(show_spinner=False)
def _zoo(source: str) -> list[str]:
    return torchvision_names() if source == "torchvision" else timm_names()


def _zoo_request(source: str, device: str) -> ModelRequest | None:
    names = _zoo(source)
    default = {"torchvision": "resnet18", "timm": "resnet18"}[source]
    name = st.selectbox("Architecture", names, index=names.index(default) if default in names else 0, key=f"sb-arch-{source}")
    weights = st.radio("Weights", list(WEIGHTS), format_func=WEIGHTS.get, key="sb-weights", horizontal=False)
    if weights == "file":
        file = st.file_uploader("Weights file", type=["pth", "pt", "bin", "safetensors"], key="sb-weights-file",
                                help="A state dict saved with torch.save(model.state_dict(), path); "
                                     f"the number of classes is read from its head. {_upload_limit()}")
        if file is None:
            st.info("Upload a weights file for this architecture.")
            return None
        return ModelRequest(f"{source}:{name}", device, weights=file.name, weights_data=file.getvalue())
    return ModelRequest(f"{source}:{name}", device, weights=None if weights == "pretrained" else "random")


def _is_torchscript(data: bytes) -> bool:
    try:
        return is_torchscript(data)
    except Exception:  # a broken archive: not TorchScript; loading it says what is wrong with it
        return False


def _file_request(device: str) -> ModelRequest | None:
    """A TorchScript upload; trusted only through a box bound to this file's sha256 (a new file, a new tick)."""
    file = st.file_uploader("TorchScript model", type=["pt", "pth", "ts", "zip"], key="sb-model-file",
                            help="A model saved with torch.jit.script(model).save(path) or torch.jit.trace. "
                                 "For plain weights, choose the architecture in the torchvision or timm zoo instead. "
                                 + _upload_limit())
    if file is None:
        st.info("Upload a TorchScript file.")
        return None
    data = file.getvalue()
    trusted = False
    if _is_torchscript(data):
        sha = hashlib.sha256(data).hexdigest()
        trusted = st.checkbox(CONSENT_LABEL, value=False, key=f"sb-trust-{sha}",
                              help="A TorchScript file is a program: loading and running it can read and write any "
                                   "file this server's user can. Tick only for a file you made or trust.")
    return ModelRequest(f"file:{file.name}", device, weights=file.name, weights_data=data, trust_code=trusted)


def upload_limit(megabytes: int) -> dict[str, int]:
    """file_uploader's per-widget size limit where this Streamlit has one (1.51 and later).

    It only makes the browser refuse a larger file before sending it; the readers refuse it anyway
    (images.decode_image, parse_class_names), so older Streamlits of the range lose nothing but the early refusal.
    """
    return {"max_upload_size": megabytes} if "max_upload_size" in inspect.signature(st.file_uploader).parameters else {}


def _class_names() -> tuple[str, ...] | None:
    file = st.file_uploader("Class names (optional)", type=["txt", "json"], key="sb-classes",
                            **upload_limit(CLASS_NAMES_MEGABYTES),
                            help=".txt with one name per line, or .json with a list or an index-to-name mapping; "
                                 f"up to {CLASS_NAMES_MEGABYTES} MB.")
    if file is None:
        return None
    try:
        return parse_class_names(file.getvalue(), file.name)
    except InterpretError as exc:
        st.error(plain(exc))
        return None


def model_section() -> None:
    st.subheader("Model")
    devices = available_devices()
    device = st.selectbox("Device", [d.id for d in devices], format_func={d.id: d.label for d in devices}.get, key="sb-device")
    offered = sources()
    source = st.selectbox("Source", list(offered), format_func=offered.get, key="sb-source")
    if shared_mode():
        st.caption(f"Shared mode ({SHARED_ENV}): model files that run code and folders on the server are off.")
    if source == "bundled":
        request = ModelRequest(DEFAULT_SPEC, device)
    elif source == "file":
        request = _file_request(device)
    else:
        request = _zoo_request(source, device)
    names = _class_names() if source != "bundled" else None
    if request is not None:
        if names is not None:
            request = ModelRequest(request.spec, request.device, request.weights, request.weights_data, names,
                                   request.trust_code)
        request_model(request)
    else:
        request_model(None)


def image_section() -> None:
    st.subheader("Images")
    samples = st.multiselect("Sample photos", sample_names(), default=["coffee"], key="sb-samples")
    uploads = st.file_uploader("Your images", type=list(ACCEPTED), accept_multiple_files=True, key="sb-uploads",
                               **upload_limit(IMAGE_MEGABYTES), help=f"Up to {IMAGE_MEGABYTES} MB per image.")
    camera = st.camera_input("Camera", key="sb-camera") if st.toggle("Take a photo", key="sb-camera-on") else None
    images, errors = collect_images(samples, uploads, camera)
    for message in errors:
        st.error(plain(message))
    set_images(images)
    if not images:
        st.info("Choose a sample photo or upload an image.")
        set_current_image(None)
        return
    labels = [f"{i + 1}. {im.name}" for i, im in enumerate(images)]
    chosen = st.selectbox("Current image", range(len(images)), format_func=labels.__getitem__, key="sb-current")
    set_current_image(images[min(chosen or 0, len(images) - 1)])


def draw_sidebar() -> None:
    with st.sidebar:
        model_section()
        image_section()
