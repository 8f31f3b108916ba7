"""Each method against the peer library that implements it, on a seeded random torchvision ResNet-18.

Peers run on their own copy of the same network (they register hooks and, for pytorch-grad-cam,
need parameter gradients), so the shared model our methods use stays untouched.
"""
from __future__ import annotations

import copy
import warnings

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from interpret.attribution import Target, attribute, get_method
from interpret.attribution.base import Context
from interpret.attribution.cams import activations, principal_projection

TARGET = 3
warnings.filterwarnings("ignore", module="captum")


@pytest.fixture(scope="module")
def peer(trainable_resnet18):
    return trainable_resnet18


@pytest.fixture(scope="module")
def x():
    return torch.randn(1, 3, 96, 96, generator=torch.Generator().manual_seed(0))


def unit(values: np.ndarray) -> np.ndarray:
    values = values - values.min()
    return values / (values.max() + 1e-7)


def as_grad_cam_library(ctx: Context, method: str) -> np.ndarray:
    """Our low-resolution CAM through pytorch-grad-cam's own pipeline: ReLU, scale, cv2 resize, scale again."""
    cam = np.maximum(get_method(method).compute(ctx).detach().numpy(), 0)
    return unit(cv2.resize(unit(cam), tuple(ctx.x.shape[-2:][::-1])))


def test_gradient_matches_captum_saliency(resnet18, peer, x):
    from captum.attr import Saliency

    expected = Saliency(peer).attribute(x.clone(), target=TARGET, abs=False)[0].sum(0)
    np.testing.assert_allclose(attribute(resnet18, x, "gradient", TARGET).values, expected.numpy(), rtol=1e-4, atol=1e-6)


def test_gradient_x_input_matches_captum(resnet18, peer, x):
    from captum.attr import InputXGradient

    expected = InputXGradient(peer).attribute(x.clone(), target=TARGET)[0].sum(0).detach()
    np.testing.assert_allclose(attribute(resnet18, x, "grad_x_input", TARGET).values, expected.numpy(), rtol=1e-4, atol=1e-6)


def test_integrated_gradients_matches_captum(resnet18, peer, x):
    from captum.attr import IntegratedGradients

    black = resnet18.preprocessing.zero_pixel().expand_as(x).clone()
    expected = IntegratedGradients(peer).attribute(x.clone(), baselines=black, target=TARGET, n_steps=16, internal_batch_size=8)
    ours = attribute(resnet18, x, "integrated_gradients", TARGET, params={"steps": 16, "baseline": "black"}).values
    np.testing.assert_allclose(ours, expected[0].sum(0).detach().numpy(), rtol=1e-3, atol=1e-5)


@pytest.mark.parametrize("method", ["guided_backprop", "deconvolution"])
def test_modified_relu_methods_match_captum(resnet18, peer, x, method):
    from captum.attr import Deconvolution, GuidedBackprop

    peer_class = GuidedBackprop if method == "guided_backprop" else Deconvolution
    expected = peer_class(peer).attribute(x.clone(), target=TARGET)[0].sum(0).detach()
    np.testing.assert_allclose(attribute(resnet18, x, method, TARGET).values, expected.numpy(), rtol=1e-3, atol=1e-6)


def test_occlusion_matches_captum(resnet18, peer, x):
    from captum.attr import Occlusion

    with torch.no_grad():
        expected = Occlusion(peer).attribute(x.clone(), sliding_window_shapes=(3, 32, 32), strides=(3, 16, 16),
                                             baselines=0, target=TARGET, perturbations_per_eval=16)
    ours = attribute(resnet18, x, "occlusion", TARGET, params={"window": 32, "stride": 16, "fill": "mean"}).values
    np.testing.assert_allclose(ours, expected[0, 0].numpy(), rtol=1e-3, atol=1e-5)


def test_gradcam_matches_captum(resnet18, peer, x):
    from captum.attr import LayerGradCam

    cam = LayerGradCam(peer, peer.layer4).attribute(x.clone(), target=TARGET, relu_attributions=True).detach()
    expected = F.interpolate(cam, size=x.shape[-2:], mode="bilinear", align_corners=False)[0, 0]
    result = attribute(resnet18, x, "gradcam", TARGET, layer="layer4")
    assert result.layer == "layer4" and not result.signed
    np.testing.assert_allclose(result.values, expected.numpy(), rtol=1e-4, atol=1e-5)


def test_guided_gradcam_matches_captum(resnet18, peer, x):
    from captum.attr import GuidedGradCam

    expected = GuidedGradCam(peer, peer.layer4).attribute(x.clone(), target=TARGET, interpolate_mode="bilinear")
    ours = attribute(resnet18, x, "guided_gradcam", TARGET, layer="layer4").values
    np.testing.assert_allclose(ours, expected[0].sum(0).detach().numpy(), rtol=1e-3, atol=1e-5)


@pytest.mark.parametrize("method,peer_name,layer", [
    ("gradcam_pp", "GradCAMPlusPlus", "layer4"),
    ("xgradcam", "XGradCAM", "layer4"),
    ("hirescam", "HiResCAM", "layer4"),
    ("layercam", "LayerCAM", "layer3"),
    ("scorecam", "ScoreCAM", "layer3"),
])
def test_cams_match_pytorch_grad_cam(resnet18, peer, x, method, peer_name, layer):
    import pytorch_grad_cam
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    small = x[..., :48, :48] if method == "scorecam" else x  # Score-CAM: one forward per channel
    with getattr(pytorch_grad_cam, peer_name)(model=peer, target_layers=[peer.get_submodule(layer)]) as cam:
        expected = cam(input_tensor=small.clone(), targets=[ClassifierOutputTarget(TARGET)])[0]
    ctx = Context(resnet18, small, Target(TARGET), layer=layer)
    np.testing.assert_allclose(as_grad_cam_library(ctx, method), expected, atol=2e-3)
    if method == "scorecam":
        return  # the public call below runs the same code: spare 256 more forward passes
    # and the public call gives that map, upsampled
    values = attribute(resnet18, small, method, TARGET, layer=layer).values
    assert np.corrcoef(unit(values).ravel(), expected.ravel())[0, 1] > 0.98


def test_eigencam_is_pytorch_grad_cam_projection_with_a_fixed_sign(resnet18, x):
    from pytorch_grad_cam.utils.svd_on_activations import get_2d_projection

    a = activations(Context(resnet18, x, Target(TARGET), layer="layer4"))
    theirs = torch.from_numpy(get_2d_projection(a.numpy()))[0]
    ours = principal_projection(a)
    sign = 1.0 if float((ours * theirs).sum()) >= 0 else -1.0
    np.testing.assert_allclose(ours.numpy(), sign * theirs.numpy(), rtol=1e-3, atol=1e-3 * float(theirs.abs().max()))
    # the sign makes strongly activated regions positive
    total = a[0].sum(0)
    assert float(((ours - ours.mean()) * (total - total.mean())).sum()) >= 0


# ---------------------------------------------------------------- full resolution, four kinds of network
# ResNet-18 (ReLU, reused modules, max pooling), the bundled EfficientNet-Lite0 (ReLU6), timm EfficientNet-B0 (SiLU,
# squeeze-excitation) and a timm ViT-Tiny (GELU, attention, tokens), random weights, one photo at 224 px. The peer
# runs on its own copy; agreement is within float32 rounding of the largest value.
KINDS = ("resnet18", "bundled", "silu_effnet", "gelu_vit")


def close(ours: np.ndarray, theirs: np.ndarray, tolerance: float = 2e-5) -> None:
    """Equal within `tolerance` of the larger map's largest magnitude (float32 sums over a full network)."""
    scale = max(float(np.abs(theirs).max()), 1e-12)
    assert float(np.abs(ours - theirs).max()) <= tolerance * scale, float(np.abs(ours - theirs).max()) / scale


@pytest.fixture(scope="module")
def photo(coffee, resnet18):
    return resnet18.preprocessing.to_tensor(coffee.image)  # every kind here sees 224 x 224 (its crop)


def frozen_copy(lm) -> torch.nn.Module:
    return copy.deepcopy(lm.model).eval()


@pytest.mark.parametrize("kind", KINDS)
def test_gradient_matches_captum_on_every_kind(request, photo, kind):
    """The gradient every gradient method builds on (IG, SmoothGrad, ... batch the same call)."""
    from captum.attr import Saliency

    lm = request.getfixturevalue(kind)
    close(attribute(lm, photo, "gradient", TARGET).values,
          Saliency(frozen_copy(lm)).attribute(photo.clone(), target=TARGET, abs=False)[0].sum(0).numpy())


@pytest.mark.parametrize("kind", ["resnet18", "bundled", "silu_effnet"])
def test_gradcam_matches_captum_on_convolutional_kinds(request, photo, kind):
    from captum.attr import LayerGradCam

    from interpret.layers import default_cam_layer

    lm = request.getfixturevalue(kind)
    layer = default_cam_layer(lm)
    peer = frozen_copy(lm)
    cam = LayerGradCam(peer, peer.get_submodule(layer)).attribute(photo.clone(), target=TARGET,
                                                                  relu_attributions=True).detach()
    expected = F.interpolate(cam, size=photo.shape[-2:], mode="bilinear", align_corners=False)[0, 0].numpy()
    close(attribute(lm, photo, "gradcam", TARGET, layer=layer).values, expected)


def test_gradcam_matches_pytorch_grad_cam_on_a_vit(gelu_vit, photo):
    """ViT tokens as a 14 x 14 grid (class token dropped), at the default layer (the last block's first norm)."""
    import pytorch_grad_cam
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    from interpret.layers import default_cam_layer

    layer = default_cam_layer(gelu_vit)
    assert layer == "blocks.11.norm1"
    peer = frozen_copy(gelu_vit)
    for p in peer.parameters():
        p.requires_grad_(True)

    def tokens_to_grid(t: torch.Tensor) -> torch.Tensor:
        return t[:, 1:].reshape(t.shape[0], 14, 14, t.shape[2]).permute(0, 3, 1, 2)

    with pytorch_grad_cam.GradCAM(model=peer, target_layers=[peer.get_submodule(layer)],
                                  reshape_transform=tokens_to_grid) as cam:
        expected = cam(input_tensor=photo.clone(), targets=[ClassifierOutputTarget(TARGET)])[0]
    ctx = Context(gelu_vit, photo, Target(TARGET), layer=layer)
    np.testing.assert_allclose(as_grad_cam_library(ctx, "gradcam"), expected, atol=1e-5)


def relu6_as_relu_and_clip(model: torch.nn.Module) -> torch.nn.Module:
    """ReLU6 = min(ReLU(x), 6) with an nn.ReLU module Captum hooks, and the clip as plain autograd."""
    class Clip6(torch.nn.Module):
        def forward(self, x):
            return x.clamp(max=6.0)

    from interpret.attribution.rewrite import replace_modules

    return replace_modules(model, lambda m: isinstance(m, torch.nn.ReLU6),
                           lambda m: torch.nn.Sequential(torch.nn.ReLU(), Clip6()))


@pytest.mark.parametrize("method", ["guided_backprop", "deconvolution"])
def test_modified_relu_methods_match_captum_at_full_resolution(resnet18, photo, method):
    from captum.attr import Deconvolution, GuidedBackprop

    peer_class = GuidedBackprop if method == "guided_backprop" else Deconvolution
    expected = peer_class(frozen_copy(resnet18)).attribute(photo.clone(), target=TARGET)[0].sum(0).detach().numpy()
    close(attribute(resnet18, photo, method, TARGET).values, expected)


def test_guided_backprop_on_relu6_matches_captum_on_relu_then_clip(bundled, photo):
    """Guided ReLU6: the positive signal where 0 < x < 6, which is Captum's guided ReLU followed by the clip's gradient."""
    from captum.attr import GuidedBackprop

    peer = relu6_as_relu_and_clip(frozen_copy(bundled))
    expected = GuidedBackprop(peer).attribute(photo.clone(), target=TARGET)[0].sum(0).detach().numpy()
    close(attribute(bundled, photo, "guided_backprop", TARGET).values, expected)


def test_deconvolution_on_relu6_matches_captum_on_relus(bundled, photo):
    """Deconvolution ignores the forward pass at every unit, so on a conv/BN/ReLU6 network it is Captum's
    Deconvolution of the same network with ReLUs (the backward never reads a forward value)."""
    from captum.attr import Deconvolution

    from interpret.attribution.rewrite import replace_modules

    peer = replace_modules(frozen_copy(bundled), lambda m: isinstance(m, torch.nn.ReLU6), lambda m: torch.nn.ReLU())
    expected = Deconvolution(peer).attribute(photo.clone(), target=TARGET)[0].sum(0).detach().numpy()
    close(attribute(bundled, photo, "deconvolution", TARGET).values, expected)


class _Pooled(torch.nn.Module):
    """Average pooling and a linear head: Occlusion's windows are what is tested, so its forward passes are cheap."""

    def __init__(self, size: int):
        super().__init__()
        torch.manual_seed(0)
        self.pool = torch.nn.AvgPool2d(8)
        self.head = torch.nn.Linear(3 * (size // 8) ** 2, 5)

    def forward(self, x):
        return self.head(self.pool(x).flatten(1))


@pytest.mark.parametrize("size,window,stride", [(224, 48, 20), (299, 32, 16)])
def test_occlusion_matches_captum_for_any_window_and_stride(size, window, stride):
    """(side - window) need not be a multiple of the stride: Captum's last window is cut at the border, so every
    pixel is covered (the old placement left 16 px at 224/48/20 and 11 px at 299/32/16 at zero)."""
    from captum.attr import Occlusion

    from interpret.models.loaded import LoadedModel, freeze
    from interpret.preprocess import Preprocessing

    lm = LoadedModel(spec="pooled", model=freeze(_Pooled(size)), preprocessing=Preprocessing(crop_size=size, resize_size=size),
                     class_names=tuple("abcde"), device=torch.device("cpu"))
    x = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = Occlusion(lm.model).attribute(x.clone(), sliding_window_shapes=(3, window, window),
                                                 strides=(3, stride, stride), baselines=0, target=2,
                                                 perturbations_per_eval=64)[0, 0].numpy()
    ours = attribute(lm, x, "occlusion", 2, params={"window": window, "stride": stride, "fill": "mean"}).values
    close(ours, expected, 1e-5)
    assert np.all(ours[-2:, :] != 0) and np.all(ours[:, -2:] != 0)  # the far borders are covered too
