"""Inputs that ended in "unexpected error", a silent exit or a wrong file (issue 19): each is one clear line and the
right status through the CLI, with real files, real folders and tiny random-weight models."""
from __future__ import annotations

import csv
import json
import os
import sys
from pathlib import Path

import pytest
import torch

from interpret.cli import main
from interpret.policy import SHARED_ENV
from interpret.samples import sample_bytes

TINY = ["--model", "torchvision:resnet18", "--weights", "random"]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()  # what building the files printed (transformers' progress bars) is not the command's
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_line(err: str, *parts: str) -> None:
    """A refusal: one line on stderr, not an unexpected error, holding every one of `parts`."""
    assert err.count("\n") == 1 and err.startswith("error: "), err
    assert "unexpected error" not in err and "Traceback" not in err, err
    for part in parts:
        assert part in err, (part, err)


# --- labelled folders (`mistakes`) ---------------------------------------------------------------------------

@pytest.fixture
def nested(tmp_path):
    """make(depth): an espresso photo `depth` folders down ('d/d/.../d/espresso/deep.jpg') under tmp_path / 'set'.

    Made and removed one level at a time, deepest first at teardown: os.makedirs and shutil.rmtree (pytest's own
    clean-up of old temporary folders) recurse once per level, past Python's recursion limit at this depth."""
    root = tmp_path / "set"
    made: list[str] = []

    def make(depth: int) -> Path:
        path = str(root)
        for _ in range(depth):
            path += "/d"
            os.mkdir(path)
            made.append(path)
        os.makedirs(path + "/espresso")
        Path(path, "espresso", "deep.jpg").write_bytes(sample_bytes("coffee"))
        made.extend([path + "/espresso", path + "/espresso/deep.jpg"])
        return root

    root.mkdir()
    yield make
    for path in reversed(made):
        os.unlink(path) if path.endswith(".jpg") else os.rmdir(path)


def test_a_folder_nested_1100_deep_is_walked_without_recursion_and_skipped_past_the_bound(nested, capsys):
    from interpret import limits

    root = nested(1100)
    (root / "espresso").mkdir()
    (root / "espresso" / "cup.jpg").write_bytes(sample_bytes("coffee"))
    code, out, err = run(capsys, "mistakes", str(root), "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["images"] == 1
    assert report["skipped"] == {f"folder more than {limits.FOLDER_DEPTH} levels deep": 1}


def test_a_class_folder_named_superscript_two_is_a_label_that_matches_no_class(tmp_path, capsys):
    root = tmp_path / "set"
    for folder, sample in (("²", "coffee"), ("espresso", "coffee")):
        (root / folder).mkdir(parents=True)
        (root / folder / "a.jpg").write_bytes(sample_bytes(sample))
    code, out, err = run(capsys, "mistakes", str(root), "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["images"] == 1 and any("'²' matches no class" in line for line in report["unmatched_labels"])


@pytest.mark.skipif(sys.platform == "darwin", reason="macOS file systems refuse names that are not UTF-8")
def test_a_file_name_that_is_not_utf8_is_written_to_the_csv_escaped(tmp_path, capsys):
    root = tmp_path / "set"
    (root / "espresso").mkdir(parents=True)
    (root / "espresso" / "cup.jpg").write_bytes(sample_bytes("coffee"))
    with open(os.path.join(os.fsencode(root), b"espresso", b"\xff\xfe.jpg"), "wb") as file:
        file.write(sample_bytes("coffee"))
    out_csv = tmp_path / "results.csv"
    code, _, err = run(capsys, "mistakes", str(root), "--csv", str(out_csv))
    assert code == 0, err
    rows = list(csv.DictReader(out_csv.open(encoding="utf-8")))
    assert sorted(r["path"] for r in rows) == ["espresso/\\xff\\xfe.jpg", "espresso/cup.jpg"]


# --- py: factories that exit -----------------------------------------------------------------------------------

EXITS = '''
import sys
from torch import nn


def quiet():
    sys.exit()


def status_three():
    sys.exit(3)


class Quitter(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 2)

    def forward(self, x):
        sys.exit("bye")


def quitter():
    return Quitter()
'''


@pytest.fixture
def exits_module(tmp_path, monkeypatch):
    """A module in the working directory whose factories (and a forward pass) call sys.exit()."""
    name = f"exits_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text(EXITS)
    (tmp_path / f"{name}_at_import.py").write_text("import sys\nsys.exit(0)\n")
    monkeypatch.chdir(tmp_path)
    yield name
    for module in (name, f"{name}_at_import"):
        sys.modules.pop(module, None)


@pytest.mark.parametrize(("callable_", "said"), [
    ("quiet", "called sys.exit() while building the model"),
    ("status_three", "called sys.exit(3) while building the model"),
    ("quitter", "called sys.exit('bye') in its first forward pass"),
])
def test_a_factory_or_forward_that_calls_sys_exit_is_a_model_load_error(exits_module, capsys, callable_, said):
    code, out, err = run(capsys, "predict", "sample:coffee", "--model", f"py:{exits_module}:{callable_}", "--trust-code")
    assert code == 1 and out == ""
    one_line(err, said)


def test_a_module_that_calls_sys_exit_on_import_is_a_model_load_error(exits_module, capsys):
    code, _, err = run(capsys, "predict", "sample:coffee", "--model", f"py:{exits_module}_at_import:build",
                       "--trust-code")
    assert code == 1
    one_line(err, f"Importing '{exits_module}_at_import' called sys.exit(0)")


def test_sys_exit_during_a_command_is_one_line_and_status_one(monkeypatch, capsys):
    from test_cli_edge import command_raising

    command_raising(monkeypatch, SystemExit(0))
    code, out, err = run(capsys, "boom")
    assert code == 1 and out == ""
    one_line(err, "sys.exit(0) was called during the command")


# --- --npy ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("command", [["explain", "sample:coffee"], ["features", "sample:coffee", "--layer", "layer1"]])
def test_npy_refuses_a_name_without_the_npy_suffix_before_any_work(tmp_path, capsys, command):
    code, _, err = run(capsys, *command, *TINY, "--npy", str(tmp_path / "map"))
    assert code == 1
    one_line(err, "--npy", "must end in .npy")
    assert list(tmp_path.iterdir()) == []


# --- Hugging Face folders and names ----------------------------------------------------------------------------

transformers = pytest.importorskip("transformers")
LABELS = {0: "cat", 1: "dog", 2: "fox"}


def _vit_folder(folder: Path) -> Path:
    torch.manual_seed(0)
    model = transformers.ViTForImageClassification(transformers.ViTConfig(
        image_size=32, patch_size=16, hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64,
        id2label=LABELS, label2id={v: k for k, v in LABELS.items()}))
    model.save_pretrained(folder)
    transformers.ViTImageProcessor(size={"height": 32, "width": 32}).save_pretrained(folder)
    return folder


def test_a_truncated_safetensors_file_is_named(tmp_path, capsys):
    folder = _vit_folder(tmp_path / "vit")
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    code, _, err = run(capsys, "predict", "sample:coffee", "--model", f"hf:{folder}")
    assert code == 1
    one_line(err, "model.safetensors")


def test_a_safetensors_file_with_a_gap_between_tensors_is_named(tmp_path, capsys):
    """A header whose tensors leave bytes of the body unused: safetensors' own reader refuses it (SafetensorError)."""
    import struct

    folder = _vit_folder(tmp_path / "vit")
    weights = folder / "model.safetensors"
    data = weights.read_bytes()
    (length,) = struct.unpack_from("<Q", data)
    weights.write_bytes(data + b"\0" * 64)  # 64 bytes no tensor claims
    assert length > 0
    code, _, err = run(capsys, "predict", "sample:coffee", "--model", f"hf:{folder}")
    assert code == 1
    one_line(err, "model.safetensors")


def test_weights_that_do_not_fit_the_config_are_one_line(tmp_path, capsys):
    folder = _vit_folder(tmp_path / "vit")
    config = json.loads((folder / "config.json").read_text())
    config["id2label"] = {str(i): f"c{i}" for i in range(5)}
    config["label2id"] = {f"c{i}": i for i in range(5)}
    (folder / "config.json").write_text(json.dumps(config))
    code, _, err = run(capsys, "predict", "sample:coffee", "--model", f"hf:{folder}")
    assert code == 1
    one_line(err, f"hf:{folder}", "do not fit")  # no progress bar, no load report above it
    assert "above report" not in err


@pytest.mark.parametrize("name", ["foo-", "a--b/c", "org/name.git"])
def test_a_name_the_hub_refuses_is_one_line(capsys, name):
    code, _, err = run(capsys, "predict", "sample:coffee", "--model", f"hf:{name}")
    assert code == 1
    one_line(err, f"hf:{name}", "Hugging Face Hub name")


@pytest.mark.parametrize(("change", "said"), [
    ({"crop_pct": 0}, "crop_pct"),
    ({"rescale_factor": 0}, "rescale_factor"),
])
def test_a_processor_that_would_divide_by_zero_falls_back_with_a_report(tmp_path, capsys, change, said):
    torch.manual_seed(0)
    model = transformers.ConvNextForImageClassification(transformers.ConvNextConfig(
        hidden_sizes=[8, 16], depths=[1, 1], num_stages=2, image_size=64, id2label=LABELS,
        label2id={v: k for k, v in LABELS.items()}))
    folder = tmp_path / "convnext"
    model.save_pretrained(folder)
    transformers.ConvNextImageProcessor(size={"shortest_edge": 64}, crop_pct=0.875).save_pretrained(folder)
    processor = json.loads((folder / "preprocessor_config.json").read_text())
    (folder / "preprocessor_config.json").write_text(json.dumps({**processor, **change}))
    code, out, err = run(capsys, "predict", "sample:coffee", "--model", f"hf:{folder}", "--json")
    assert code == 0, err
    assert len(json.loads(out)[0]["top"]) == 3
    from interpret.models import load_model

    assert said in load_model(f"hf:{folder}").report  # ImageNet's sizes with the processor's mean/std, and why


def test_shared_mode_answers_the_same_whether_a_server_folder_exists_or_not(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv(SHARED_ENV, "1")
    folder = _vit_folder(tmp_path / "vit")
    answers = []
    for given in (folder, tmp_path / "nothing-here", tmp_path):
        code, _, err = run(capsys, "predict", "sample:coffee", "--model", f"hf:{given}")
        assert code == 1
        one_line(err, "shared mode")
        answers.append(err.replace(str(given), "PATH"))
    assert answers[0] == answers[1] == answers[2]
