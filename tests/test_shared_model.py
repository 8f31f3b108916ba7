"""One cached model serves many sessions at once: results never mix and nothing is left on it."""
from concurrent.futures import ThreadPoolExecutor

import torch

from interpret.attribution import Target, attribute
from interpret.capture import capture_layers
from interpret.layers import list_layers
from interpret.predict import probabilities


def untouched(lm) -> bool:
    modules = list(lm.model.modules())
    return (not lm.model.training
            and all(p.grad is None and not p.requires_grad for p in lm.model.parameters())
            and not any(m._forward_hooks or m._forward_pre_hooks or m._backward_hooks for m in modules))


def test_concurrent_captures_predictions_and_gradients_match_sequential_runs(resnet18, coffee):
    lm = resnet18
    photos = [coffee.image.rotate(angle) for angle in (0, 30, 60, 90)]
    xs = [lm.preprocessing.to_tensor(p) for p in photos]
    layers = ["layer1.0", "layer2.1", "layer3.0.bn1", "layer4"]

    def job(i: int):
        x, layer = xs[i % 4], layers[i % 4]
        captured, _ = capture_layers(lm, x, [layer])
        probs = probabilities(lm, x)
        grad = attribute(lm, x, "gradient", Target(i % 7)).values
        return captured[layer], probs, grad

    expected = [job(i) for i in range(8)]
    with ThreadPoolExecutor(8) as pool:
        for _ in range(2):
            results = list(pool.map(job, range(8)))
            for (a1, p1, g1), (a2, p2, g2) in zip(expected, results, strict=True):
                assert torch.allclose(a1, a2, atol=1e-5)
                assert torch.allclose(p1, p2, atol=1e-6)
                assert abs(g1 - g2).max() <= 1e-5 * max(1.0, abs(g1).max())
    assert untouched(lm)


def test_captured_activations_survive_in_place_relu(resnet18, coffee):
    x = resnet18.preprocessing.to_tensor(coffee.image)
    captured, _ = capture_layers(resnet18, x, ["bn1"])  # followed by an in-place ReLU in torchvision ResNets
    assert captured["bn1"].min() < 0
    assert untouched(resnet18)


def test_listing_layers_leaves_no_hooks(bundled):
    layers = list_layers(bundled)
    assert layers and layers[0].order == 0
    assert untouched(bundled)
