"""The attention view's maps: each block's and head's class-token row over the patches, read from a fused timm ViT,
equals the weights its unfused copy materialises; a model without readable attention is refused with the reason."""
from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from interpret.errors import LayerError
from interpret.features import attention_maps, has_attention


def test_the_class_token_rows_equal_the_unfused_weights(gelu_vit):
    x = torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(6))
    model = copy.deepcopy(gelu_vit.model)
    kept: list[torch.Tensor] = []
    for block in model.blocks:
        block.attn.fused_attn = False
        block.attn.attn_drop.register_forward_hook(lambda m, args, out: kept.append(out.detach()) or None)
    with torch.inference_mode():
        model(x)
    expected = torch.stack([a[0, :, 0, 1:] for a in kept]).reshape(12, 3, 14, 14).numpy()
    maps = attention_maps(gelu_vit, x)
    assert maps.blocks == tuple(f"blocks.{i}" for i in range(12)) and maps.heads == 3 and maps.prefix == 1
    np.testing.assert_allclose(maps.values, expected, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(maps.head_mean(4), expected[4].mean(0), rtol=1e-5, atol=1e-7)
    assert all(block.attn.fused_attn for block in gelu_vit.model.blocks)  # the shared model stays fused
    assert not any(m._forward_hooks for m in gelu_vit.model.modules())


def test_a_cnn_has_no_attention_maps(resnet18):
    assert not has_attention(resnet18)
    with pytest.raises(LayerError, match="no attention blocks it can read"):
        attention_maps(resnet18, torch.zeros(1, 3, 64, 64))
