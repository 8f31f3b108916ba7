"""CAM layers: the default layer, transformer tokens as a grid, and a clear error for a non-spatial layer."""
from __future__ import annotations

import pytest
import torch

from interpret.attribution import attribute
from interpret.errors import LayerError
from interpret.layers import default_cam_layer
from interpret.models import load_model


@pytest.fixture(scope="module")
def vit():
    return load_model("timm:vit_tiny_patch16_224", weights="random")


def test_vit_cams_work_on_the_default_layer_without_code(vit):
    """Class token dropped, 196 patch tokens as 14 x 14: gradient CAMs are not blank at the default layer."""
    layer = default_cam_layer(vit)
    assert layer == "blocks.11.norm1"
    x = torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    for method in ("gradcam", "layercam", "eigencam"):
        result = attribute(vit, x, method, 1)
        assert result.layer == layer and result.status == "ok" and result.values.shape == (224, 224)


def test_resnet_default_cam_layer_is_the_last_stage(resnet18):
    assert default_cam_layer(resnet18) == "layer4"
    assert attribute(resnet18, torch.randn(1, 3, 64, 64), "gradcam", 0).layer == "layer4"


def test_a_non_spatial_layer_is_refused_clearly(resnet18):
    with pytest.raises(LayerError, match="no spatial output"):
        attribute(resnet18, torch.randn(1, 3, 64, 64), "gradcam", 0, layer="fc")
