"""Every torchvision classification model, with its DEFAULT weights, transforms and class names."""
from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlparse

import torch
import torchvision
from torch import nn

from ..errors import ModelLoadError, WeightsUnavailableError
from ..preprocess import Preprocessing
from ..zoo_preprocessing import torchvision_preprocessing
from .first_pass import check_class_count
from .network import reachable


def torchvision_names() -> list[str]:
    """Names of torchvision's image classification models."""
    return sorted(torchvision.models.list_models(module=torchvision.models))


def _check(name: str) -> None:
    if name not in torchvision_names():
        raise ModelLoadError(f"torchvision has no classification model named '{name}'.")


def weights_path(name: str) -> Path:
    """Where torch.hub keeps (or would keep) the DEFAULT weights of a torchvision model."""
    weights = torchvision.models.get_model_weights(name).DEFAULT
    filename = os.path.basename(urlparse(weights.url).path)
    return Path(torch.hub.get_dir()) / "checkpoints" / filename


def build_torchvision(name: str, pretrained: bool,
                      num_classes: int | None = None) -> tuple[nn.Module, Preprocessing, list[str] | None]:
    """Architecture plus, if `pretrained`, its DEFAULT weights from the hub cache or the network."""
    _check(name)
    if num_classes is not None:
        check_class_count(num_classes, f"torchvision:{name}")
    weights = torchvision.models.get_model_weights(name).DEFAULT
    preprocessing = torchvision_preprocessing(weights)
    if not pretrained:
        kwargs = {"num_classes": num_classes} if num_classes else {}
        return torchvision.models.get_model(name, weights=None, **kwargs), preprocessing, None
    path = weights_path(name)
    host = urlparse(weights.url).hostname or "download.pytorch.org"
    if not path.exists() and not reachable(host):
        raise WeightsUnavailableError(
            f"The pretrained weights of torchvision '{name}' are not on this machine and {host} cannot be reached. "
            f"Put the file '{path.name}' into the folder '{path.parent}', or give a local weights file, "
            "or choose the bundled model."
        )
    try:
        model = torchvision.models.get_model(name, weights=weights)
    except Exception as exc:
        raise WeightsUnavailableError(
            f"Downloading the weights of torchvision '{name}' failed ({str(exc)[:160]}). "
            f"Put the file '{path.name}' into '{path.parent}', or give a local weights file."
        ) from exc
    return model, preprocessing, list(weights.meta["categories"])
