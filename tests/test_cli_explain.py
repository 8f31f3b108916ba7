"""`python -m interpret explain` and `methods`, run as a user would, on the sample photos."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
from PIL import Image

from interpret.attribution import REGISTRY


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "interpret", *args], capture_output=True, text=True, timeout=300)


def test_methods_json_lists_every_method_with_defaults():
    done = cli("methods", "--json")
    assert done.returncode == 0, done.stderr
    listed = {m["name"]: m for m in json.loads(done.stdout)}
    assert set(listed) == set(REGISTRY)
    steps = {p["name"]: p for p in listed["integrated_gradients"]["params"]}["steps"]
    assert steps["default"] == 32 and steps["kind"] == "int"
    assert listed["gradcam"]["uses_layer"] and not listed["gradcam"]["signed"]


def test_explain_writes_overlay_and_raw_map(tmp_path):
    png, npy = tmp_path / "map.png", tmp_path / "map.npy"
    done = cli("explain", "sample:coffee", "--method", "grad_x_input", "--target", "espresso", "--objective", "loss",
               "--out", str(png), "--npy", str(npy), "--json")
    assert done.returncode == 0, done.stderr
    info = json.loads(done.stdout)
    assert info["target_label"] == "espresso" and info["objective"] == "loss" and info["status"] == "ok"
    values = np.load(npy)
    assert values.shape == (224, 224) == tuple(info["shape"]) and values.dtype == np.float32
    assert values.min() < 0 < values.max()  # a signed method keeps its sign
    assert Image.open(png).size == (224, 224)


def test_explain_cam_on_a_chosen_layer_with_parameters(tmp_path):
    done = cli("explain", "sample:chelsea", "--model", "torchvision:resnet18", "--weights", "random",
               "--method", "scorecam", "--layer", "layer3", "--param", "channels=8", "--target", "5", "--json")
    assert done.returncode == 0, done.stderr
    info = json.loads(done.stdout)
    assert info["layer"] == "layer3" and info["params"] == {"channels": 8} and info["target"] == 5


def test_bad_arguments_fail_with_one_line():
    for args in (["--method", "nope"], ["--method", "occlusion", "--param", "window=big"]):
        done = cli("explain", "sample:coffee", *args)
        assert done.returncode == 1, done.stderr  # refused values: exit 1 (2 is for the command line's grammar)
        assert done.stderr.startswith("error:") and "Traceback" not in done.stderr and done.stderr.count("\n") == 1
