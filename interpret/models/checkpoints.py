"""Reading weight files safely: pickles only with weights_only=True."""
from __future__ import annotations

import io
import pickle
import zipfile
from typing import Any

import torch
from torch import nn

from ..errors import ModelLoadError

_WRAPPERS = ("state_dict", "model_state_dict", "model", "module", "net", "weights")


def is_torchscript(data: bytes) -> bool:
    """TorchScript archives are zips that hold a code/ folder and constants.pkl."""
    if not zipfile.is_zipfile(io.BytesIO(data)):
        return False
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    return any(n.endswith("/constants.pkl") for n in names) and any("/code/" in n for n in names)


def read_state_dict(data: bytes, filename: str = "weights") -> dict[str, torch.Tensor]:
    """A state dict from checkpoint bytes; refuses pickles that would run code."""
    obj: Any
    try:
        if filename.endswith(".safetensors"):
            from safetensors.torch import load as load_safetensors

            obj = load_safetensors(data)
        else:
            obj = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise ModelLoadError(
            f"'{filename}' needs arbitrary Python code to load (a pickled model object, not plain weights), "
            "and such files are refused because they can run anything on this machine. Save the weights with "
            "torch.save(model.state_dict(), path), or export the model with torch.jit.script/trace."
        ) from exc
    except Exception as exc:  # corrupt zip, truncated file, not a checkpoint at all
        raise ModelLoadError(f"'{filename}' is not a readable PyTorch weights file "
                             f"({type(exc).__name__}: {str(exc)[:200]}).") from exc
    for key in _WRAPPERS:
        if isinstance(obj, dict) and key in obj and isinstance(obj[key], dict):
            obj = obj[key]
            break
    if not isinstance(obj, dict) or not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ModelLoadError(f"'{filename}' does not hold a state dict (a mapping of parameter names to tensors).")
    prefix = "module."
    if all(k.startswith(prefix) for k in obj):
        obj = {k[len(prefix):]: v for k, v in obj.items()}
    return obj


def head_size(reference: nn.Module, state: dict[str, torch.Tensor]) -> int | None:
    """The number of classes a state dict was trained for, read from where its head differs."""
    ref = reference.state_dict()
    for key, value in state.items():
        if key in ref and ref[key].ndim >= 1 and value.ndim >= 1 and ref[key].shape != value.shape:
            if ref[key].shape[1:] == value.shape[1:]:
                return int(value.shape[0])
    return None


def load_into(model: nn.Module, state: dict[str, torch.Tensor], filename: str) -> nn.Module:
    """Load a state dict strictly, turning mismatches into one readable message."""
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
        detail = "; ".join(lines[1:4]) if len(lines) > 1 else lines[0]
        raise ModelLoadError(f"'{filename}' does not fit this architecture: {detail[:400]}") from exc
    return model
