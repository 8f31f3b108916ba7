"""A `.pt2` path (or `export:PATH`): a torch.export program, run through `torch.export.unflatten` so that its
submodules keep the original module names (`layer4`, `layer4.1.conv2`) and take forward hooks: CAMs and
feature maps work on it as on the eager model. A program exported for one image (`torch.export.export(model, (x,))`,
the default, a static batch of 1) runs any batch one image per call (interpret/models/static_batch.py).

It is code-bearing: `torch.export.load` unpickles parts of the archive with `weights_only=False` and
`pickle.loads` (weights and constants saved in pickle form, opaque objects), and loads AOTInductor shared
libraries packed in the archive (torch/export/pt2_archive/_package.py), so loading it can run anything.
It therefore loads only with consent, never in shared mode (policy.CODE_SOURCES["export"]).
"""
from __future__ import annotations

import io
import logging
import math
import zipfile
from pathlib import Path

import torch
from torch import nn

from ...errors import ModelLoadError
from ...policy import require_code_consent
from ...preprocess import IMAGENET, Preprocessing
from ..checkpoints import check_zip_records, is_torchscript
from ..static_batch import StaticBatch
from .base import Built, LoadRequest, Source, read_model_file

SUFFIX = ".pt2"
CROP_PCT = 0.875  # the resize/crop ratio of the ImageNet default (224 of 256) for a program's fixed input size


def _is_archive(data: bytes) -> zipfile.ZipFile | None:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        return None
    return archive if any(n.endswith("archive_format") for n in archive.namelist()) else None


def _input_shape(program: torch.export.ExportedProgram, filename: str) -> tuple[object, ...]:
    """The shape the program was exported for (ints where fixed, symbols where dynamic); one image tensor."""
    user = list(program.graph_signature.user_inputs)
    nodes = {node.name: node for node in program.graph.nodes if node.op == "placeholder"}
    if len(user) != 1 or user[0] not in nodes or not isinstance(nodes[user[0]].meta.get("val"), torch.Tensor):
        raise ModelLoadError(f"'{filename}' takes {len(user)} inputs; a classifier of one image batch "
                             "(N x 3 x H x W) is needed.")
    shape = tuple(nodes[user[0]].meta["val"].shape)
    if len(shape) != 4:
        raise ModelLoadError(f"'{filename}' was exported for an input of shape {shape}, not N x 3 x H x W.")
    return shape


def _preprocessing(shape: tuple[object, ...], filename: str) -> Preprocessing:
    """ImageNet's normalisation at the program's fixed input size (224 where the size is dynamic)."""
    batch, channels, height, width = shape
    if isinstance(batch, int) and batch != 1:
        raise ModelLoadError(
            f"'{filename}' was exported for a fixed batch of {batch} images; the app runs one image per call of such a "
            "program, so export it for a batch of 1 (torch.export.export(model, (x[:1],))) or a dynamic batch: "
            "torch.export.export(model, (x,), dynamic_shapes=({0: torch.export.Dim('batch')},)).")
    if isinstance(channels, int) and channels != 3:
        raise ModelLoadError(f"'{filename}' takes {channels}-channel images; RGB (3 channels) is needed.")
    if isinstance(height, int) != isinstance(width, int) or (isinstance(height, int) and height != width):
        raise ModelLoadError(f"'{filename}' was exported for {height} x {width} inputs; square inputs are needed.")
    if not isinstance(height, int):
        return IMAGENET
    return IMAGENET.replace(crop_size=height, resize_size=int(math.floor(height / CROP_PCT)))


def load_program(data: bytes, filename: str) -> tuple[nn.Module, Preprocessing]:
    """The `.pt2` file's program as a module whose submodules carry the original names, and its preprocessing."""
    archive = _is_archive(data)
    if archive is None:
        if is_torchscript(data):
            raise ModelLoadError(f"'{filename}' is a TorchScript file, not a torch.export program: name it .pt or .ts.")
        raise ModelLoadError(f"'{filename}' is not a torch.export archive (saved with torch.export.save).")
    check_zip_records(archive, len(data), filename)
    try:
        program = torch.export.load(io.BytesIO(data))
    except Exception as exc:
        raise ModelLoadError(f"'{filename}' is not a loadable torch.export program "
                             f"({type(exc).__name__}: {str(exc)[:200]}).") from exc
    shape = _input_shape(program, filename)
    preprocessing = _preprocessing(shape, filename)  # refuses fixed batches of several first
    try:
        module: nn.Module = torch.export.unflatten(program)
    except Exception as exc:  # a hierarchy that cannot be rebuilt: the flat program runs, without named layers
        logging.getLogger(__name__).info("torch.export.unflatten failed for %s: %s", filename, exc)
        module = program.module()
    if shape[0] == 1:  # exported the default way, for one image: run row by row (models/static_batch.py)
        module = StaticBatch(module)
    return module, preprocessing


class ExportSource(Source):
    key = "export"
    linkable = False
    prefix = "export:"
    label = "My torch.export program (.pt2)"
    form = "PATH.pt2 (torch.export.save)"
    example = "my_model.pt2"
    needs = "--trust-code: torch.export.load unpickles parts of the file"
    code = "export"

    def match(self, spec: str) -> str | None:
        name = super().match(spec)
        if name is not None:
            return name
        path = spec[len("file:"):] if spec.startswith("file:") else spec
        return path if path.lower().endswith(SUFFIX) and len(path) > len(SUFFIX) else None

    def shown_name(self, request: LoadRequest) -> str:
        return Path(request.name).name

    def load(self, request: LoadRequest) -> Built:
        source = request.weights if request.weights is not None else request.name
        data, filename = read_model_file(source, Path(request.name).name)
        if _is_archive(data) is None:
            load_program(data, filename)  # says what the file is instead
        require_code_consent("export", filename, request.trust_code)
        module, preprocessing = load_program(data, filename)
        return Built(module, preprocessing)
