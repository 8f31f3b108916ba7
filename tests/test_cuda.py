"""On a CUDA device every path gives the CPU's maps: one map, many maps in one request, a batch of images,
the masked-input methods and feature capture. Skipped where there is no GPU (the suite must pass without one);
benchmarks/gpu.sh runs these beside the GPU benchmarks."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from interpret.attribution import attribute
from interpret.attribution.batch import attribute_batch
from interpret.attribution.planner import attribute_many
from interpret.capture import capture_layers

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")

FAST = ["gradient", "grad_x_input", "gradcam", "gradcam_pp", "xgradcam", "layercam", "hirescam", "smoothgrad"]


@pytest.fixture(scope="module")
def pair():
    """The same random-weight ResNet-18 on the CPU and on the GPU, and one photo at 96 px."""
    from interpret.models import load_model
    from interpret.samples import load_sample

    cpu = load_model("torchvision:resnet18", weights="random", device="cpu")
    gpu = load_model("torchvision:resnet18", weights="random", device="cuda")
    x = torch.nn.functional.interpolate(cpu.preprocessing.to_tensor(load_sample("coffee").image), size=(96, 96),
                                        mode="bilinear")
    return cpu, gpu, x


def close(a: np.ndarray, b: np.ndarray) -> None:
    scale = float(np.abs(b).max()) or 1.0
    np.testing.assert_allclose(a / scale, b / scale, atol=2e-3)


def test_the_gpu_model_lives_on_the_gpu_and_predicts_as_the_cpu_model(pair):
    cpu, gpu, x = pair
    assert next(gpu.model.parameters()).device.type == "cuda"
    with torch.inference_mode():
        assert int(cpu.model(x).argmax()) == int(gpu.model(x.cuda()).argmax())


@pytest.mark.parametrize("method", FAST + ["occlusion", "scorecam", "integrated_gradients"])
def test_one_map_on_the_gpu_equals_the_cpu_map(pair, method):
    cpu, gpu, x = pair
    params = {"occlusion": {"window": 32, "stride": 32}, "integrated_gradients": {"steps": 8}}.get(method, {})
    close(attribute(gpu, x, method, 3, params=params).values, attribute(cpu, x, method, 3, params=params).values)


def test_many_maps_in_one_request_on_the_gpu_equal_the_cpu_maps(pair):
    cpu, gpu, x = pair
    ours, theirs = attribute_many(gpu, x, FAST, 3), attribute_many(cpu, x, FAST, 3)
    assert list(ours) == list(theirs) == FAST
    for method in FAST:
        close(ours[method].values, theirs[method].values)


def test_a_batch_on_the_gpu_equals_the_cpu_maps_image_by_image(pair):
    cpu, gpu, x = pair
    xs = torch.cat([x, x.flip(-1), x.flip(-2)])
    for method in ("gradient", "gradcam", "integrated_gradients"):
        got = attribute_batch(gpu, xs, method, [3, 5, 7], params={"steps": 8} if method == "integrated_gradients" else {})
        for i, a in enumerate(got):
            close(a.values, attribute(cpu, xs[i:i + 1], method, [3, 5, 7][i],
                                      params={"steps": 8} if method == "integrated_gradients" else {}).values)


def test_feature_capture_on_the_gpu_returns_the_cpu_activations(pair):
    cpu, gpu, x = pair
    got, _ = capture_layers(gpu, x.cuda(), ["layer3"])
    want, _ = capture_layers(cpu, x, ["layer3"])
    close(got["layer3"].float().cpu().numpy(), want["layer3"].numpy())
