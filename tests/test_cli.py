"""`python -m interpret predict|layers`: real model, real photos, one-line errors."""
import json
import subprocess
import sys

import pytest


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "interpret", *args], capture_output=True, text=True, timeout=300)


def test_predict_says_espresso_for_the_coffee_photo(tmp_path):
    from interpret.samples import sample_bytes

    photo = tmp_path / "coffee.png"
    photo.write_bytes(sample_bytes("coffee"))
    result = run("predict", str(photo), "sample:rocket", "--top", "3", "--json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert [r["image"] for r in out] == [str(photo), "sample:rocket"]
    assert out[0]["top"][0]["label"] == "espresso" and out[0]["top"][0]["index"] == 967
    assert out[1]["top"][0]["label"] == "missile"
    assert len(out[0]["top"]) == 3 and out[0]["top"][0]["prob"] > out[0]["top"][1]["prob"]


def test_layers_lists_names_types_and_shapes():
    result = run("layers", "--model", "torchvision:resnet18", "--weights", "random", "--json")
    assert result.returncode == 0, result.stderr
    layers = {info["name"]: info for info in json.loads(result.stdout)}
    assert layers["layer2.1"] == {"name": "layer2.1", "type": "BasicBlock", "output_shape": [128, 28, 28]}
    assert layers["fc"]["output_shape"] == [1000]


def in_process(capsys, *args: str) -> tuple[int, str]:
    from interpret.cli import main

    try:
        code = main(list(args))
    except SystemExit as exit_:  # argparse's own errors
        code = exit_.code
    return code, capsys.readouterr().err


# exit 2: the command line itself (argparse, CliError); exit 1: what it names was refused (a file, model, device)
@pytest.mark.parametrize("args, message, status", [
    (("predict", "missing.jpg"), "does not exist", 2),
    (("predict", "sample:coffee", "--model", "torchvision:nonet"), "no classification model named", 1),
    (("predict", "sample:coffee", "--device", "cuda:7"), "not available", 1),
    (("predict", "sample:coffee", "--top", "0"), "--top", 2),
    (("layers", "--model", "nonsense"), "not a model spec", 1),
    (("predict",), "required", 2),
    (("frobnicate",), "invalid choice", 2),
])
def test_bad_arguments_give_one_line_and_a_non_zero_exit(capsys, args, message, status):
    code, err = in_process(capsys, *args)
    assert code == status
    assert message in err and len(err.strip().splitlines()) == 1


def test_a_file_that_is_not_an_image_is_refused(tmp_path):
    bad = tmp_path / "notes.jpg"
    bad.write_text("hello")
    result = run("predict", str(bad))
    assert result.returncode == 1 and "not an image" in result.stderr and "Traceback" not in result.stderr
