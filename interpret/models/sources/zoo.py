"""`torchvision:NAME` and `timm:NAME` (incl. `timm:hf-hub:ORG/NAME`): zoo architectures, with pretrained weights,
random weights or a user's checkpoint fitted to them (interpret/models/checkpoints.py, `fit_checkpoint`)."""
from __future__ import annotations

from collections.abc import Callable

from torch import nn

from ...preprocess import Preprocessing
from ..checkpoints import fit_checkpoint
from ..timm_zoo import build_timm, timm_names
from ..torchvision_zoo import build_torchvision, torchvision_names
from .base import Built, LoadRequest, Source, read_model_file, seeded

Builder = Callable[..., tuple[nn.Module, Preprocessing, "list[str] | None"]]


def zoo_model(build: Builder, request: LoadRequest) -> Built:
    """Pretrained (None), seeded random ("random") or a checkpoint's weights for the architecture `build` makes."""
    name, weights = request.name, request.weights
    if weights is None:
        model, pre, categories = build(name, pretrained=True)
        return Built(model, pre, tuple(categories) if categories is not None else None)
    if isinstance(weights, str) and weights == "random":
        model, pre, _ = seeded(build, name, pretrained=False)
        return Built(model, pre)
    data, filename = read_model_file(weights, request.weights_name)
    built: list[Preprocessing] = []

    def architecture(classes: int | None) -> nn.Module:
        model, pre, _ = build(name, pretrained=False, num_classes=classes)
        built.append(pre)
        return model

    model, report = fit_checkpoint(architecture, data, filename, request.prefer)
    return Built(model, built[-1], report=report)


class TorchvisionSource(Source):
    key = "torchvision"
    own_preprocessing = True
    prefix = "torchvision:"
    label = "torchvision zoo"
    form = "torchvision:NAME"
    example = "torchvision:resnet18"
    needs = "pretrained weights from torch.hub's cache or download.pytorch.org, or --weights FILE / random"
    takes_weights = True

    def names(self) -> list[str]:
        return torchvision_names()

    def load(self, request: LoadRequest) -> Built:
        return zoo_model(build_torchvision, request)


class TimmSource(Source):
    key = "timm"
    own_preprocessing = True
    prefix = "timm:"
    label = "timm zoo (incl. hf-hub:)"
    form = "timm:NAME or timm:hf-hub:ORG/NAME"
    example = "timm:convnext_tiny"
    needs = "timm; pretrained weights from the Hugging Face cache or huggingface.co, or --weights FILE / random"
    takes_weights = True

    def names(self) -> list[str]:
        return timm_names()

    def load(self, request: LoadRequest) -> Built:
        return zoo_model(build_timm, request)
