"""interpret.layers: every layer in forward order with its real output shape, and the default layers."""
import numpy as np
import pytest
import torch
from torchvision.models.feature_extraction import create_feature_extractor

from interpret.errors import LayerError
from interpret.layers import called_once, default_cam_layer, default_feature_layer, layer_info, list_layers
from interpret.models import load_model
from test_shared_model import untouched


def test_resnet_layers_come_in_forward_order_with_the_shapes_of_a_real_pass(resnet18):
    layers = list_layers(resnet18)
    names = [layer.name for layer in layers]
    assert names[:4] == ["conv1", "bn1", "relu", "maxpool"] and names[-2:] == ["avgpool", "fc"]
    assert [layer.order for layer in layers] == list(range(len(layers)))
    assert names.index("layer1.0.conv2") < names.index("layer1.1") < names.index("layer2.0.downsample.0")
    chosen = ["layer1.0", "layer2.0.downsample.0", "layer3.1.bn2", "layer4", "avgpool", "fc"]
    with torch.inference_mode():
        outputs = create_feature_extractor(resnet18.model, chosen)(torch.zeros(1, 3, 224, 224))
    for name in chosen:
        assert layer_info(resnet18, name).output_shape == tuple(outputs[name].shape[1:])
    assert layer_info(resnet18, "conv1").params == 3 * 64 * 7 * 7
    assert layer_info(resnet18, "fc").params == 512 * 1000 + 1000
    assert layer_info(resnet18, "layer4").spatial == "nchw" and layer_info(resnet18, "fc").spatial is None
    assert layer_info(resnet18, "layer2.0.downsample.0").depth == 3
    assert layer_info(resnet18, "layer1.0.relu").calls == 2 and layer_info(resnet18, "layer1.0.conv1").calls == 1
    assert called_once(resnet18, "layer1.0") and not called_once(resnet18, "layer1.0.relu")
    assert not called_once(resnet18, "no.such.layer")
    assert untouched(resnet18)


def test_the_listing_is_computed_once_per_model(resnet18):
    assert list_layers(resnet18) is list_layers(resnet18)


def test_default_layers_for_a_cnn_and_the_bundled_model(resnet18, bundled):
    assert default_feature_layer(resnet18) == "layer2.1"  # a middle block, as in the origin article
    assert default_cam_layer(resnet18) == "layer4"  # the last spatial output
    last_spatial = [layer for layer in list_layers(bundled) if layer.spatial][-1]
    assert default_cam_layer(bundled) == last_spatial.name
    assert default_feature_layer(bundled) == "blocks.3.2"


def test_a_vit_gets_token_grids_and_a_cam_layer_inside_its_last_block():
    vit = load_model("timm:vit_tiny_patch16_224", weights="random")
    assert layer_info(vit, "blocks.5").spatial == "tokens" and layer_info(vit, "blocks.5").output_shape == (197, 192)
    assert default_cam_layer(vit) == "blocks.11.norm1"  # after the last block only the class token reaches the head
    assert default_feature_layer(vit) == "blocks.5"


def test_a_torchscript_model_has_no_listed_layers(tmp_path):
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1),
                              torch.nn.Flatten(), torch.nn.Linear(4, 2))
    path = tmp_path / "tiny.pt"
    torch.jit.script(net).save(str(path))
    lm = load_model(str(path), class_names=("no", "yes"), trust_code=True)
    assert list_layers(lm) == () and default_cam_layer(lm) is None and default_feature_layer(lm) is None


def test_an_unknown_layer_is_a_clear_error(resnet18):
    with pytest.raises(LayerError, match="no layer named 'layer9'"):
        layer_info(resnet18, "layer9")


def test_the_structure_tree_lists_each_parent_before_its_children(resnet18):
    """The defect: Feature maps' 'Model structure' listed layer1.0.conv1 ... layer1.0 ... layer1, children before
    their parents (the order layers finish running). A tree reads parent first, siblings in the order they run."""
    from interpret.ui.feature_view import layer_tree_rows

    rows = layer_tree_rows(list_layers(resnet18))
    names = [r["name"] for r in rows]
    assert names[:8] == ["conv1", "bn1", "relu", "maxpool", "layer1", "layer1.0", "layer1.0.conv1", "layer1.0.bn1"]
    for i, name in enumerate(names):  # every parent is above its children
        if "." in name:
            assert names.index(name.rsplit(".", 1)[0]) < i, name
    assert names.index("layer4") < names.index("avgpool") < names.index("fc")
    assert [r["module"] for r in rows[4:7]] == ["layer1", "│ └ 0", "│ │ └ conv1"]


def test_a_classifier_layers_top_units_are_its_largest_whatever_the_channel_sort(bundled):
    """The defect: in the default 'channel index' sort, the classifier layer's 'top 20 units' were classes 0-19. A
    bar chart of a layer's top units shows the largest ones; another chosen sort (max, drive) is kept."""
    from interpret.features.activations import layer_activations
    from interpret.features.ranking import channel_order
    from interpret.samples import load_sample
    from interpret.ui.feature_view import top_units

    photo = load_sample("coffee")
    values = layer_activations(bundled, bundled.preprocessing.to_tensor(photo.image), "classifier").image(0)
    chosen, how = top_units(values, channel_order(values, "index"), "index")
    assert how == "by activation" and len(chosen) == 20
    assert int(chosen[0]) == int(np.argmax(values)) and bundled.label(int(chosen[0])) == "espresso"
    assert np.all(np.diff(values[chosen]) <= 0) and values[chosen[-1]] >= np.sort(values)[-20]
    order = channel_order(values, "max")
    assert list(top_units(values, order, "max")[0]) == list(order[:20])
