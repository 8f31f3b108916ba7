"""One layer's activations: the right numbers, channels first, for CNNs, ViT tokens and linear layers,
and safe on a model shared by concurrent sessions."""
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch
from torchvision.models.feature_extraction import create_feature_extractor

from interpret.errors import LayerError
from interpret.features import grad_x_activation, layer_activations
from interpret.models import load_model
from test_shared_model import untouched


@pytest.fixture(scope="module")
def vit():
    return load_model("timm:vit_tiny_patch16_224", weights="random")


def test_a_cnn_layer_is_captured_as_channels_first_maps_equal_to_an_independent_extractor(resnet18, coffee):
    x = resnet18.preprocessing.to_tensor(coffee.image)
    acts = layer_activations(resnet18, x, "layer2.1")
    assert acts.spatial and acts.values.shape == (1, 128, 28, 28) and acts.values.dtype == np.float32
    with torch.inference_mode():
        reference = create_feature_extractor(resnet18.model, ["layer2.1"])(x)["layer2.1"].numpy()
    np.testing.assert_allclose(acts.values, reference, atol=1e-5)
    assert untouched(resnet18)


def test_a_reused_relu_shows_its_last_output_and_a_plain_layer_stops_the_pass_early(resnet18, coffee):
    x = resnet18.preprocessing.to_tensor(coffee.image)
    relu = layer_activations(resnet18, x, "layer1.0.relu")  # called twice per pass: the block's output is kept
    block = layer_activations(resnet18, x, "layer1.0")
    np.testing.assert_allclose(relu.values, block.values, atol=1e-6)
    assert block.logits is None  # the pass stopped at the layer
    assert relu.logits is not None  # a reused module needs the full pass
    with_logits = layer_activations(resnet18, x, "layer1.0", with_logits=True)
    np.testing.assert_array_equal(with_logits.values, block.values)
    assert with_logits.logits.shape == (1, 1000)


def test_vit_tokens_become_a_grid_without_the_class_token(vit, coffee):
    x = vit.preprocessing.to_tensor(coffee.image)
    acts = layer_activations(vit, x, "blocks.5")
    assert acts.kind == "tokens" and acts.raw_shape == (197, 192)
    assert acts.values.shape == (1, 192, 14, 14)
    with torch.inference_mode():
        tokens = vit.model.blocks[:6](vit.model.norm_pre(vit.model._pos_embed(vit.model.patch_embed(x))))
    patch = tokens[0, 1:, :]  # drop the class token; row-major 14 x 14 patches
    np.testing.assert_allclose(acts.values[0, :, 2, 5], patch[2 * 14 + 5].numpy(), atol=1e-4)
    assert untouched(vit)


def test_a_linear_layer_is_a_vector_of_units_equal_to_the_logits(resnet18, coffee):
    acts = layer_activations(resnet18, resnet18.preprocessing.to_tensor(coffee.image), "fc", with_logits=True)
    assert not acts.spatial and acts.values.shape == (1, 1000)
    np.testing.assert_allclose(acts.values, acts.logits, atol=1e-6)


def test_an_unknown_layer_is_a_clear_error(resnet18, coffee):
    with pytest.raises(LayerError, match="no layer named 'layer9'"):
        layer_activations(resnet18, resnet18.preprocessing.to_tensor(coffee.image), "layer9")
    assert untouched(resnet18)


def test_eight_concurrent_sessions_get_the_same_results_as_sequential_runs(resnet18, coffee):
    lm = resnet18
    xs = [lm.preprocessing.to_tensor(coffee.image.rotate(angle)) for angle in (0, 45, 90, 135)]
    layers = ["layer1.0", "layer2.1", "layer3.0.bn1", "layer4"]

    def job(i: int):
        x, layer = xs[i % 4], layers[i % 4]
        plain = layer_activations(lm, x, layer).values
        acts, scores = grad_x_activation(lm, x, layer, i % 5)
        return plain, acts.values, scores

    expected = [job(i) for i in range(8)]
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(job, range(8)))
    for want, got in zip(expected, results, strict=True):
        for a, b in zip(want, got, strict=True):
            np.testing.assert_allclose(a, b, atol=1e-5, rtol=1e-5)
    assert untouched(lm)
