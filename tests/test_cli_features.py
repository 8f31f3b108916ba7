"""`python -m interpret features`: mosaic PNG, channels-first .npy, per-channel JSON, one-line errors."""
import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from test_cli import in_process


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "interpret", *args], capture_output=True, text=True, timeout=300)


def test_features_writes_the_mosaic_and_activations_and_lists_the_top_channels(tmp_path, resnet18, coffee):
    from interpret.features import grad_x_activation

    png, npy = tmp_path / "mosaic.png", tmp_path / "acts.npy"
    result = run("features", "sample:coffee", "--layer", "layer2.1", "--model", "torchvision:resnet18", "--weights", "random",
                 "--sort", "grad", "--target", "281", "--top", "5", "--out", str(png), "--npy", str(npy), "--json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    values = np.load(npy)
    assert values.shape == (128, 28, 28) and out["shape"] == [128, 28, 28]
    acts, scores = grad_x_activation(resnet18, resnet18.preprocessing.to_tensor(coffee.image), "layer2.1", 281)
    np.testing.assert_allclose(values, acts.values[0], atol=1e-5)
    assert out["target"] == 281 and out["target_label"] == resnet18.label(281)
    listed = [c["channel"] for c in out["channels"]]
    assert listed == list(np.argsort(-scores[0], kind="stable")[:5])
    top = out["channels"][0]
    assert abs(top["mean"] - values[top["channel"]].mean()) < 1e-5
    assert abs(top["grad_x_activation"] - scores[0, top["channel"]]) < 1e-4
    mosaic = Image.open(png)
    assert mosaic.mode == "RGB" and mosaic.size[0] > 12 * 28  # 128 labelled tiles, about 12 x 11



# exit 2: the command line itself (argparse, CliError); exit 1: what it names was refused (a layer, a class)
@pytest.mark.parametrize("args, message, status", [
    (("--layer", "layer9"), "no layer named 'layer9'", 1),
    (("--layer", "layer1", "--sort", "mean", "--target", "3"), "--target only applies", 2),
    (("--layer", "layer1", "--sort", "grad", "--target", "no such class"), "No class named", 1),
    (("--layer", "fc", "--out", "x.png"), "no spatial output", 2),
    (("--layer", "layer1", "--top", "0"), "--top", 2),
    (("--sort", "mean"), "required", 2),
])
def test_bad_arguments_give_one_line_and_the_exit_code_of_their_kind(capsys, tmp_path, args, message, status):
    args = tuple(str(tmp_path / a) if a.endswith(".png") else a for a in args)
    code, err = in_process(capsys, "features", "sample:coffee", "--model", "torchvision:resnet18", "--weights", "random", *args)
    assert code == status
    assert message in err and len(err.strip().splitlines()) == 1
