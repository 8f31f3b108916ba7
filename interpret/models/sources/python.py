"""`py:MODULE:CALLABLE`: your own architecture, built by a callable of a module importable from the working
directory (with keyword arguments), with weights from a checkpoint (`--weights FILE`) fitted to it.

It imports and runs your code, so it loads only with consent (`trust_code=True`, `--trust-code`, the
sidebar's box) and never in shared mode (policy.CODE_SOURCES["python"]).
"""
from __future__ import annotations

import importlib
import inspect
import json
import os
import sys
import threading
from collections.abc import Callable
from typing import Any

from torch import nn

from ...errors import ModelLoadError, exit_call
from ...policy import require_code_consent
from ...preprocess import IMAGENET, Preprocessing
from ...zoo_preprocessing import timm_preprocessing
from ..checkpoints import fit_checkpoint
from .base import Built, LoadRequest, Source, read_model_file, seeded

_PATH_LOCK = threading.Lock()  # sys.path is the process's: one import with the working directory at a time


def split_spec(name: str) -> tuple[str, str]:
    """'my_project.models:build_model' -> ('my_project.models', 'build_model'), both dotted identifiers."""
    module, sep, attribute = name.rpartition(":")
    if not sep or not _dotted(module) or not _dotted(attribute):
        raise ModelLoadError(f"'py:{name}' is not a py:MODULE:CALLABLE spec (e.g. py:my_project.models:build_model: "
                             "a module importable from the working directory, and a callable in it).")
    return module, attribute


def _dotted(text: str) -> bool:
    return bool(text) and all(part.isidentifier() for part in text.split("."))


def parse_kwargs(text: str | None) -> dict[str, Any]:
    """Keyword arguments from JSON text (`--model-kwargs '{"num_classes": 10}'`); empty text is none."""
    if text is None or not text.strip():
        return {}
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ModelLoadError(f"The model's keyword arguments are not valid JSON ({str(exc)[:120]}); "
                             'give an object such as {"num_classes": 10}.') from exc
    if not isinstance(value, dict):
        raise ModelLoadError(f"The model's keyword arguments must be a JSON object, not a JSON {type(value).__name__}.")
    return value


def _import(module: str) -> Any:
    """Import `module` with the working directory first on sys.path, restored afterwards."""
    with _PATH_LOCK:
        saved = list(sys.path)
        sys.path.insert(0, os.getcwd())
        try:
            return importlib.import_module(module)
        except ImportError as exc:
            raise ModelLoadError(f"Cannot import '{module}' from the working directory '{os.getcwd()}': "
                                 f"{str(exc)[:200]}") from exc
        except Exception as exc:  # the module's own code failed while importing
            raise ModelLoadError(f"Importing '{module}' raised {type(exc).__name__}: {str(exc)[:200]}") from exc
        except SystemExit as exc:  # not an Exception: uncaught, it would end the CLI (status 0) or the app's page
            raise ModelLoadError(f"Importing '{module}' called {exit_call(exc)}; a model's module must not exit "
                                 "the process.") from exc
        finally:
            sys.path[:] = saved


def _factory(module: str, attribute: str) -> Callable[..., Any]:
    target: Any = _import(module)
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise ModelLoadError(f"'{module}' has no '{attribute}'.")
        target = getattr(target, part)
    if not callable(target):
        raise ModelLoadError(f"'{module}:{attribute}' is a {type(target).__name__}, not a callable that builds a model.")
    return target


def _takes(factory: Callable[..., Any], name: str) -> bool:
    try:
        parameters = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == name or p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)


def build(factory: Callable[..., Any], spec: str, kwargs: dict[str, Any]) -> nn.Module:
    """`factory(**kwargs)`, refused unless it returns an nn.Module."""
    try:
        model = factory(**kwargs)
    except Exception as exc:
        raise ModelLoadError(f"'{spec}' raised {type(exc).__name__} while building the model: {str(exc)[:200]}") from exc
    except SystemExit as exc:  # not an Exception: uncaught, it would end the CLI (status 0) or the app's page
        raise ModelLoadError(f"'{spec}' called {exit_call(exc)} while building the model; a factory must return "
                             "a torch.nn.Module.") from exc
    if not isinstance(model, nn.Module):
        raise ModelLoadError(f"'{spec}' returned a {type(model).__name__}, not a torch.nn.Module.")
    return model


def preprocessing_of(model: nn.Module) -> Preprocessing:
    """timm's data config for a timm model a factory returns, else ImageNet's defaults (editable in the app)."""
    cfg = getattr(model, "pretrained_cfg", None)
    if isinstance(cfg, dict) and "mean" in cfg:
        return timm_preprocessing(model)
    return IMAGENET


class PythonSource(Source):
    key = "python"
    prefix = "py:"
    label = "My Python class (py:MODULE:CALLABLE)"
    form = "py:MODULE:CALLABLE [--model-kwargs JSON] [--weights FILE]"
    example = "py:my_project.models:build_model"
    needs = "--trust-code: it imports and runs your code (local only, never in shared mode)"
    code = "python"
    takes_weights = True
    takes_kwargs = True

    def load(self, request: LoadRequest) -> Built:
        module, attribute = split_spec(request.name)
        require_code_consent("python", request.spec, request.trust_code)
        factory = _factory(module, attribute)
        kwargs = dict(request.model_kwargs)
        weights = request.weights
        if weights is None:
            model = build(factory, request.spec, kwargs)
            return Built(model, preprocessing_of(model))
        if isinstance(weights, str) and weights == "random":
            model = seeded(build, factory, request.spec, kwargs)
            return Built(model, preprocessing_of(model))
        data, filename = read_model_file(weights, request.weights_name)

        def architecture(classes: int | None) -> nn.Module:
            if classes is not None and "num_classes" not in kwargs and _takes(factory, "num_classes"):
                return seeded(build, factory, request.spec, {**kwargs, "num_classes": classes})
            return seeded(build, factory, request.spec, kwargs)

        model, report = fit_checkpoint(architecture, data, filename, request.prefer)
        return Built(model, preprocessing_of(model), report=report)
