"""Attention rollout and Chefer's gradient-weighted rollout equal the published formulas applied to the attention
weights of an unfused copy (timm, transformers, torchvision), while the shared model keeps its fused attention; other
models are refused with the reason."""
from __future__ import annotations

import copy
import json
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from interpret.attribution import attribute
from interpret.attribution.base import to_input_resolution
from interpret.attribution.requirements import MethodUnavailable, applicable
from interpret.models.loaded import LoadedModel, freeze
from interpret.preprocess import Preprocessing

TARGET = 3


def reference_rollout(attentions: list[torch.Tensor], fusion: str, discard: float) -> torch.Tensor:
    """Abnar & Zuidema's rollout as vit-explain writes it, rows normalised (vit-explain's `a / a.sum(dim=-1)`
    broadcasts over columns; the paper normalises rows). attentions: 1 x heads x N x N each."""
    n = attentions[0].shape[-1]
    result = torch.eye(n)
    for attention in attentions:
        fused = {"mean": attention.mean(1), "max": attention.max(1)[0], "min": attention.min(1)[0]}[fusion]
        flat = fused.reshape(fused.size(0), -1).clone()
        _, indices = flat.topk(int(flat.size(-1) * discard), -1, False)
        indices = indices[indices != 0]
        flat[0, indices] = 0
        a = (flat.view_as(fused) + torch.eye(n)) / 2
        a = a / a.sum(dim=-1, keepdim=True)
        result = torch.matmul(a[0], result)
    return result


def reference_chefer(attentions: list[torch.Tensor], grads: list[torch.Tensor]) -> torch.Tensor:
    """Chefer et al.'s generate_relevance: cam = relu(grad * cam).mean over heads; R += cam @ R."""
    n = attentions[0].shape[-1]
    result = torch.eye(n)
    for cam, grad in zip(attentions, grads, strict=True):
        cam = (grad[0] * cam[0]).clamp(min=0).mean(dim=0)
        result = result + torch.matmul(cam, result)
    return result


def as_map(relevance: torch.Tensor, prefix: int, size: tuple[int, int]) -> torch.Tensor:
    row = relevance[0, prefix:]
    side = int(math.isqrt(row.numel()))
    return torch.from_numpy(to_input_resolution(row.reshape(side, side), size))


def relative(ours, reference) -> float:
    ours, reference = torch.as_tensor(ours), torch.as_tensor(reference)
    return float((ours - reference).abs().max() / reference.abs().max())


def timm_unfused(lm: LoadedModel, x: torch.Tensor) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Attention weights (as the unfused path computes them) and their gradients, from a copy with fused_attn off."""
    model = copy.deepcopy(lm.model)
    kept: list[torch.Tensor] = []

    def keep(module, args, output):
        output = output.clone()
        kept.append(output)
        return output

    for block in model.blocks:
        block.attn.fused_attn = False
        block.attn.attn_drop.register_forward_hook(keep)
    x = x.clone().requires_grad_(True)
    with torch.enable_grad():
        logits = model(x)
        grads = torch.autograd.grad(logits[0, TARGET], kept)
    return [a.detach() for a in kept], list(grads)


def check(lm: LoadedModel, x: torch.Tensor, attentions, grads, prefix: int) -> None:
    size = (int(x.shape[-2]), int(x.shape[-1]))
    for fusion, discard in (("mean", 0.0), ("max", 0.0), ("min", 0.0), ("mean", 0.5)):
        ours = attribute(lm, x, "attention_rollout", TARGET, params={"head_fusion": fusion, "discard": discard}).values
        reference = as_map(reference_rollout(attentions, fusion, discard), prefix, size)
        assert relative(ours, reference) <= 1e-5, (fusion, discard, relative(ours, reference))
    ours = attribute(lm, x, "chefer", TARGET).values
    reference = as_map(reference_chefer(attentions, grads), prefix, size)
    assert relative(ours, reference) <= 1e-5, relative(ours, reference)
    assert float(reference.std()) > 0  # a real map, not a constant


def test_timm_vit_with_fused_attention_matches_the_formulas(gelu_vit):
    assert all(block.attn.fused_attn for block in gelu_vit.model.blocks)  # the shared model stays fused
    x = torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    attentions, grads = timm_unfused(gelu_vit, x)
    check(gelu_vit, x, attentions, grads, prefix=1)
    assert all(block.attn.fused_attn for block in gelu_vit.model.blocks)


@pytest.fixture(scope="module")
def hf_vit(tmp_path_factory):
    transformers = pytest.importorskip("transformers")
    from interpret.models import load_model

    torch.manual_seed(0)
    model = transformers.ViTForImageClassification(transformers.ViTConfig(
        image_size=32, patch_size=8, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
        intermediate_size=64, num_labels=5, id2label={i: f"c{i}" for i in range(5)}))
    folder = tmp_path_factory.mktemp("hf") / "vit"
    model.save_pretrained(folder)
    transformers.ViTImageProcessor(size={"height": 32, "width": 32}).save_pretrained(folder)
    return folder, load_model(f"hf:{folder}")


def test_transformers_vit_matches_the_formulas_on_eager_attention_weights(hf_vit):
    from transformers import ViTForImageClassification

    folder, lm = hf_vit
    assert lm.model.config._attn_implementation != "eager"  # the shared model computes attention fused
    x = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    eager = ViTForImageClassification.from_pretrained(folder, attn_implementation="eager").eval()
    pixels = x.clone().requires_grad_(True)
    with torch.enable_grad():
        out = eager(pixel_values=pixels, output_attentions=True)
        grads = torch.autograd.grad(out.logits[0, TARGET], out.attentions)
    check(lm, x, [a.detach() for a in out.attentions], list(grads), prefix=1)


def torchvision_reference(model, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """torchvision's VisionTransformer forward written out by hand, its attention weights materialised."""
    n = x.shape[0]
    h = torch.cat([model.class_token.expand(n, -1, -1), model._process_input(x)], dim=1) + model.encoder.pos_embedding
    attentions = []
    for block in model.encoder.layers:
        mha = block.self_attention
        q, k, v = F.linear(block.ln_1(h), mha.in_proj_weight, mha.in_proj_bias).chunk(3, dim=-1)

        def split(t: torch.Tensor, mha=mha) -> torch.Tensor:
            return t.reshape(n, -1, mha.num_heads, mha.head_dim).transpose(1, 2)

        a = (split(q) @ split(k).transpose(-2, -1) / math.sqrt(mha.head_dim)).softmax(-1)
        attentions.append(a)
        h = h + mha.out_proj((a @ split(v)).transpose(1, 2).reshape(n, -1, mha.embed_dim))
        h = h + block.mlp(block.ln_2(h))
    return model.heads(model.encoder.ln(h)[:, 0]), attentions


def test_torchvision_vit_matches_the_formulas():
    from torchvision.models.vision_transformer import VisionTransformer

    torch.manual_seed(0)
    model = freeze(VisionTransformer(image_size=32, patch_size=8, num_layers=2, num_heads=4, hidden_dim=32,
                                     mlp_dim=64, num_classes=5))
    nn.init.normal_(model.heads.head.weight)  # torchvision starts the head at zero: every gradient would be zero
    lm = LoadedModel(spec="tv-vit", model=model, preprocessing=Preprocessing(crop_size=32, resize_size=32),
                     class_names=tuple("abcde"), device=torch.device("cpu"))
    x = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(2))
    pixels = x.clone().requires_grad_(True)
    with torch.enable_grad():
        logits, attentions = torchvision_reference(model, pixels)
        grads = torch.autograd.grad(logits[0, TARGET], attentions)
    torch.testing.assert_close(logits, model(x), rtol=1e-5, atol=1e-5)
    check(lm, x, [a.detach() for a in attentions], list(grads), prefix=1)


def test_refused_on_a_cnn_and_a_pooled_vit_with_the_reason(resnet18):
    for method in ("attention_rollout", "chefer"):
        ok, reason = applicable(resnet18, method)
        assert not ok and "no attention blocks it can read" in reason
    with pytest.raises(MethodUnavailable, match="ViT or DeiT"):
        attribute(resnet18, torch.zeros(1, 3, 32, 32), "attention_rollout", 0)
    import timm

    pooled = LoadedModel(spec="pooled-vit", model=freeze(timm.create_model(
        "vit_tiny_patch16_224", pretrained=False, global_pool="avg", class_token=False, img_size=32, num_classes=4)),
        preprocessing=Preprocessing(crop_size=32, resize_size=32), class_names=tuple("abcd"), device=torch.device("cpu"))
    ok, reason = applicable(pooled, "chefer")
    assert not ok and "class token" in reason, reason


def test_the_cli_lists_them_as_applicable_on_a_timm_vit(capsys):
    from interpret.cli import main

    assert main(["methods", "--model", "timm:vit_tiny_patch16_224", "--weights", "random", "--json"]) == 0
    listed = {entry["name"]: entry for entry in json.loads(capsys.readouterr().out)}
    for method in ("attention_rollout", "chefer"):
        assert listed[method]["applicable"] is True and listed[method]["reason"] is None


def test_nn_identity_is_not_a_vit():
    lm = LoadedModel(spec="identity", model=freeze(nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 2))),
                     preprocessing=Preprocessing(crop_size=8, resize_size=8), class_names=("a", "b"),
                     device=torch.device("cpu"))
    assert not applicable(lm, "attention_rollout")[0]
