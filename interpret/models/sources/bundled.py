"""`bundled:efficientnet_lite0`: the offline default, EfficientNet-Lite0 with ImageNet weights from a pip package."""
from __future__ import annotations

from ..bundled import BUNDLED, load_bundled
from .base import Built, LoadRequest, Source


class BundledSource(Source):
    key = "bundled"
    own_preprocessing = True
    own_head = True
    prefix = "bundled:"
    label = "Bundled offline (EfficientNet-Lite0, ImageNet)"
    form = "bundled:efficientnet_lite0"
    example = "bundled:efficientnet_lite0"
    needs = "nothing: the default, offline"

    def names(self) -> list[str]:
        return list(BUNDLED)

    def load(self, request: LoadRequest) -> Built:
        model, preprocessing = load_bundled(request.name)
        return Built(model, preprocessing)
