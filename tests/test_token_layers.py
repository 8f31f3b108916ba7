"""Transformer-style layers as maps, with no user code: ViT and DeiT tokens (class, distillation and
register tokens dropped), Swin's NHWC stages and token sequences, ConvNeXt's channels-last block insides,
transformers models behind their ModelOutput, and a torch.export program brought back to named layers.

Each layout is checked against an independent reading of the same tensor (pytorch-grad-cam's
reshape_transform, the module's own arithmetic, the eager network an export came from), and Grad-CAM on a
ViT and a Swin against pytorch-grad-cam. Small configurations with seeded random weights, 64 x 64 inputs.
"""
from __future__ import annotations

import copy

import cv2
import numpy as np
import pytest
import torch
import torchvision
import transformers
from timm.models.swin_transformer import SwinTransformer
from timm.models.vision_transformer import VisionTransformer

from interpret.attribution import Target, attribute, get_method
from interpret.attribution.base import Context
from interpret.capture import SCRIPTED, capture
from interpret.errors import InterpretError, LayerError
from interpret.features import grad_x_activation, layer_activations, visualize_channel
from interpret.layers import default_cam_layer, default_feature_layer, layer_grid, layer_info, list_layers, prefix_tokens
from interpret.models.loaded import LoadedModel, freeze
from interpret.models.outputs import with_logits
from interpret.preprocess import Preprocessing
from interpret.ui.feature_view import map_description, unit_labels
from test_shared_model import untouched

SIZE = 64
CLASSES = tuple(f"class {i}" for i in range(10))
TARGET = 3


def loaded(model: torch.nn.Module, spec: str) -> LoadedModel:
    """A frozen model (its logits picked out of a ModelOutput, layer names unchanged) ready for explanation."""
    torch.manual_seed(0)
    model = freeze(model)
    with torch.no_grad():
        probe = model(torch.zeros(1, 3, SIZE, SIZE))
    return LoadedModel(spec=spec, model=with_logits(model, probe, 1), preprocessing=Preprocessing(SIZE, SIZE),
                       class_names=CLASSES, device=torch.device("cpu"))


def seeded(build):
    torch.manual_seed(0)
    return build()


@pytest.fixture(scope="module")
def x():
    return torch.randn(1, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(0))


@pytest.fixture(scope="module")
def vit():
    return loaded(seeded(lambda: VisionTransformer(img_size=SIZE, patch_size=16, embed_dim=48, depth=2, num_heads=2,
                                                   num_classes=10)), "test:timm-vit")


@pytest.fixture(scope="module")
def swin():
    return loaded(seeded(lambda: SwinTransformer(img_size=SIZE, patch_size=4, window_size=4, embed_dim=24, depths=(1, 1),
                                                 num_heads=(1, 2), num_classes=10)), "test:timm-swin")


@pytest.fixture(scope="module")
def hf_vit():
    config = transformers.ViTConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                                    image_size=SIZE, patch_size=16, num_labels=10)
    return loaded(seeded(lambda: transformers.ViTForImageClassification(config)), "test:hf-vit")


def outputs(lm: LoadedModel, x: torch.Tensor, names: list[str]) -> dict[str, torch.Tensor]:
    with lm.lock, torch.inference_mode(), capture(lm.model, names) as captured:
        captured.run(x)
    return dict(captured)


def pytorch_grad_cam_vit_reshape(tensor: torch.Tensor, height: int = 4, width: int = 4) -> torch.Tensor:
    """pytorch-grad-cam's ViT example (tutorials/vision_transformers.md), verbatim but for the grid size."""
    result = tensor[:, 1:, :].reshape(tensor.size(0), height, width, tensor.size(2))
    return result.transpose(2, 3).transpose(1, 2)


def unit(values: np.ndarray) -> np.ndarray:
    values = values - values.min()
    return values / (values.max() + 1e-7)


PEERS = {"gradcam": "GradCAM", "gradcam_pp": "GradCAMPlusPlus", "xgradcam": "XGradCAM", "hirescam": "HiResCAM",
         "layercam": "LayerCAM"}


def grad_cam_difference(lm: LoadedModel, x: torch.Tensor, layer: str, reshape, method: str = "gradcam") -> float:
    """Largest difference between pytorch-grad-cam's map and ours, both through its pipeline (ReLU, scale, cv2 resize)."""
    import pytorch_grad_cam
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    peer = copy.deepcopy(lm.model).eval().requires_grad_(True)
    with getattr(pytorch_grad_cam, PEERS[method])(model=peer, target_layers=[peer.get_submodule(layer)],
                                                  reshape_transform=reshape) as cam:
        expected = cam(input_tensor=x.clone(), targets=[ClassifierOutputTarget(TARGET)])[0]
    ours = np.maximum(get_method(method).compute(Context(lm, x, Target(TARGET), layer=layer)).detach().numpy(), 0)
    assert ours.max() > 0  # not a blank map compared with a blank map
    return float(np.abs(unit(cv2.resize(unit(ours), (SIZE, SIZE))) - expected).max())


# ---------------------------------------------------------------- ViT and DeiT (timm)


def test_vit_tokens_are_the_patch_grid_without_the_class_token(vit, x):
    block = layer_info(vit, "blocks.1")
    assert (block.spatial, block.prefix, block.grid, block.channels) == ("tokens", 1, (4, 4), 48)
    assert layer_info(vit, "patch_embed").prefix == 0  # before the class token is prepended
    raw = outputs(vit, x, ["blocks.1", "patch_embed"])
    torch.testing.assert_close(block.as_grid(raw["blocks.1"]), pytorch_grad_cam_vit_reshape(raw["blocks.1"]), rtol=0, atol=0)
    torch.testing.assert_close(layer_grid(vit, "patch_embed", raw["patch_embed"]),
                               outputs(vit, x, ["patch_embed.proj"])["patch_embed.proj"], rtol=0, atol=0)
    assert map_description(block) == "▦ tokens 4×4, 1 prefix token dropped"


def test_attention_internals_and_pooled_outputs_are_not_offered_as_maps(vit):
    q = layer_info(vit, "blocks.0.attn.q_norm")  # N x heads x tokens x head features
    assert q.spatial is None and "not an image grid" in q.reason
    assert layer_info(vit, "head").spatial is None and layer_info(vit, "head").reason == "shape (10,): one value per unit"
    with pytest.raises(LayerError, match=r"'blocks.0.attn.q_norm' has no spatial output \(shape \(2, 17, 24\) is not"):
        attribute(vit, torch.zeros(1, 3, SIZE, SIZE), "gradcam", TARGET, layer="blocks.0.attn.q_norm")


def test_vit_default_cam_layer_is_the_first_norm_of_its_last_block(vit):
    # after the last block only the class token reaches the head; pytorch-grad-cam's example uses blocks[-1].norm1
    assert default_cam_layer(vit) == "blocks.1.norm1"
    assert default_feature_layer(vit) == "blocks.0"


@pytest.mark.parametrize("method", sorted(PEERS))
def test_vit_cams_equal_pytorch_grad_cam_with_its_reshape_transform(vit, x, method):
    assert grad_cam_difference(vit, x, "blocks.1.norm1", pytorch_grad_cam_vit_reshape, method) < 1e-6


def test_vit_grad_cam_runs_at_the_default_layer_and_leaves_the_model_untouched(vit, x):
    result = attribute(vit, x, "gradcam", TARGET)
    assert result.layer == "blocks.1.norm1" and result.values.shape == (SIZE, SIZE) and result.values.max() > 0
    assert untouched(vit)


def test_feature_visualisation_climbs_a_token_channel_through_the_grid_view(vit):
    result = visualize_channel(vit, "blocks.0", 5, steps=6, transforms=False)
    assert result.objective[-1] > result.objective[0]  # the gradient reaches the image through the reshape
    assert untouched(vit)


def test_register_and_distillation_tokens_are_counted_from_the_model():
    registers = seeded(lambda: VisionTransformer(img_size=SIZE, patch_size=16, embed_dim=48, depth=1, num_heads=2,
                                                 num_classes=10, reg_tokens=4))
    assert prefix_tokens(registers) == 5
    distilled = seeded(lambda: __import__("timm").create_model("deit_tiny_distilled_patch16_224", img_size=SIZE, depth=1,
                                                               embed_dim=48, num_heads=2, num_classes=10))
    lm = loaded(distilled, "test:deit-distilled")
    assert (layer_info(lm, "blocks.0").prefix, layer_info(lm, "blocks.0").output_shape) == (2, (18, 48))
    assert default_cam_layer(lm) == "blocks.0.norm1"
    acts = layer_activations(lm, torch.randn(1, 3, SIZE, SIZE), "blocks.0")
    assert acts.values.shape == (1, 48, 4, 4)


# ---------------------------------------------------------------- Swin and ConvNeXt (timm)


def test_swin_stages_are_nhwc_and_window_partitions_are_refused(swin, x):
    stage = layer_info(swin, "layers.1")
    assert (stage.spatial, stage.grid, stage.channels) == ("nhwc", (8, 8), 48)
    assert layer_info(swin, "layers.1.blocks.0.norm2").spatial == "tokens"  # N x 64 x C inside the block
    softmax = layer_info(swin, "layers.0.blocks.0.attn.softmax")  # windows x heads x 16 x 16
    assert softmax.spatial is None and "windows or heads, not the batch" in softmax.reason
    raw = outputs(swin, x, ["layers.1"])["layers.1"]
    torch.testing.assert_close(stage.as_grid(raw), raw.permute(0, 3, 1, 2), rtol=0, atol=0)
    assert default_cam_layer(swin) == "norm"  # the last stage's output, normalised: the last map before pooling
    assert grad_cam_difference(swin, x, "layers.1", lambda t: t.permute(0, 3, 1, 2)) < 1e-6


def test_convnext_block_insides_are_read_channels_last():
    from timm.models.convnext import ConvNeXt

    lm = loaded(seeded(lambda: ConvNeXt(depths=(1, 1, 1, 1), dims=(8, 16, 24, 32), num_classes=10)), "test:timm-convnext")
    block = lm.model.stages[0].blocks[0]
    norm = layer_info(lm, "stages.0.blocks.0.norm")  # 16 x 16 x 8: fewer channels than rows
    assert norm.spatial == "nhwc" and layer_info(lm, "stages.0.blocks.0").spatial == "nchw"
    x = torch.randn(1, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(2))
    raw = outputs(lm, x, ["stages.0.blocks.0.conv_dw", "stages.0.blocks.0.norm"])
    with torch.no_grad():
        expected = block.norm(raw["stages.0.blocks.0.conv_dw"].permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
    torch.testing.assert_close(norm.as_grid(raw["stages.0.blocks.0.norm"]), expected)
    assert default_cam_layer(lm) == "norm_pre"


# ---------------------------------------------------------------- transformers models


def test_transformers_vit_behind_its_model_output(hf_vit, x):
    assert default_cam_layer(hf_vit) == "vit.layers.1.layernorm_before"
    info = layer_info(hf_vit, "vit.layers.0")
    assert (info.spatial, info.prefix, info.grid) == ("tokens", 1, (4, 4))
    raw = outputs(hf_vit, x, ["vit.layers.0"])["vit.layers.0"]
    acts = layer_activations(hf_vit, x, "vit.layers.0")
    np.testing.assert_array_equal(acts.values, pytorch_grad_cam_vit_reshape(raw).numpy())
    assert grad_cam_difference(hf_vit, x, "vit.layers.1.layernorm_before", pytorch_grad_cam_vit_reshape) < 1e-6
    for method in ("gradcam", "layercam", "eigencam"):
        result = attribute(hf_vit, x, method, TARGET)
        assert result.layer == "vit.layers.1.layernorm_before" and result.values.max() > 0
    _, scores = grad_x_activation(hf_vit, x, "vit.layers.0", TARGET)  # after the last block only the class token counts
    assert scores.shape == (1, 32) and np.abs(scores).max() > 0
    head = layer_activations(hf_vit, x, "classifier")
    assert head.unit_names == CLASSES and unit_labels(head, np.array([3]))[0] == "#3 · class 3"
    assert layer_activations(hf_vit, x, "vit.layers.0").unit_names is None


def test_transformers_swin_tokens_and_convnext_maps():
    swin = loaded(seeded(lambda: transformers.SwinForImageClassification(transformers.SwinConfig(
        image_size=SIZE, patch_size=4, embed_dim=16, depths=[1, 1], num_heads=[1, 2], window_size=4, num_labels=10))),
        "test:hf-swin")
    stage = layer_info(swin, "swin.encoder.layers.1")  # N x 64 x C
    assert (stage.spatial, stage.grid) == ("tokens", (8, 8))
    pooler = layer_info(swin, "swin.pooler")  # N x C x 1: 32 channels are not a grid of tokens
    assert pooler.spatial is None and "do not form an image grid" in pooler.reason
    assert default_cam_layer(swin) == "swin.layernorm"
    x = torch.randn(1, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(3))
    assert attribute(swin, x, "gradcam", TARGET).values.max() > 0

    # 16 channels at 16 x 16: the channels-last insides of a ConvNeXt layer cannot be told apart by shape
    convnext = loaded(seeded(lambda: transformers.ConvNextForImageClassification(transformers.ConvNextConfig(
        hidden_sizes=[16, 32], depths=[1, 1], num_stages=2, num_labels=10))), "test:hf-convnext")
    inside = "convnext.encoder.stages.0.layers.0"
    assert [layer_info(convnext, f"{inside}.{n}").spatial for n in ("dwconv", "layernorm", "pwconv2", "drop_path")] == \
        ["nchw", "nhwc", "nhwc", "nchw"]
    raw = outputs(convnext, x, [f"{inside}.pwconv2", f"{inside}.drop_path"])
    scale = convnext.model.get_submodule(inside).layer_scale_parameter
    torch.testing.assert_close(layer_grid(convnext, f"{inside}.drop_path", raw[f"{inside}.drop_path"]),
                               scale[None, :, None, None] * layer_grid(convnext, f"{inside}.pwconv2", raw[f"{inside}.pwconv2"]))
    assert default_cam_layer(convnext) == "convnext.encoder.stages.1"
    assert attribute(convnext, x, "gradcam", TARGET).values.max() > 0


# ---------------------------------------------------------------- torch.export, TorchScript


def exported(lm: LoadedModel) -> LoadedModel:
    """The model through torch.export (a dynamic batch, as the .pt2 loader asks) and back to named modules."""
    program = torch.export.export(copy.deepcopy(lm.model), (torch.zeros(2, 3, SIZE, SIZE),),
                                  dynamic_shapes=({0: torch.export.Dim("batch")},))
    return loaded(torch.export.unflatten(program), lm.spec + ".pt2")


def test_an_unflattened_export_has_named_layers_that_capture_hooks_reach(x):
    eager_lm = loaded(seeded(lambda: torchvision.models.resnet18(num_classes=10)), "test:resnet18")
    lm = exported(eager_lm)
    assert default_cam_layer(lm) == "layer4" and default_feature_layer(lm) == "layer2.1"
    assert layer_info(lm, "layer4").spatial == "nchw" and layer_info(lm, "layer4").output_shape == (512, 2, 2)
    raw = outputs(lm, x, ["layer4"])
    torch.testing.assert_close(raw["layer4"], outputs(eager_lm, x, ["layer4"])["layer4"])
    np.testing.assert_allclose(layer_activations(lm, x, "layer3").values, layer_activations(eager_lm, x, "layer3").values,
                               rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(attribute(lm, x, "gradcam", TARGET).values, attribute(eager_lm, x, "gradcam", TARGET).values,
                               rtol=1e-4, atol=1e-6)
    assert untouched(lm)


def test_an_exported_vit_keeps_its_class_token_and_its_cam_layer(vit, x):
    lm = exported(vit)  # no num_prefix_tokens attribute survives; the cls_token parameter does
    assert (layer_info(lm, "blocks.1").prefix, default_cam_layer(lm)) == (1, "blocks.1.norm1")
    np.testing.assert_allclose(attribute(lm, x, "gradcam", TARGET).values, attribute(vit, x, "gradcam", TARGET).values,
                               rtol=1e-4, atol=1e-6)


def test_a_torchscript_model_is_refused_with_one_clear_message(tmp_path, x):
    scripted = torch.jit.script(freeze(torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(),
                                                           torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(),
                                                           torch.nn.Linear(4, 10))))
    lm = LoadedModel(spec="test:scripted", model=scripted, preprocessing=Preprocessing(SIZE, SIZE), class_names=CLASSES,
                     device=torch.device("cpu"), hookable=False)
    assert list_layers(lm) == ()
    for call in (lambda: layer_activations(lm, x, "0"), lambda: layer_info(lm, "0"),
                 lambda: capture(lm.model, ["0"]).__enter__()):
        with pytest.raises(LayerError) as refused:
            call()
        assert str(refused.value) == SCRIPTED
    with pytest.raises(InterpretError) as refused:
        attribute(lm, x, "gradcam", TARGET, layer="0")
    assert "get_submodule" not in str(refused.value) and "TorchScript" in str(refused.value)


def test_the_feature_maps_browser_says_why_a_torchscript_model_has_no_layers():
    from streamlit.testing.v1 import AppTest

    def page():
        import torch

        from interpret.models.loaded import LoadedModel
        from interpret.preprocess import Preprocessing
        from interpret.ui.feature_view import layer_browser

        net = torch.jit.script(torch.nn.Sequential(torch.nn.Conv2d(3, 2, 3), torch.nn.Flatten()).eval())
        lm = LoadedModel(spec="test:scripted", model=net, preprocessing=Preprocessing(64, 64), class_names=("a", "b"),
                         device=torch.device("cpu"), hookable=False)
        layer_browser(lm)

    at = AppTest.from_function(page, default_timeout=60).run()
    assert not at.exception and [info.value for info in at.info] == [SCRIPTED]
