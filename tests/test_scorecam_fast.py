"""Score-CAM's exact shortcut: channels zero everywhere share one blank mask (scored once) and repeated channels
share theirs, the rest go in batches; the map stays the one computed channel by channel, and pytorch-grad-cam's."""
from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from interpret import limits
from interpret.attribution import Target, attribute
from interpret.attribution.base import Context
from interpret.attribution.cams import ScoreCAM, activations, distinct_masks

TARGET = 3


def channel_by_channel(ctx: Context) -> torch.Tensor:
    """Score-CAM as it was computed before the shortcut: one masked image per channel, 32 per forward."""
    a = activations(ctx)
    scores = []
    with torch.inference_mode():
        for start in range(0, a.shape[1], 32):
            maps = F.interpolate(a[0, start:start + 32][:, None], size=ctx.x.shape[-2:], mode="bilinear",
                                 align_corners=True)
            low, high = maps.amin((2, 3), keepdim=True), maps.amax((2, 3), keepdim=True)
            scores.append(ctx.score(ctx.lm.model(ctx.x * (maps - low) / (high - low + 1e-8))).float())
    return (torch.cat(scores).softmax(0)[:, None, None] * a[0]).sum(0).clamp_min(0)


def pytorch_grad_cam_map(model: torch.nn.Module, layer: str, ctx: Context) -> torch.Tensor:
    """pytorch-grad-cam's Score-CAM weights on our activations, summed as its BaseCAM does (before its resize)."""
    from pytorch_grad_cam import ScoreCAM as TheirScoreCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    a = activations(ctx).numpy()
    with TheirScoreCAM(model=model, target_layers=[model.get_submodule(layer)]) as cam:
        weights = cam.get_cam_weights(ctx.x.clone(), None, [ClassifierOutputTarget(TARGET)], a, None)
    return torch.from_numpy((weights[:, :, None, None] * a).sum(1)[0]).clamp_min(0)


def photo(lm, coffee, size: int) -> torch.Tensor:
    return F.interpolate(lm.preprocessing.to_tensor(coffee.image), size=(size, size), mode="bilinear")


def test_blank_and_repeated_channels_share_a_mask():
    maps = torch.tensor([[[0.0, 0.0]], [[1.0, 2.0]], [[0.0, 0.0]], [[1.0, 2.0]], [[3.0, 1.0]]])
    distinct, inverse = distinct_masks(maps)
    assert len(distinct) == 3
    assert torch.equal(distinct[inverse], maps)
    assert inverse[0] == inverse[2] and inverse[1] == inverse[3] and len(set(inverse.tolist())) == 3


@pytest.fixture(scope="module")
def resnet_case(resnet18, coffee):
    """Random ResNet-18 at 40 px, layer3 (256 channels on a 3 x 3 grid, 2 of them zero everywhere)."""
    ctx = Context(resnet18, photo(resnet18, coffee, 40), Target(TARGET), layer="layer3")
    return ctx, ScoreCAM().compute(ctx)


def test_score_cam_on_resnet18_equals_the_channel_by_channel_map_and_skips_blank_channels(resnet_case):
    ctx, fast = resnet_case
    blank = int((~activations(ctx)[0].flatten(1).any(1)).sum())
    assert blank > 0 and f"{blank} zero everywhere share one blank mask" in ctx.note
    assert "all 256 channels" in ctx.note
    np.testing.assert_allclose(fast.numpy(), channel_by_channel(ctx).numpy(), rtol=1e-5, atol=1e-6 * float(fast.max()))


def test_score_cam_on_resnet18_equals_pytorch_grad_cams(resnet18, resnet_case):
    ctx, fast = resnet_case
    model = copy.deepcopy(resnet18.model)
    theirs = pytorch_grad_cam_map(model, "layer3", ctx)
    np.testing.assert_allclose(fast.numpy(), theirs.numpy(), rtol=1e-5, atol=1e-6 * float(theirs.max()))


def test_score_cam_on_the_bundled_model_equals_the_channel_by_channel_map(bundled, coffee):
    ctx = Context(bundled, photo(bundled, coffee, 40), Target(TARGET), layer="bn2")
    fast = ScoreCAM().compute(ctx)
    assert "all 1280 channels" in ctx.note and "775 zero everywhere share one blank mask" in ctx.note
    np.testing.assert_allclose(fast.numpy(), channel_by_channel(ctx).numpy(), rtol=1e-5, atol=1e-6 * float(fast.max()))


def test_the_caption_names_the_channels_scored_and_an_approximation_as_such(resnet18, coffee, monkeypatch):
    x = photo(resnet18, coffee, 40)
    monkeypatch.setattr(limits, "MASKED_BATCH_BYTES", 1)  # one masked image per forward: the same map
    one_by_one = attribute(resnet18, x, "scorecam", TARGET, layer="layer4", params={"channels": 12})
    monkeypatch.undo()
    batched = attribute(resnet18, x, "scorecam", TARGET, layer="layer4", params={"channels": 12})
    caption = batched.caption()
    assert "channels=12" in caption and "top 12 of 512 channels by mean activation (an approximation)" in caption
    np.testing.assert_allclose(batched.values, one_by_one.values, rtol=1e-5, atol=1e-6 * float(np.abs(batched.values).max()))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_score_cam_on_cuda_equals_the_cpu_map(coffee):
    from interpret.models import load_model

    cpu = load_model("torchvision:resnet18", weights="random")
    gpu = copy.deepcopy(cpu.model).cuda()
    x = photo(cpu, coffee, 40)
    ctx_cpu = Context(cpu, x, Target(TARGET), layer="layer4")
    gpu_lm = type(cpu)(spec=cpu.spec, model=gpu, preprocessing=cpu.preprocessing, class_names=cpu.class_names,
                       device=torch.device("cuda"))
    ctx_gpu = Context(gpu_lm, x.cuda(), Target(TARGET), layer="layer4")
    np.testing.assert_allclose(ScoreCAM().compute(ctx_gpu).cpu().numpy(), ScoreCAM().compute(ctx_cpu).numpy(),
                               rtol=1e-3, atol=1e-4)
