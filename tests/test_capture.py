"""interpret.capture: the one hook mechanism. Right outputs, a stop that really skips the rest of the
network, other threads untouched, and no hook left behind whatever happens in the block."""
import threading

import pytest
import torch
import torchvision
from torchvision.models.feature_extraction import create_feature_extractor

from interpret.capture import capture, capture_layers
from interpret.errors import LayerError
from test_shared_model import untouched


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    return torchvision.models.resnet18().eval().requires_grad_(False)


@pytest.fixture(scope="module")
def x():
    return torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(1))


class Calls:
    """Counts the forward calls of one module (registered and removed by the test itself)."""

    def __init__(self, module: torch.nn.Module):
        self.count = 0
        self.handle = module.register_forward_pre_hook(self._seen)

    def _seen(self, module, args):
        self.count += 1

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.handle.remove()


def test_captured_outputs_equal_an_independent_feature_extractor(net, x):
    with torch.inference_mode():
        reference = create_feature_extractor(net, ["layer1.0", "layer3"])(x)
        with capture(net, ["layer1.0", "layer3"]) as captured:
            logits = captured.run(x)
    assert logits.shape == (1, 1000) and not captured.stopped
    for name in ("layer1.0", "layer3"):
        torch.testing.assert_close(captured[name], reference[name])
    assert captured.order == ["layer1.0", "layer3"]
    assert captured.shapes["layer3"] == (1, 256, 4, 4)


def test_stop_ends_the_pass_after_the_last_requested_layer(net, x):
    with Calls(net.layer4) as later, Calls(net.fc) as head, Calls(net.layer1) as earlier:
        with torch.inference_mode(), capture(net, ["layer2", "layer1"], stop=True) as captured:
            out = captured.run(x)
    assert out is None and captured.stopped
    assert set(captured) == {"layer1", "layer2"}
    assert earlier.count == 1 and later.count == 0 and head.count == 0
    assert not any(m._forward_hooks for m in net.modules())


def test_a_reused_module_keeps_its_last_output_and_a_stop_ends_at_its_first(net, x):
    # torchvision's BasicBlock: relu(bn1(conv1(x))), later relu(out + identity) with the same module
    with torch.inference_mode(), capture(net, ["layer1.0.relu", "layer1.0.bn1", "layer1.0"]) as full:
        full.run(x)
    assert full.calls == {"layer1.0.bn1": 1, "layer1.0.relu": 2, "layer1.0": 1}
    torch.testing.assert_close(full["layer1.0.relu"], full["layer1.0"])  # the last call is the block's output
    with torch.inference_mode(), capture(net, ["layer1.0.relu"], stop=True) as early:
        early.run(x)
    torch.testing.assert_close(early["layer1.0.relu"], full["layer1.0.bn1"].clamp_min(0))  # the first call
    assert early.calls == {"layer1.0.relu": 1}


def test_a_bare_call_in_a_stopping_block_leaves_the_block(net, x):
    reached_the_end = False
    with torch.inference_mode(), capture(net, ["layer1"], stop=True) as captured:
        net(x)
        reached_the_end = True  # skipped: the pass stopped inside net(x)
    assert not reached_the_end and captured.stopped and "layer1" in captured


def test_stopped_activations_equal_a_full_pass_and_have_no_logits(resnet18, coffee):
    x = resnet18.preprocessing.to_tensor(coffee.image)
    full, logits = capture_layers(resnet18, x, ["layer2.1"])
    early, none = capture_layers(resnet18, x, ["layer2.1"], stop=True)
    assert logits.shape == (1, 1000) and none is None
    torch.testing.assert_close(early["layer2.1"], full["layer2.1"])
    assert untouched(resnet18)


def test_keep_graph_gives_gradients_to_the_input_and_keep_leaf_stops_at_the_layer(net, x):
    inputs = x.clone().requires_grad_(True)
    with torch.enable_grad():
        with capture(net, ["layer2"], keep="graph") as graph:
            logits = graph.run(inputs)
        (d_layer,) = torch.autograd.grad(logits[0, 7], graph["layer2"], retain_graph=True)
        (d_input,) = torch.autograd.grad(logits[0, 7], inputs)
        with capture(net, ["layer2"], keep="leaf") as leaf:
            leaf_logits = leaf.run(x)
        assert leaf["layer2"].is_leaf and leaf["layer2"].requires_grad
        (d_leaf,) = torch.autograd.grad(leaf_logits[0, 7], leaf["layer2"])
    assert d_input.abs().sum() > 0
    torch.testing.assert_close(d_leaf, d_layer)
    torch.testing.assert_close(leaf_logits, logits)


def test_clones_survive_the_next_in_place_relu(net, x):
    with torch.inference_mode(), capture(net, ["bn1"]) as captured:
        captured.run(x)
    assert captured["bn1"].min() < 0  # torchvision's relu(inplace=True) follows bn1


def test_shape_only_records_order_and_shapes_but_keeps_no_tensors(net, x):
    names = [n for n, _ in net.named_modules() if n]
    with torch.inference_mode(), capture(net, names, keep="shape") as captured:
        captured.run(x)
    assert len(captured) == 0
    assert captured.order[0] == "conv1" and captured.order[-1] == "fc"
    assert captured.order.index("layer1.0.conv1") < captured.order.index("layer1.0.bn1") < captured.order.index("layer2")
    assert captured.shapes["avgpool"] == (1, 512, 1, 1)


def test_other_threads_pass_through_untouched_and_are_never_stopped(net, x):
    with torch.inference_mode():
        expected = net(x)
    result = {}

    def other_session():
        with torch.inference_mode():
            result["logits"] = net(x)

    with torch.inference_mode(), capture(net, ["layer1"], stop=True) as captured:
        thread = threading.Thread(target=other_session)
        thread.start()
        thread.join()
    assert "layer1" not in captured and not captured.stopped  # the other thread's pass recorded nothing
    torch.testing.assert_close(result["logits"], expected)


def test_no_hook_is_left_on_the_shared_model_after_an_error_in_the_block(resnet18, coffee):
    x = resnet18.preprocessing.to_tensor(coffee.image)
    with pytest.raises(RuntimeError, match="a failure inside the block"):
        with resnet18.lock, torch.inference_mode(), capture(resnet18.model, ["layer1", "layer4"]) as captured:
            captured.run(x)
            raise RuntimeError("a failure inside the block")
    assert untouched(resnet18)


def test_an_unknown_layer_is_refused_without_leaving_the_hooks_already_registered(resnet18, coffee):
    x = resnet18.preprocessing.to_tensor(coffee.image)
    with pytest.raises(LayerError, match="no layer named 'layer9'"):
        capture_layers(resnet18, x, ["layer1", "layer9"])
    assert untouched(resnet18)
    with pytest.raises(ValueError, match="keep must be one of"):
        with capture(resnet18.model, ["layer1"], keep="everything"):
            pass
