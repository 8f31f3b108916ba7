"""Finer-CAM equals pytorch-grad-cam's `FinerCAM` and LayerCAM's fusion equals torchcam's `fuse_cams`, on a seeded
random ResNet-18 and the coffee photo; batches give the maps of single images, the fusion shares its layer passes
with the single-layer CAMs, and both refuse what they cannot explain with the reason."""
from __future__ import annotations

import copy

import cv2
import numpy as np
import pytest
import torch

from interpret.attribution import Target, attribute, get_method
from interpret.attribution.base import Context
from interpret.attribution.batch import attribute_batch
from interpret.attribution.passes import shared_passes
from interpret.attribution.requirements import MethodUnavailable, applicable
from interpret.errors import LayerError

TARGET = 3


@pytest.fixture(scope="module")
def photo(coffee, resnet18):
    return resnet18.preprocessing.to_tensor(coffee.image)  # 224 x 224, as the peers see it


def unit(values: np.ndarray) -> np.ndarray:
    values = values - values.min()
    return values / (values.max() + 1e-7)


def through_grad_cam_pipeline(cam: torch.Tensor, size: tuple[int, int]) -> np.ndarray:
    """Our low-resolution CAM as pytorch-grad-cam finishes one: scaled, cv2-resized, scaled again."""
    return unit(cv2.resize(unit(cam.detach().numpy()), size[::-1]))


@pytest.mark.parametrize("base", ["gradcam", "layercam", "gradcam_pp"])
def test_finer_cam_equals_pytorch_grad_cam(resnet18, trainable_resnet18, photo, base):
    import pytorch_grad_cam as pgc

    peer_base = {"gradcam": pgc.GradCAM, "layercam": pgc.LayerCAM, "gradcam_pp": pgc.GradCAMPlusPlus}[base]
    with pgc.FinerCAM(trainable_resnet18, [trainable_resnet18.layer4], base_method=peer_base) as cam:
        expected = cam(photo.clone(), target_idx=TARGET)[0]
    ctx = Context(resnet18, photo, Target(TARGET), layer="layer4")
    ours = get_method("finer_cam").compute(ctx, base=base)
    np.testing.assert_allclose(through_grad_cam_pipeline(ours, photo.shape[-2:]), expected, atol=1e-5)
    assert expected.std() > 0
    logits = resnet18.model(photo)[0]
    closest = (logits - logits[TARGET]).abs().argsort()[1:4]  # the three other classes with the closest scores
    assert ctx.note == "compared with " + ", ".join(f"'{resnet18.label(int(i))}'" for i in closest)


def test_finer_cam_with_a_contrast_class_compares_with_that_class_only(resnet18, trainable_resnet18, photo):
    import pytorch_grad_cam as pgc
    from pytorch_grad_cam.utils.model_targets import FinerWeightedTarget

    with pgc.FinerCAM(trainable_resnet18, [trainable_resnet18.layer4]) as cam:
        expected = cam(photo.clone(), targets=[FinerWeightedTarget(TARGET, [7], 0.5)])[0]
    ctx = Context(resnet18, photo, Target(TARGET, contrast=7), layer="layer4")
    ours = get_method("finer_cam").compute(ctx, alpha=0.5)
    np.testing.assert_allclose(through_grad_cam_pipeline(ours, photo.shape[-2:]), expected, atol=1e-5)
    assert f"'{resnet18.label(7)}' (the contrast class)" in ctx.note


def test_finer_cam_explains_the_class_score_of_a_model_with_other_classes(resnet18):
    ok, reason = applicable(resnet18, "finer_cam", "probability")
    assert not ok and reason.startswith("Finer-CAM: its rules hold for the class score only")
    assert applicable(resnet18, "finer_cam") == (True, "")
    from interpret.models.loaded import LoadedModel, freeze
    from interpret.preprocess import Preprocessing

    one = LoadedModel(spec="one-output", model=freeze(torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(),
                      torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(4, 1))),
                      preprocessing=Preprocessing(crop_size=32, resize_size=32), class_names=("yes",),
                      device=torch.device("cpu"), activation="sigmoid")
    ok, reason = applicable(one, "finer_cam")
    assert not ok and reason == "Finer-CAM: it compares the target with other classes, and this model has one output."


def test_fusion_equals_torchcams_fuse_cams(resnet18, photo):
    from torchcam.methods import LayerCAM

    frozen = copy.deepcopy(resnet18.model).eval()
    layers = ["layer2.1", "layer3.1", "layer4"]
    with LayerCAM(frozen, layers) as extractor, torch.enable_grad():
        cams = extractor(TARGET, frozen(photo.clone().requires_grad_(True)))
        expected = LayerCAM.fuse_cams(cams)[0]
    ctx = Context(resnet18, photo, Target(TARGET), layer="layer4")
    ours = get_method("layercam_fusion").compute(ctx)
    assert ours.shape == expected.shape == (28, 28)
    assert float((ours - expected).abs().max()) <= 1e-5
    assert ctx.note == "fused layer2.1 (28x28), layer3.1 (14x14), layer4 (7x7)"
    two = Context(resnet18, photo, Target(TARGET), layer="layer4")
    get_method("layercam_fusion").compute(two, stages=2, gamma=1.0)
    assert two.note == "fused layer3.1 (14x14), layer4 (7x7)"


def test_one_request_for_the_fusion_and_a_cam_of_its_layer_runs_one_forward(resnet18, photo):
    from interpret.attribution.planner import attribute_many

    assert applicable(resnet18, "gradcam")[0] and applicable(resnet18, "layercam_fusion")[0]  # probes run before
    calls = []
    handle = resnet18.model.conv1.register_forward_hook(lambda *_: calls.append(1))
    try:
        maps = attribute_many(resnet18, photo, ["gradcam", "layercam_fusion"], TARGET, layer="layer4")
    finally:
        handle.remove()
    assert len(calls) == 1 and set(maps) == {"gradcam", "layercam_fusion"}


def test_fusion_shares_its_layer_passes_with_single_layer_cams(resnet18, photo):
    alone = attribute(resnet18, photo, "layercam", TARGET, layer="layer3.1").values
    with shared_passes() as cache:
        attribute(resnet18, photo, "layercam_fusion", TARGET, layer="layer4")
        hits = cache.hits
        shared = attribute(resnet18, photo, "layercam", TARGET, layer="layer3.1").values
        assert cache.hits == hits + 1  # the fusion's layer3.1 pass, not a new one
    np.testing.assert_allclose(shared, alone, rtol=1e-5, atol=1e-6 * float(np.abs(alone).max()))


def test_the_planner_groups_the_fusion_with_the_cams_of_its_layer():
    from interpret.attribution.planner import plan

    groups = plan(["gradcam", "layercam_fusion", "gradient"], layer="layer4")
    assert [g.methods for g in groups] == [["layercam_fusion", "gradcam"], ["gradient"]]  # its pass covers Grad-CAM's
    assert groups[0].passes == 1


def test_fusion_is_refused_on_one_resolution_and_without_finer_stages(resnet18, gelu_vit, photo):
    ok, reason = applicable(gelu_vit, "layercam_fusion")
    assert not ok and "its maps all have one resolution (14 x 14)" in reason
    with pytest.raises(MethodUnavailable, match="one resolution"):
        attribute(gelu_vit, photo, "layercam_fusion", TARGET)
    with pytest.raises(LayerError, match="No earlier stage has a finer map than 'layer1.0'"):
        attribute(resnet18, photo, "layercam_fusion", TARGET, layer="layer1.0")


@pytest.mark.parametrize("method", ["finer_cam", "layercam_fusion"])
def test_a_batch_gives_each_images_own_map(resnet18, method):
    xs = torch.randn(3, 3, 64, 64, generator=torch.Generator().manual_seed(4))
    targets = [1, TARGET, 1]
    batch = attribute_batch(resnet18, xs, method, targets, layer="layer4", batch_size=3)
    for i, target in enumerate(targets):
        alone = attribute(resnet18, xs[i:i + 1], method, target, layer="layer4").values
        np.testing.assert_allclose(batch[i].values, alone, rtol=1e-4, atol=1e-5 * float(np.abs(alone).max()))
