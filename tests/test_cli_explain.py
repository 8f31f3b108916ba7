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


CNN_RULES = ("guided_backprop", "deconvolution", "guided_gradcam", "deeplift", "lrp_epsilon_plus_flat",
             "lrp_epsilon_gamma_box")  # rules for ReLU networks' units and layers: none holds in a ViT


def test_methods_on_a_vit_lists_the_transformer_methods_as_applicable_and_the_cnn_rules_refused_with_reasons():
    done = cli("methods", "--model", "timm:vit_tiny_patch16_224", "--weights", "random")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    status, why = {}, {}
    for i, line in enumerate(lines):
        name = line.split(" ", 1)[0]
        if name in REGISTRY:
            status[name] = "[applies]" if line.endswith("[applies]") else "[NOT AVAILABLE]" if line.endswith(
                "[NOT AVAILABLE]") else None
            if status[name] == "[NOT AVAILABLE]":
                why[name] = lines[i + 1].strip()
    assert set(status) == set(REGISTRY) and None not in status.values()
    attention = [name for name, method in REGISTRY.items() if method.family == "attention"]
    assert {"attention_rollout", "chefer"} <= set(attention)
    for name in [*attention, "lime", "kernel_shap", "gradient", "integrated_gradients"]:
        assert status[name] == "[applies]", name
    for name in CNN_RULES:
        assert status[name] == "[NOT AVAILABLE]", name
        assert why[name].startswith(f"why: {REGISTRY[name].label}:") and "gelu" in why[name], why[name]
    applies = sum(s == "[applies]" for s in status.values())
    assert lines[0] == f"on timm:vit_tiny_patch16_224 (random weights): {applies} of {len(REGISTRY)} methods apply"


def test_explain_lrp_reports_its_conservation_gap_and_refuses_a_model_it_does_not_cover():
    done = cli("explain", "sample:coffee", "--model", "torchvision:resnet18", "--weights", "random",
               "--method", "lrp_epsilon_gamma_box", "--param", "gamma=0.5", "--target", "3", "--json")
    assert done.returncode == 0, done.stderr
    info = json.loads(done.stdout)
    assert info["status"] == "ok" and info["params"] == {"epsilon": 1e-6, "gamma": 0.5}
    assert info["note"].startswith("relevance sums to") and isinstance(info["summation_gap"], float)
    done = cli("explain", "sample:coffee", "--method", "lrp_epsilon_plus_flat")  # the bundled EfficientNet-Lite0
    assert done.returncode == 1 and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "LRP (ε, z⁺, flat): its batch norm" in done.stderr
