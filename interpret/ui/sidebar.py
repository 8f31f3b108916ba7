"""The shared sidebar: model source, device and images. Drawn by app.py before every page.

The model sources are the table's (interpret/models/sources/), each with its inputs (`INPUTS`). In shared
mode (interpret/policy.py) it offers no code-bearing source; a TorchScript or torch.export file, or a `py:`
factory, loads only once the user ticks the consent box, which is bound to that file's sha256 (or the spec).
"""
from __future__ import annotations

import dataclasses
import hashlib
import inspect
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypedDict

import streamlit as st

from .. import limits
from ..devices import available_devices
from ..errors import InterpretError
from ..images import ACCEPTED, InputImage
from ..models import DEFAULT_SPEC, parse_class_names, parse_kwargs
from ..models.checkpoints import is_torchscript
from ..models.sources import BY_KEY, Source, find_source
from ..models.sources import SOURCES as MODEL_SOURCES
from ..policy import CONSENT_LABEL, SHARED_ENV, code_allowed, local_files_allowed, shared_mode
from ..samples import sample_names
from . import photo_links, report_view
from .plain import plain
from .preprocessing_form import preprocessing_editable, preprocessing_request
from .state import (
    ModelRequest,
    carried_images,
    collect_images,
    current_model,
    request_model,
    set_current_image,
    set_images,
    take_new_carried,
)
from .url_state import LIST_SEP, claim, notice, pending, persistent, remember, set_value

SOURCES = {source.key: source.label for source in MODEL_SOURCES}  # the table's sources, in its order
CODE_SOURCES = tuple(source.key for source in MODEL_SOURCES if source.code)  # policy.CODE_SOURCES: off in shared mode
IMAGE_MEGABYTES = limits.IMAGE_FILE_BYTES // 2**20
CLASS_NAMES_MEGABYTES = limits.CLASS_NAMES_FILE_BYTES // 2**20
WEIGHTS = {"pretrained": "pretrained (cache or download)", "random": "random weights", "file": "my weights file (state dict)"}
WEIGHT_TYPES = ["pth", "pt", "bin", "safetensors", "ckpt"]
SEEN_KEY = "interpret_seen_images"  # image ids the current-image box has offered (a new upload becomes current)


def sources() -> dict[str, str]:
    """The model sources this server offers: no code-bearing ones in shared mode."""
    return {key: label for key, label in SOURCES.items() if code_allowed() or key not in CODE_SOURCES}


def _upload_limit() -> str:
    return f"Up to {st.get_option('server.maxUploadSize')} MB (the server's upload limit)."


@st.cache_data(show_spinner=False)
def _zoo(source: str) -> list[str]:
    return BY_KEY[source].names() or []


def _consent(what: str, identity: str, help_text: str) -> bool:
    """The consent box for code, bound to `identity` (a file's sha256, a spec): something new, a new tick."""
    sha = hashlib.sha256(identity.encode("utf-8", "surrogatepass")).hexdigest()
    return st.checkbox(CONSENT_LABEL, value=False, key=f"sb-trust-{what}-{sha}", help=help_text)


ZOO_DEFAULT = "resnet18"  # the Architecture box's first choice in either zoo


def _timm_request(source: str, device: str) -> ModelRequest | None:
    """timm's zoo: an architecture, or a Hub name in its own box."""
    return _zoo_request(source, device, hub=True)


def _zoo_request(source: str, device: str, hub: bool = False) -> ModelRequest | None:
    """A zoo's architecture (or, with `hub`, a timm Hub name) and its weights: pretrained, random, or a file."""
    names = _zoo(source)
    name = persistent(st.selectbox, "Architecture", options=names,
                      default=ZOO_DEFAULT if ZOO_DEFAULT in names else names[0], key=f"sb-arch-{source}")
    if hub:
        hub_name = st.text_input("…or a Hub name", key="sb-timm-hub", placeholder="hf-hub:ORG/NAME",
                                 help="A timm model on the Hugging Face Hub, e.g. hf-hub:timm/resnet18.a1_in1k: loaded from "
                                      "the local Hugging Face cache, or downloaded where huggingface.co can be "
                                      "reached.")
        if hub_name.strip():
            name = hub_name.strip() if hub_name.strip().startswith("hf-hub:") else f"hf-hub:{hub_name.strip()}"
    weights = st.radio("Weights", list(WEIGHTS), format_func=WEIGHTS.get, key="sb-weights", horizontal=False)
    if weights == "file":
        file = st.file_uploader("Weights file", type=WEIGHT_TYPES, key="sb-weights-file",
                                help="A state dict saved with torch.save(model.state_dict(), path), or a checkpoint "
                                     "that holds one; the number of classes is read from its head. " + _upload_limit())
        if file is None:
            st.info("Upload a weights file for this architecture.")
            return None
        return ModelRequest(f"{source}:{name}", device, weights=file.name, weights_data=file.getvalue(),
                            prefer=_ema_choice("sb-ema"))
    return ModelRequest(f"{source}:{name}", device, weights=None if weights == "pretrained" else "random")


def _ema_choice(key: str) -> str | None:
    """"ema" when the user asks for a checkpoint's EMA weights (timm's state_dict_ema, model_ema, ...)."""
    ema = st.checkbox("Use the EMA weights", value=False, key=key,
                      help="For a checkpoint that also holds an exponential moving average of the weights "
                           "(e.g. timm's state_dict_ema): load that copy instead of the regular weights.")
    return "ema" if ema else None


def _is_torchscript(data: bytes) -> bool:
    try:
        return is_torchscript(data)
    except Exception:  # a broken archive: not TorchScript; loading it says what is wrong with it
        return False


def _file_request(source: str, device: str) -> ModelRequest | None:
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
        trusted = _consent("file", hashlib.sha256(data).hexdigest(),
                           "A TorchScript file is a program: loading and running it can read and write any "
                           "file this server's user can. Tick only for a file you made or trust.")
    return ModelRequest(f"file:{file.name}", device, weights=file.name, weights_data=data, trust_code=trusted)


EXPORT_HELP = ("torch.export.load unpickles parts of a .pt2 file and can load native code packed in it: loading it "
               "can do anything this server's user can. Tick only for a file you made or trust.")


def _export_request(source: str, device: str) -> ModelRequest | None:
    """A torch.export `.pt2` program, uploaded or by path, trusted through a box bound to that file."""
    where = st.radio("From", ["upload", "path"], key="sb-export-from", horizontal=True,
                     format_func={"upload": "upload", "path": "a path on this machine"}.get)
    if where == "path":
        path = st.text_input("Path to a .pt2 file", key="sb-export-path", placeholder="/path/to/model.pt2").strip()
        if not path:
            st.info("Give the path of a program saved with torch.export.save(program, 'model.pt2').")
            return None
        try:
            info = os.stat(path)
            identity = f"{os.path.abspath(path)}|{info.st_size}|{info.st_mtime_ns}"
        except OSError:
            identity = path
        trusted = _consent("export", identity, EXPORT_HELP)
        return ModelRequest(path if path.lower().endswith(".pt2") else f"export:{path}", device, trust_code=trusted)
    file = st.file_uploader("torch.export program", type=["pt2"], key="sb-export-file",
                            help="A program saved with torch.export.save(torch.export.export(model, (x,), "
                                 "dynamic_shapes=({0: torch.export.Dim('batch')},)), 'model.pt2'). " + _upload_limit())
    if file is None:
        st.info("Upload a .pt2 file saved with torch.export.save.")
        return None
    data = file.getvalue()
    trusted = _consent("export", hashlib.sha256(data).hexdigest(), EXPORT_HELP)
    return ModelRequest(f"export:{file.name}", device, weights=file.name, weights_data=data, trust_code=trusted)


def _python_request(source: str, device: str) -> ModelRequest | None:
    """`py:MODULE:CALLABLE` with JSON keyword arguments and an optional checkpoint; runs the user's code."""
    spec = st.text_input("Factory", key="sb-py-spec", placeholder="py:my_project.models:build_model",
                         help="py:MODULE:CALLABLE: a module importable from the folder the app was started in, and a "
                              "callable in it that returns a torch.nn.Module.").strip()
    kwargs = st.text_input("Keyword arguments (JSON)", key="sb-py-kwargs", placeholder='{"num_classes": 10}').strip()
    file = st.file_uploader("Weights file (optional)", type=WEIGHT_TYPES, key="sb-py-weights",
                            help="A checkpoint for the model the factory builds: a state dict, or a checkpoint that "
                                 "holds one. Without it, the model keeps the weights the factory gives it. "
                                 + _upload_limit())
    if not spec:
        st.info("Name your model's factory, e.g. py:my_project.models:build_model.")
        return None
    if not spec.startswith("py:"):
        spec = f"py:{spec}"
    try:
        parse_kwargs(kwargs)
    except InterpretError as exc:
        st.error(plain(exc))
        return None
    trusted = _consent("python", f"{spec}|{kwargs}",
                       "A py: factory is your Python code: importing and calling it runs it with this server's "
                       "user's rights. Tick only for code you wrote or trust.")
    data = file.getvalue() if file is not None else None
    return ModelRequest(spec, device, weights=file.name if file is not None else None, weights_data=data,
                        trust_code=trusted, model_kwargs=kwargs, prefer=_ema_choice("sb-py-ema") if file else None)


def _hf_request(source: str, device: str) -> ModelRequest | None:
    """A transformers image classifier: a save_pretrained folder on this machine, or a Hub name."""
    shared = not local_files_allowed()
    name = st.text_input("Hub name" if shared else "Folder or Hub name", key="sb-hf-name",
                         placeholder="google/vit-base-patch16-224" if shared else "/path/to/folder or ORG/NAME",
                         help="A folder saved with model.save_pretrained(folder) and processor.save_pretrained(folder)"
                              " (config.json, model.safetensors, preprocessor_config.json), or a Hugging Face Hub "
                              "name: from the local cache, or downloaded where huggingface.co can be reached. "
                              "Remote code is never run." + (" Shared mode: Hub names only." if shared else "")).strip()
    cached = BY_KEY[source].names() or []
    if cached and not name:
        name = st.selectbox("…or one in the local cache", [""] + cached, key="sb-hf-cached",
                            format_func=lambda n: n or "(choose)") or ""
    if not name:
        st.info("Give a Hugging Face model: a local folder or a Hub name.")
        return None
    return ModelRequest(name if name.startswith("hf:") else f"hf:{name}", device)


def _spec_request(source: str, device: str) -> ModelRequest | None:
    """Any other source of the table: its spec, typed."""
    spec = st.text_input("Model spec", key=f"sb-spec-{source}", placeholder=BY_KEY[source].example).strip()
    if not spec:
        st.info(f"Give a spec of the form {BY_KEY[source].form}.")
        return None
    return ModelRequest(spec, device)


def _bundled_request(source: str, device: str) -> ModelRequest:
    return ModelRequest(DEFAULT_SPEC, device)


def _zoo_boxes(source: Source, spec: str, name: str, weights: str | None) -> bool:
    """A link's zoo model in the Architecture box, its weights pretrained or random; False (with a notice) for a name
    this server's zoo lacks."""
    if name in _zoo(source.key):
        set_value(f"sb-arch-{source.key}", name)
    else:
        notice(f"The link's model '{spec[:80]}' is not in this server's {source.label}: choose one in the sidebar.")
        return False
    st.session_state["sb-weights"] = "random" if weights == "random" else "pretrained"
    return True


def _timm_boxes(source: Source, spec: str, name: str, weights: str | None) -> bool:
    """A link's timm model: a Hub name in its own box, else as a zoo's."""
    if not name.startswith("hf-hub:"):
        return _zoo_boxes(source, spec, name, weights)
    st.session_state["sb-timm-hub"] = name
    st.session_state["sb-weights"] = "random" if weights == "random" else "pretrained"
    return True


def _hf_boxes(source: Source, spec: str, name: str, weights: str | None) -> bool:
    st.session_state["sb-hf-name"] = name
    return True


def _python_boxes(source: Source, spec: str, name: str, weights: str | None) -> bool:
    st.session_state["sb-py-spec"] = spec  # still waits for its consent box
    return True


def _no_boxes(source: Source, spec: str, name: str, weights: str | None) -> bool:
    return True


@dataclass(frozen=True)
class SourceForm:
    """A source's sidebar: its inputs (giving the request, None while incomplete) and how a link's spec fills them
    (`boxes(source, spec, name, weights)`, False where it cannot). Whether its spec can be linked, its preprocessing
    edited and its head changed are the source's own facts (`Source.linkable`, `own_preprocessing`, `own_head`)."""

    inputs: Callable[[str, str], ModelRequest | None]
    boxes: Callable[[Source, str, str, str | None], bool] = _no_boxes


# The sidebar's form of each source of the table; a source without a row here gets a spec text box.
FORMS: dict[str, SourceForm] = {
    "bundled": SourceForm(_bundled_request), "torchvision": SourceForm(_zoo_request, _zoo_boxes),
    "timm": SourceForm(_timm_request, _timm_boxes), "hf": SourceForm(_hf_request, _hf_boxes),
    "python": SourceForm(_python_request, _python_boxes), "export": SourceForm(_export_request),
    "file": SourceForm(_file_request),
}


class UploadLimit(TypedDict, total=False):
    max_upload_size: int


def upload_limit(megabytes: int) -> UploadLimit:
    """file_uploader's per-widget size limit where this Streamlit has one (1.53 and later).

    It only makes the browser refuse a larger file before sending it; the readers refuse it anyway
    (images.decode_image, parse_class_names), so older Streamlits of the range lose nothing but the early refusal.
    """
    return UploadLimit(max_upload_size=megabytes) if "max_upload_size" in inspect.signature(st.file_uploader).parameters else {}


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


ACTIVATIONS = {"auto": "the model's own", "softmax": "softmax (one class per image)",
               "sigmoid": "sigmoid (multi-label or binary)"}


def _activation() -> str | None:
    """How scores become probabilities: the model's own (sigmoid for a one-output head or a multi-label config)."""
    chosen = st.selectbox("Output activation", list(ACTIVATIONS), format_func=ACTIVATIONS.__getitem__, key="sb-activation",
                          help="Softmax makes the classes compete; sigmoid scores each class on its own. The model's "
                               "own: sigmoid for a one-output head or a multi-label config, else softmax.")
    return None if chosen == "auto" else chosen


def _model_from_url() -> None:
    """A new session's `model=SPEC` (and `weights=random`) from the URL, put in the sidebar's boxes.

    Only specs a link can carry: the bundled model, a zoo name, a Hugging Face name and (outside shared mode) a py:
    factory, which still waits for its consent box. A model file cannot travel in a link: a notice says so."""
    spec, weights = claim("model"), claim("weights")
    if weights and weights.startswith("file:"):
        notice(f"The uploaded file {weights[5:80]} is not in the link: upload it again.")
    if not spec:
        return
    source = next((src for src in MODEL_SOURCES if src.prefix and spec.startswith(src.prefix)), None)
    name = spec[len(source.prefix):] if source is not None else ""
    if source is None or source.key not in sources() or not name or not source.linkable:
        notice(f"The link's model '{spec[:80]}' cannot be opened from a link: choose it in the sidebar.")
        return
    if FORMS.get(source.key, SourceForm(_spec_request)).boxes(source, spec, name, weights):
        st.session_state["sb-source"] = source.key


def _linkable(spec: str) -> bool:
    try:
        return find_source(spec)[0].linkable
    except InterpretError:
        return False


def _model_to_url(request: ModelRequest | None) -> None:
    if request is None:
        return
    if request.spec != DEFAULT_SPEC and _linkable(request.spec):
        remember("sb-model-spec", request.spec, default=DEFAULT_SPEC, url="model")
    if request.weights == "random":
        remember("sb-model-weights", "random", url="weights")
    elif request.weights_data is not None and request.weights:
        remember("sb-model-weights", f"file:{request.weights}", url="weights")


def model_section() -> None:
    _model_from_url()
    st.subheader("Model")
    devices = available_devices()
    device = st.selectbox("Device", [d.id for d in devices], format_func={d.id: d.label for d in devices}.__getitem__,
                          key="sb-device")
    offered = sources()
    source = st.selectbox("Source", list(offered), format_func=offered.__getitem__, key="sb-source")
    if shared_mode():
        st.caption(f"Shared mode ({SHARED_ENV}): model files that run code and folders on the server are off.")
    request = FORMS.get(source, SourceForm(_spec_request)).inputs(source, device)
    own_head = BY_KEY[source].own_head
    names = _class_names() if not own_head else None
    activation = _activation() if not own_head else None
    if request is not None:
        if names is not None:
            request = dataclasses.replace(request, class_names=names)
        if activation is not None:
            request = dataclasses.replace(request, activation=activation)
        request_model(request)
        with st.spinner("Loading PyTorch and the model…"):  # the first load of a model is slow: say so here
            current_model()
        request = preprocessing_request(request, f"sb-pre-{source}", editable=preprocessing_editable(source, request))
        request_model(request)
    else:
        request_model(None)
    _model_to_url(request)


def _image_id(kind: str, image: InputImage) -> str:
    """How the current-image box and the URL name an upload or a carried image: by kind, name and sha256
    (a sample is named by its sample name)."""
    return f"{kind}:{image.name}:{image.sha256[:8]}"


def _sample_box() -> list[str]:
    """The sample photos box. Drawn on every page, so Streamlit keeps its value itself: it takes a link's
    `samples=` once, and is not seeded on every run like `persistent` widgets (seeding it lost the choice when a
    second browser session switched pages)."""
    names = sample_names()
    text = claim("samples")
    if text is not None:
        chosen = [name for name in text.split(LIST_SEP) if name in names]
        if len(chosen) != len([name for name in text.split(LIST_SEP) if name]):
            notice(f"The link's sample photos '{text[:60]}' name photos there are not; those are ignored.")
        st.session_state["sb-samples"] = chosen
    samples = st.multiselect("Sample photos", names, default=["coffee"], key="sb-samples")
    remember("sb-samples", samples, default=["coffee"], url="samples")
    return samples


def _restored_box() -> list[InputImage]:
    """The photos this session's link restored (the uploader starts empty after a reload): all kept unless the user
    removes them here."""
    images = photo_links.restored()
    if not images:
        return []
    by_id = {_image_id("upload", im): im for im in images}
    chosen = st.multiselect("Uploaded before the reload", list(by_id), default=list(by_id), key="sb-restored",
                            format_func=lambda i: by_id[i].name,
                            help="Your uploads, kept on this server for this link; remove one here to drop it.")
    return [by_id[i] for i in chosen if i in by_id]


def _collected(samples: list[str], uploads: list, camera: object, earlier: list[InputImage]) \
        -> tuple[dict[str, InputImage], list[InputImage]]:
    """Every image of the sidebar by its id (samples by name, uploads, restored and carried ones by content), and
    the uploaded ones; decoding errors and notes are said here."""
    named: list[tuple[str, InputImage]] = []
    errors: list[str] = []
    for sample in samples:  # one at a time: each keeps its name as its id (the URL's image=coffee)
        found, failed = collect_images([sample], [], None)
        named += [(sample, im) for im in found]
        errors += failed
    uploaded, upload_errors = collect_images([], uploads, camera)
    uploaded = [*earlier, *uploaded]
    photo_links.keep(uploaded)
    for message in errors + upload_errors:
        st.error(plain(message))
    for note in (note for image in uploaded for note in image.notes):  # what decoding changed (NaN pixels replaced)
        st.caption(plain(note))
    named += [(_image_id("upload", im), im) for im in uploaded] + [(_image_id("carried", im), im) for im in carried_images()]
    return dict(named), uploaded


def _links_missing_uploads(earlier: list[InputImage], uploaded: list[InputImage]) -> None:
    """A link names uploads this session does not have: say which to upload again; keep the names of those it has."""
    for name in (claim("uploads") or "").split(LIST_SEP):
        if name and name not in {im.name for im in earlier}:
            notice(f"The uploaded file {name[:80]} is not in the link: upload it again.")
    if uploaded:
        remember("sb-uploads-names", [im.name for im in uploaded], default=[], url="uploads")


def _newest(by_id: dict[str, InputImage], earlier: list[InputImage]) -> str | None:
    """The image that becomes current on its own: the newest upload, or an image carried from another page."""
    ids = list(by_id)
    waiting = pending("image") or ""
    if waiting and waiting not in by_id and ":" in waiting:  # an upload named in a link: not in the link itself
        claim("image")
        notice(f"The uploaded file {waiting.split(':')[1][:80]} is not in the link: upload it again.")
    seen = st.session_state.setdefault(SEEN_KEY, set())
    seen.update(_image_id("upload", im) for im in earlier)  # restored, not new: the link's image= stays current
    fresh = [i for i in ids if i not in seen and not i.startswith("sample") and ":" in i]
    carried = take_new_carried()
    seen.update(ids)
    return next((i for i in ids if carried and i.startswith("carried:") and by_id[i].sha256 == carried), None) \
        or (fresh[-1] if fresh else None)


def image_section() -> None:
    st.subheader("Images")
    photo_links.restore()  # a reload's new session: the photos its link names
    samples = _sample_box()
    uploads = st.file_uploader("Your images", type=list(ACCEPTED), accept_multiple_files=True, key="sb-uploads",
                               **upload_limit(IMAGE_MEGABYTES), help=f"Up to {IMAGE_MEGABYTES} MB per image.")
    photo_links.lost_caption()
    earlier = _restored_box()
    camera = st.camera_input("Camera", key="sb-camera") if st.toggle("Take a photo", key="sb-camera-on") else None
    by_id, uploaded = _collected(samples, uploads or [], camera, earlier)
    images = list(by_id.values())
    set_images(images)
    _links_missing_uploads(earlier, uploaded)
    if not images:
        st.info("Choose a sample photo or upload an image.")
        set_current_image(None)
        return
    newest = _newest(by_id, earlier)
    if newest is not None:  # the newest upload (or an image carried from another page) becomes the current image
        set_value("sb-current", newest)
    ids = list(by_id)
    labels = {i: f"{n + 1}. {im.name}" for n, (i, im) in enumerate(by_id.items())}
    chosen = persistent(st.selectbox, "Current image", options=ids, default=ids[0], key="sb-current", url="image",
                        format_func=labels.get)
    set_current_image(by_id.get(chosen, images[0]))


def draw_sidebar() -> None:
    with st.sidebar:
        model_section()
        image_section()
        report_view.begin()  # the Share section, and the draft of this run's page for its Report buttons
