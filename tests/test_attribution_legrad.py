"""LeGrad equals torchcam's `LeGrad` on a torchvision ViT, and the published formula on the attention weights of an
unfused timm copy and of transformers' eager attention, while the shared model keeps its fused attention; batches give
the maps of single images; models without a readable class-token attention are refused with the reason."""
from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from interpret.attribution import Target, attribute, get_method
from interpret.attribution.base import Context
from interpret.attribution.batch import attribute_batch
from interpret.attribution.requirements import applicable
from interpret.models.loaded import LoadedModel, freeze
from interpret.preprocess import Preprocessing

TARGET = 3


def relative(ours: torch.Tensor, reference: torch.Tensor) -> float:
    return float((ours - reference).abs().max() / reference.abs().max())


def loaded(model: nn.Module, size: int, classes: int = 5) -> LoadedModel:
    return LoadedModel(spec=f"legrad-{type(model).__name__}", model=freeze(model),
                       preprocessing=Preprocessing(crop_size=size, resize_size=size),
                       class_names=tuple(f"c{i}" for i in range(classes)), device=torch.device("cpu"))


@pytest.fixture(scope="module")
def torchvision_vit() -> tuple[LoadedModel, nn.Module]:
    """A small torchvision ViT (3 blocks) and a trainable copy of it for torchcam."""
    from torchvision.models.vision_transformer import VisionTransformer

    torch.manual_seed(0)
    model = VisionTransformer(image_size=32, patch_size=8, num_layers=3, num_heads=4, hidden_dim=32, mlp_dim=64,
                              num_classes=5)
    nn.init.normal_(model.heads.head.weight)  # torchvision starts the head at zero: every gradient would be zero
    peer = copy.deepcopy(model).eval()
    return loaded(model, 32), peer


@pytest.mark.parametrize("blocks", [1, 2, 3])
def test_equals_torchcam_legrad_on_a_torchvision_vit(torchvision_vit, blocks):
    from torchcam.methods import LeGrad

    lm, peer = torchvision_vit
    x = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(2))
    with LeGrad(peer, list(peer.encoder.layers)[-blocks:]) as extractor:
        expected = extractor(TARGET, peer(x.clone()), normalized=False)[0][0]
    ctx = Context(lm, x, Target(TARGET))
    ours = get_method("legrad").compute(ctx, blocks=blocks)
    assert relative(ours, expected) <= 1e-5, relative(ours, expected)
    assert float(expected.std()) > 0
    assert ctx.note == ("all 3 blocks" if blocks == 3 else f"the last {blocks} of 3 blocks")
    assert not any(m._forward_hooks or m._forward_pre_hooks for m in peer.modules())  # torchcam's removed too


def reference(attentions: list[torch.Tensor], scores: list[torch.Tensor], prefix: int) -> torch.Tensor:
    """LeGrad's formula: per block, relu(d s_l / d A_l) averaged over heads and queries, the patch keys, averaged
    over the blocks (attentions: 1 x heads x N x N each, in the graph of the block scores s_l)."""
    maps = []
    for a, s in zip(attentions, scores, strict=True):
        (grad,) = torch.autograd.grad(s, a, retain_graph=True)
        maps.append(grad.clamp_min(0).mean((1, 2))[0, prefix:])
    row = torch.stack(maps).mean(0)
    side = int(row.numel() ** 0.5)
    return row.reshape(side, side)


def test_timm_vit_with_fused_attention_matches_the_formula_on_an_unfused_copy(gelu_vit):
    assert all(block.attn.fused_attn for block in gelu_vit.model.blocks)
    x = torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(5))
    model = copy.deepcopy(gelu_vit.model)
    kept: list[torch.Tensor] = []
    for block in model.blocks:
        block.attn.fused_attn = False
        block.attn.attn_drop.register_forward_hook(lambda m, args, out: kept.append(out) or None)
    outputs: list[torch.Tensor] = []
    for block in model.blocks:
        block.register_forward_hook(lambda m, args, out: outputs.append(out) or None)
    with torch.enable_grad():
        model(x.clone().requires_grad_(True))
        scores = [model.forward_head(model.norm(t.mean(1, keepdim=True)))[0, TARGET] for t in outputs]
        expected = reference(kept[-4:], scores[-4:], prefix=1)
    ours = get_method("legrad").compute(Context(gelu_vit, x, Target(TARGET)), blocks=4)
    assert relative(ours, expected) <= 1e-5, relative(ours, expected)
    assert all(block.attn.fused_attn for block in gelu_vit.model.blocks)


def test_transformers_vit_matches_the_formula_on_eager_attention_weights(tmp_path):
    transformers = pytest.importorskip("transformers")
    from interpret.models import load_model

    torch.manual_seed(0)
    model = transformers.ViTForImageClassification(transformers.ViTConfig(
        image_size=32, patch_size=8, hidden_size=32, num_hidden_layers=3, num_attention_heads=4,
        intermediate_size=64, num_labels=5, id2label={i: f"c{i}" for i in range(5)}))
    model.save_pretrained(tmp_path)
    transformers.ViTImageProcessor(size={"height": 32, "width": 32}).save_pretrained(tmp_path)
    lm = load_model(f"hf:{tmp_path}")
    assert lm.model.config._attn_implementation != "eager"  # the shared model computes attention fused
    eager = transformers.ViTForImageClassification.from_pretrained(tmp_path, attn_implementation="eager").eval()
    x = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    with torch.enable_grad():
        out = eager(pixel_values=x.clone().requires_grad_(True), output_attentions=True, output_hidden_states=True)
        scores = [eager.classifier(eager.vit.layernorm(h.mean(1)))[0, TARGET] for h in out.hidden_states[1:]]
        expected = reference(list(out.attentions), scores, prefix=1)
    ours = get_method("legrad").compute(Context(lm, x, Target(TARGET)), blocks=3)
    assert relative(ours, expected) <= 1e-5, relative(ours, expected)


def test_a_batch_gives_each_images_own_map(torchvision_vit):
    lm, _ = torchvision_vit
    xs = torch.randn(3, 3, 32, 32, generator=torch.Generator().manual_seed(3))
    batch = attribute_batch(lm, xs, "legrad", [1, TARGET, 4], batch_size=3)
    for i, target in enumerate([1, TARGET, 4]):
        alone = attribute(lm, xs[i:i + 1], "legrad", target)
        assert relative(torch.from_numpy(batch[i].values), torch.from_numpy(alone.values)) <= 1e-5


def test_refused_on_a_cnn_and_a_swin_with_the_reason(resnet18):
    from timm.models.swin_transformer import SwinTransformer

    ok, reason = applicable(resnet18, "legrad")
    assert not ok and reason.startswith("LeGrad:") and "no attention blocks it can read" in reason
    torch.manual_seed(0)
    swin = loaded(SwinTransformer(img_size=32, patch_size=4, embed_dim=16, depths=(1, 1), num_heads=(1, 2),
                                  window_size=4, num_classes=5), 32)
    ok, reason = applicable(swin, "legrad")
    assert not ok and "no attention blocks it can read" in reason
