"""Model sources behind one call: load_model(spec, device, weights=..., class_names=...).

The sources are a table (interpret/models/sources/): `bundled:efficientnet_lite0` (default, offline),
`torchvision:NAME`, `timm:NAME` / `timm:hf-hub:ORG/NAME`, `hf:FOLDER_OR_NAME` (transformers),
`py:MODULE:CALLABLE` (your own class), a `.pt2` path (torch.export) and `file:PATH` / a path to a
TorchScript file. `weights` may be None (the source's own, pretrained), "random" (random initialisation,
seeded), a path, or the bytes of a checkpoint for the chosen architecture.

TorchScript and torch.export files and `py:` factories are code: they load only with `trust_code=True`,
never in shared mode (interpret/policy.py). Every model, whatever its source, passes `first_pass.first_pass`
before it is returned: finite weights, a first forward pass under a time bound, finite scores, one row per image.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..devices import resolve_device
from ..errors import DeviceError, InterpretError, ModelLoadError
from ..heads import check_activation
from ..preprocess import Preprocessing
from .bundled import BUNDLED
from .classes import default_classes, fit_class_names, parse_class_names
from .first_pass import checked_pass
from .keys import canonical_key
from .kinds import normalises_inside
from .library_errors import library_error
from .loaded import LoadedModel, freeze
from .preprocessed import with_preprocessing
from .sources import SOURCES, LoadRequest, find_source, parse_kwargs, parse_spec, spec_forms
from .sources.base import Built, Source, kwargs_id, preprocessing_id, weights_id
from .timm_zoo import timm_names
from .torchvision_zoo import torchvision_names

DEFAULT_SPEC = "bundled:efficientnet_lite0"

__all__ = [
    "DEFAULT_SPEC", "LoadedModel", "load_model", "model_key", "with_preprocessing", "parse_spec", "parse_kwargs",
    "parse_class_names", "spec_forms", "torchvision_names", "timm_names", "BUNDLED", "SOURCES",
]


def _to_device(model: nn.Module, device: torch.device) -> nn.Module:
    """Move a model; an accelerator that fails (out of memory, a driver error) gives device advice."""
    try:
        return model.to(device)
    except (RuntimeError, MemoryError) as exc:
        if device.type == "cpu":
            raise ModelLoadError(f"The model does not fit in this machine's memory ({str(exc)[:160]}).") from exc
        raise DeviceError.failed(exc, str(device)) from exc  # the edge adds its advice (errors.device_advice)


def _check_kwargs(model_kwargs: dict[str, Any] | None, spec: str, takes: bool) -> dict[str, Any]:
    if not model_kwargs:
        return {}
    if not takes:
        raise ModelLoadError(f"'{spec}' takes no keyword arguments; they are for py:MODULE:CALLABLE specs.")
    if not isinstance(model_kwargs, dict) or not all(isinstance(k, str) for k in model_kwargs):
        raise ModelLoadError("The model's keyword arguments must be a mapping of names to values.")
    return dict(model_kwargs)


def load_model(
    spec: str,
    device: str | None = "cpu",
    weights: str | Path | bytes | None = None,
    weights_name: str = "weights",
    class_names: tuple[str, ...] | None = None,
    trust_code: bool = False,
    preprocessing: Preprocessing | Callable[[Preprocessing], Preprocessing] | None = None,
    activation: str | None = None,
    model_kwargs: dict[str, Any] | None = None,
    prefer: str | None = None,
    kind: str | None = None,
) -> LoadedModel:
    """Build, load, freeze, move and check a model; raise ModelLoadError with a readable message on failure.

    `trust_code=True` is the caller's explicit consent to load a file or spec that is code (TorchScript,
    torch.export, `py:`); without it such a source is refused with `policy.CodeConsentRequired`, and in shared
    mode always. `preprocessing` replaces the source's own (or, a function, changes it: the CLI's flags edit a
    model's own pipeline without loading it twice), `activation` ("softmax" or "sigmoid") the default
    (the source's, else sigmoid for a one-output head), `model_kwargs` are a `py:` factory's keyword arguments,
    `prefer="ema"` picks a checkpoint's EMA weights, `kind` names the kind of model (models/kinds.py: classifier,
    segmentation, detection, embedding, regression) where what it returns does not tell. Every argument enters the
    model's cache key.
    """
    if activation is not None:
        try:
            check_activation(activation)
        except ValueError as exc:
            raise ModelLoadError(f"The output activation must be softmax or sigmoid, not '{activation}'.") from exc
    dev = resolve_device(device)
    source, name = find_source(spec)
    if weights is not None and not source.takes_weights and source.code is None:
        raise ModelLoadError(f"'{spec}' loads its own weights; --weights is for torchvision, timm and py: models.")
    request = LoadRequest(spec=spec.strip(), name=name, device=dev, weights=weights, weights_name=weights_name,
                          trust_code=trust_code, model_kwargs=_check_kwargs(model_kwargs, spec, source.takes_kwargs),
                          prefer=prefer)
    built = _load_source(source, request)
    if callable(preprocessing):
        pre = preprocessing(built.preprocessing)
    else:
        pre = preprocessing if preprocessing is not None else built.preprocessing
    label = source.describe(request)
    model = freeze(_to_device(built.model, dev))
    model, outputs, read = checked_pass(model, pre, dev, source.shown_name(request), kind or built.kind)
    if preprocessing is None and normalises_inside(model):  # its mean/std would be applied twice
        pre = pre.replace(mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0))
    if class_names is None and built.class_names is not None and len(built.class_names) == outputs:
        class_names = built.class_names
    names = fit_class_names(class_names, outputs) if class_names is not None else default_classes(outputs)
    chosen = activation or built.activation or ("sigmoid" if outputs == 1 else "softmax")
    key = model_key(spec, dev, weights, names, preprocessing=pre, activation=chosen, model_kwargs=request.model_kwargs,
                    prefer=prefer, kind=kind)
    return LoadedModel(spec=label, model=model, preprocessing=pre, class_names=names, device=dev,
                       hookable=built.hookable, activation=chosen, report=built.report, key=key, kind=read)


def _load_source(source: Source, request: LoadRequest) -> Built:
    """`source.load(request)`; what a model library refuses in it becomes a ModelLoadError naming the spec."""
    try:
        return source.load(request)
    except InterpretError:
        raise
    except Exception as exc:
        refused = library_error(exc, request.spec)
        if refused is None:
            raise
        raise refused from exc


def model_key(spec: str, device: torch.device, weights: str | Path | bytes | None, class_names: tuple[str, ...],
              preprocessing: Preprocessing | None = None, activation: str | None = None,
              model_kwargs: dict[str, Any] | None = None, prefer: str | None = None, kind: str | None = None) -> str:
    """A stable identity of a loaded model: the same inputs give the same key in every process (a kind read from
    the model adds nothing: the other inputs decide it; a kind named does)."""
    named = (kind,) if kind is not None else ()
    return canonical_key("model", spec.strip(), str(device), weights_id(weights), list(class_names),
                         preprocessing_id(preprocessing), activation, kwargs_id(model_kwargs), prefer, *named)
