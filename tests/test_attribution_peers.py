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
def peer(resnet18):
    """The same weights as `resnet18`, trainable, for libraries that back-propagate into parameters."""
    model = copy.deepcopy(resnet18.model).eval()
    for p in model.parameters():
        p.requires_grad_(True)
    return model


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
