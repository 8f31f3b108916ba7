"""CAM layers: the default layer, transformer tokens as a grid, and a clear error for a non-spatial layer."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from interpret.attribution import attribute
from interpret.errors import LayerError
from interpret.layers import default_cam_layer, layer_info
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


def _same_map(a: np.ndarray, b: np.ndarray) -> None:
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-5 * float(np.abs(b).max()))


def test_a_vit_patch_embedding_is_its_patch_grid_with_no_token_dropped(vit, coffee):
    """patch_embed outputs the 196 patch tokens before the class token is prepended: read as 14 x 14 with nothing
    dropped, its Grad-CAM is that of the patch convolution (patch_embed.norm is an Identity in ViT-Tiny). It was read
    as 13 x 15 after dropping the first patch as a class token: off by 0.94 of the map's maximum."""
    for name in ("patch_embed", "patch_embed.norm"):
        info = layer_info(vit, name)
        assert (info.prefix, info.grid) == (0, (14, 14)), name
    assert (layer_info(vit, "blocks.0").prefix, layer_info(vit, "blocks.0").grid) == (1, (14, 14))
    x = vit.preprocessing.to_tensor(coffee.image)
    conv = attribute(vit, x, "gradcam", 1, layer="patch_embed.proj").values
    for name in ("patch_embed", "patch_embed.norm"):
        _same_map(attribute(vit, x, "gradcam", 1, layer=name).values, conv)


def test_a_transformers_vit_patch_embedding_is_its_patch_grid(tmp_path, coffee):
    transformers = pytest.importorskip("transformers")
    torch.manual_seed(0)
    model = transformers.ViTForImageClassification(transformers.ViTConfig(
        image_size=112, patch_size=8, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=64, num_labels=3)).eval()
    model.save_pretrained(tmp_path)
    transformers.ViTImageProcessor(size={"height": 112, "width": 112}).save_pretrained(tmp_path)
    lm = load_model(f"hf:{tmp_path}")
    name = "vit.embeddings.patch_embeddings"
    assert (layer_info(lm, name).prefix, layer_info(lm, name).grid) == (0, (14, 14))
    assert layer_info(lm, "vit.embeddings").prefix == 1  # the class token is prepended there
    x = lm.preprocessing.to_tensor(coffee.image)
    _same_map(attribute(lm, x, "gradcam", 1, layer=name).values,
              attribute(lm, x, "gradcam", 1, layer=f"{name}.projection").values)
