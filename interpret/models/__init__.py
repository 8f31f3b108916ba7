"""Model sources behind one call: load_model(spec, device, weights=..., class_names=...).

Specs: `bundled:efficientnet_lite0` (default, offline), `torchvision:NAME`, `timm:NAME`, or
`file:PATH` / a path to a TorchScript file. `weights` may be None (pretrained), "random"
(random initialisation, seeded), a path, or the bytes of a state dict for the chosen architecture.

A TorchScript file is a program: it loads only with `trust_code=True`, never in shared mode
(interpret/policy.py). Every model, whatever its source, passes `first_pass.first_pass` before it is
returned: finite weights, a first forward pass under a time bound, finite scores, one row per image.
"""
from __future__ import annotations

import hashlib
import io
import warnings
from pathlib import Path

import torch
from torch import nn

from .. import limits
from ..devices import describe_device_failure, resolve_device
from ..errors import DeviceError, ModelLoadError
from ..files import read_regular_file
from ..policy import require_code_consent
from ..preprocess import Preprocessing
from .bundled import BUNDLED, load_bundled
from .checkpoints import fit_checkpoint, is_torchscript, read_state_dict
from .classes import default_classes, fit_class_names, parse_class_names
from .first_pass import first_pass
from .keys import canonical_key
from .loaded import LoadedModel, freeze
from .timm_zoo import build_timm, timm_names
from .torchvision_zoo import build_torchvision, torchvision_names

DEFAULT_SPEC = "bundled:efficientnet_lite0"
SOURCES = ("bundled", "torchvision", "timm", "file")

__all__ = [
    "DEFAULT_SPEC", "LoadedModel", "load_model", "parse_spec", "parse_class_names",
    "torchvision_names", "timm_names", "BUNDLED", "SOURCES",
]


def parse_spec(spec: str) -> tuple[str, str]:
    """'torchvision:resnet18' -> ('torchvision', 'resnet18'); a bare path -> ('file', path)."""
    spec = spec.strip()
    if "\x00" in spec:
        raise ModelLoadError("A model spec or path cannot contain a NUL character.")
    source, sep, name = spec.partition(":")
    if sep and source in SOURCES and name:
        return source, name
    if Path(spec).suffix or Path(spec).exists():
        return "file", spec
    raise ModelLoadError(
        f"'{spec}' is not a model spec. Use bundled:efficientnet_lite0, torchvision:NAME, timm:NAME, "
        "or a path to a TorchScript file."
    )


def _read(weights: str | Path | bytes, what: str = "weights") -> tuple[bytes, str]:
    if isinstance(weights, bytes):
        return weights, what
    return read_regular_file(weights, limits.CHECKPOINT_BYTES, "CHECKPOINT_BYTES", ModelLoadError), Path(weights).name


def _zoo_model(source: str, name: str, weights, weights_name: str,
               prefer: str | None = None) -> tuple[nn.Module, Preprocessing, list[str] | None, str]:
    """The model, its preprocessing, its zoo's class names and the checkpoint's match report ('' without one)."""
    build = build_torchvision if source == "torchvision" else build_timm
    if weights is None:
        return (*build(name, pretrained=True), "")
    if isinstance(weights, str) and weights == "random":
        with torch.random.fork_rng():
            torch.manual_seed(0)
            model, pre, _ = build(name, pretrained=False)
        return model, pre, None, ""
    data, filename = _read(weights, weights_name)
    built: list[Preprocessing] = []

    def architecture(classes: int | None) -> nn.Module:
        model, pre, _ = build(name, pretrained=False, num_classes=classes)
        built.append(pre)
        return model

    model, report = fit_checkpoint(architecture, data, filename, prefer)
    return model, built[-1], None, report


def _torchscript(data: bytes, filename: str, device: torch.device, trust_code: bool) -> nn.Module:
    """A TorchScript model, once the user trusts the file (loading it may already run its code)."""
    if not is_torchscript(data):
        read_state_dict(data, filename)  # refuses unsafe or unreadable files with their own message
        raise ModelLoadError(
            f"'{filename}' holds weights (a state dict), not a whole model: choose its architecture "
            "(torchvision or timm) and give this file as its weights."
        )
    require_code_consent("torchscript", filename, trust_code)
    try:
        with warnings.catch_warnings():  # torch 2.14 deprecates torch.jit.load; the user has nothing to change
            warnings.filterwarnings("ignore", message=r"`torch\.jit\.load` is deprecated", category=FutureWarning)
            return torch.jit.load(io.BytesIO(data), map_location=device)
    except Exception as exc:
        raise ModelLoadError(f"'{filename}' is not a loadable TorchScript model: {str(exc)[:200]}") from exc


def _to_device(model: nn.Module, device: torch.device) -> nn.Module:
    """Move a model; an accelerator that fails (out of memory, a driver error) gives device advice."""
    try:
        return model.to(device)
    except (RuntimeError, MemoryError) as exc:
        if device.type == "cpu":
            raise ModelLoadError(f"The model does not fit in this machine's memory ({str(exc)[:160]}).") from exc
        raise DeviceError(describe_device_failure(exc, str(device))) from exc


def _label(spec: str, source: str, weights, weights_name: str) -> str:
    if weights is None or source == "file":
        return spec
    if isinstance(weights, str) and weights == "random":
        return f"{spec} (random weights)"
    return f"{spec} ({weights_name if isinstance(weights, bytes) else Path(weights).name})"


def load_model(
    spec: str,
    device: str | None = "cpu",
    weights: str | Path | bytes | None = None,
    weights_name: str = "weights",
    class_names: tuple[str, ...] | None = None,
    trust_code: bool = False,
) -> LoadedModel:
    """Build, load, freeze, move and check a model; raise ModelLoadError with a readable message on failure.

    `trust_code=True` is the caller's explicit consent to load a file that is code (TorchScript); without
    it such a file is refused with `policy.CodeConsentRequired`, and in shared mode always.
    """
    dev = resolve_device(device)
    source, name = parse_spec(spec)
    hookable, report = True, ""
    if source == "bundled":
        model, pre = load_bundled(name)
        categories = None
    elif source in ("torchvision", "timm"):
        model, pre, categories, report = _zoo_model(source, name, weights, weights_name)
    else:
        data, filename = _read(weights if weights is not None else name, Path(name).name)
        model = _torchscript(data, filename, dev, trust_code)
        pre, categories, hookable = Preprocessing(), None, False
    label = _label(spec, source, weights, weights_name)
    model = freeze(_to_device(model, dev))
    model, outputs = first_pass(model, pre, dev, Path(name).name if source == "file" else label)
    if class_names is None and categories is not None and len(categories) == outputs:
        class_names = tuple(categories)
    names = fit_class_names(class_names, outputs) if class_names is not None else default_classes(outputs)
    return LoadedModel(spec=label, model=model, preprocessing=pre, class_names=names, device=dev, hookable=hookable,
                       report=report, key=model_key(spec, dev, weights, names))


def model_key(spec: str, device: torch.device, weights: str | Path | bytes | None, class_names: tuple[str, ...]) -> str:
    """A stable identity of a loaded model: the same inputs give the same key in every process."""
    if isinstance(weights, bytes):
        weights_id = ["sha256", hashlib.sha256(weights).hexdigest()]
    elif weights is None or weights == "random":
        weights_id = [weights or "pretrained"]
    else:
        weights_id = ["sha256", hashlib.sha256(Path(weights).read_bytes()).hexdigest()]
    return canonical_key("model", spec.strip(), str(device), weights_id, list(class_names))
