"""`file:PATH` or a bare path: a TorchScript model file, a program that loads only with the user's consent."""
from __future__ import annotations

import io
import warnings
from pathlib import Path

import torch

from ...errors import ModelLoadError
from ...policy import require_code_consent
from ...preprocess import IMAGENET
from ..checkpoints import is_torchscript, read_state_dict
from .base import Built, LoadRequest, Source, read_model_file


class TorchScriptSource(Source):
    key = "file"
    linkable = False
    prefix = "file:"
    label = "My TorchScript file"
    form = "file:PATH or PATH (a TorchScript file)"
    example = "my_model.pt"
    needs = "--trust-code: a TorchScript file is a program"
    code = "torchscript"

    def match(self, spec: str) -> str | None:
        name = super().match(spec)
        if name is not None:
            return name
        return spec if Path(spec).suffix or Path(spec).exists() else None

    def shown_name(self, request: LoadRequest) -> str:
        return Path(request.name).name

    def load(self, request: LoadRequest) -> Built:
        """A TorchScript model, once the user trusts the file (loading it may already run its code)."""
        source = request.weights if request.weights is not None else request.name
        data, filename = read_model_file(source, Path(request.name).name)
        if not is_torchscript(data):
            read_state_dict(data, filename)  # refuses unsafe or unreadable files with their own message
            raise ModelLoadError(
                f"'{filename}' holds weights (a state dict), not a whole model: choose its architecture "
                "(torchvision, timm, or py:MODULE:CALLABLE for your own class) and give this file as its weights."
            )
        require_code_consent("torchscript", filename, request.trust_code)
        try:
            with warnings.catch_warnings():  # torch 2.14 deprecates torch.jit.load; the user has nothing to change
                warnings.filterwarnings("ignore", message=r"`torch\.jit\.load` is deprecated", category=FutureWarning)
                model = torch.jit.load(io.BytesIO(data), map_location=request.device)
        except Exception as exc:
            raise ModelLoadError(f"'{filename}' is not a loadable TorchScript model: {str(exc)[:200]}") from exc
        return Built(model, IMAGENET, hookable=False)
