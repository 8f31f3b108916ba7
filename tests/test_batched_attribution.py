"""Maps of several images at once (one target each): the same maps as image by image, in batched passes."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from interpret.attribution import Target, attribute
from interpret.attribution.batch import activation_bytes, attribute_batch, batch_rows
from interpret.errors import InterpretError
from interpret.limits import MAX_BATCH_ROWS
from interpret.samples import load_sample

# different targets per image, one of them a contrast ("why class 3 rather than 5")
TARGETS = [281, Target(3, contrast=5)]


@pytest.fixture(scope="module")
def photos(resnet18):
    return torch.cat([resnet18.preprocessing.to_tensor(load_sample(name).image) for name in ("coffee", "chelsea")])


@pytest.mark.parametrize("method, params", [
    ("gradient", {}), ("grad_x_input", {}), ("gradcam", {}), ("integrated_gradients", {"steps": 3}),
    ("vargrad", {"samples": 3}),
])
def test_each_map_of_a_batch_is_the_map_of_its_image_alone(resnet18, photos, method, params):
    # two rows per pass: IG's path points and SmoothGrad's samples of one image spill into the next pass
    batch = attribute_batch(resnet18, photos, method, TARGETS, params=params, batch_size=2)
    assert len(batch) == len(photos)
    for i, result in enumerate(batch):
        alone = attribute(resnet18, photos[i:i + 1], method, TARGETS[i], params=params)
        assert (result.target, result.contrast) == (alone.target, alone.contrast)
        np.testing.assert_allclose(result.values, alone.values, rtol=0, atol=1e-6, err_msg=f"{method} image {i}")
    assert all(p.grad is None for p in resnet18.model.parameters())
    assert not any(m._forward_hooks for m in resnet18.model.modules())


def test_a_method_without_a_batched_form_is_computed_image_by_image(resnet18, photos):
    batch = attribute_batch(resnet18, photos, "guided_backprop", 281)
    for i, result in enumerate(batch):
        np.testing.assert_array_equal(result.values, attribute(resnet18, photos[i:i + 1], "guided_backprop", 281).values)


def test_the_internal_batch_follows_the_models_activation_size(resnet18):
    per_image = activation_bytes(resnet18)
    assert 20 * 2**20 < per_image < 500 * 2**20  # ResNet-18 at 224 px: tens of MB per image forward + backward
    rows = batch_rows(resnet18)
    assert 1 <= rows <= MAX_BATCH_ROWS
    assert batch_rows(resnet18, (448, 448)) <= rows  # four times the pixels: at most as many rows


def test_one_target_per_image_or_one_for_all(resnet18, photos):
    with pytest.raises(InterpretError, match="one target per image"):
        attribute_batch(resnet18, photos, "gradient", [1, 2, 3])
    same = attribute_batch(resnet18, photos, "gradient", 5)
    assert [r.target for r in same] == [5, 5]


def test_cli_explain_maps_several_images_in_one_run(tmp_path, bundled):
    import json
    import subprocess
    import sys

    from interpret.samples import load_sample as sample

    refused = subprocess.run([sys.executable, "-m", "interpret", "explain", "sample:coffee", "sample:chelsea",
                              "--npy", str(tmp_path / "map.npy")], capture_output=True, text=True, timeout=300)
    assert refused.returncode != 0 and "{name}" in refused.stderr and "Traceback" not in refused.stderr
    done = subprocess.run([sys.executable, "-m", "interpret", "explain", "sample:coffee", "sample:chelsea",
                           "--target", "281", "--npy", str(tmp_path / "{name}.npy"), "--json"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert [row["image"] for row in rows] == ["coffee.png", "chelsea.png"]
    for row, name in zip(rows, ("coffee", "chelsea"), strict=True):
        alone = attribute(bundled, bundled.preprocessing.to_tensor(sample(name).image), "gradient", 281)
        np.testing.assert_allclose(np.load(row["npy"]), alone.values, rtol=0, atol=1e-6)
