"""The shared sidebar: model source, device and images. Drawn by app.py before every page."""
from __future__ import annotations

import streamlit as st

from ..devices import available_devices
from ..errors import InterpretError
from ..images import ACCEPTED
from ..models import DEFAULT_SPEC, parse_class_names, timm_names, torchvision_names
from ..samples import sample_names
from .state import ModelRequest, collect_images, request_model, set_current_image, set_images

SOURCES = {"bundled": "Bundled offline (EfficientNet-Lite0, ImageNet)", "torchvision": "torchvision zoo",
           "timm": "timm zoo", "file": "My TorchScript file"}
WEIGHTS = {"pretrained": "pretrained (cache or download)", "random": "random weights", "file": "my weights file (state dict)"}


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
                                     "the number of classes is read from its head.")
        if file is None:
            st.info("Upload a weights file for this architecture.")
            return None
        return ModelRequest(f"{source}:{name}", device, weights=file.name, weights_data=file.getvalue())
    return ModelRequest(f"{source}:{name}", device, weights=None if weights == "pretrained" else "random")


def _file_request(device: str) -> ModelRequest | None:
    file = st.file_uploader("TorchScript model", type=["pt", "pth", "ts", "zip"], key="sb-model-file",
                            help="A model saved with torch.jit.script(model).save(path) or torch.jit.trace. "
                                 "For plain weights, choose the architecture in the torchvision or timm zoo instead.")
    if file is None:
        st.info("Upload a TorchScript file.")
        return None
    return ModelRequest(f"file:{file.name}", device, weights=file.name, weights_data=file.getvalue())


def _class_names() -> tuple[str, ...] | None:
    file = st.file_uploader("Class names (optional)", type=["txt", "json"], key="sb-classes",
                            help=".txt with one name per line, or .json with a list or an index-to-name mapping")
    if file is None:
        return None
    try:
        return parse_class_names(file.getvalue(), file.name)
    except InterpretError as exc:
        st.error(str(exc))
        return None


def model_section() -> None:
    st.subheader("Model")
    devices = available_devices()
    device = st.selectbox("Device", [d.id for d in devices], format_func={d.id: d.label for d in devices}.get, key="sb-device")
    source = st.selectbox("Source", list(SOURCES), format_func=SOURCES.get, key="sb-source")
    if source == "bundled":
        request = ModelRequest(DEFAULT_SPEC, device)
    elif source == "file":
        request = _file_request(device)
    else:
        request = _zoo_request(source, device)
    names = _class_names() if source != "bundled" else None
    if request is not None:
        if names is not None:
            request = ModelRequest(request.spec, request.device, request.weights, request.weights_data, names)
        request_model(request)
    else:
        request_model(None)


def image_section() -> None:
    st.subheader("Images")
    samples = st.multiselect("Sample photos", sample_names(), default=["coffee"], key="sb-samples")
    uploads = st.file_uploader("Your images", type=list(ACCEPTED), accept_multiple_files=True, key="sb-uploads")
    camera = st.camera_input("Camera", key="sb-camera") if st.toggle("Take a photo", key="sb-camera-on") else None
    images, errors = collect_images(samples, uploads, camera)
    for message in errors:
        st.error(message)
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
