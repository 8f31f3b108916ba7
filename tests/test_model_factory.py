"""`py:MODULE:CALLABLE`: the user's own class, built by their factory with keyword arguments and fitted to their
checkpoint. It runs their code: consent first, never in shared mode, and every misuse gets one clear line."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch

from interpret.cli import main
from interpret.errors import ModelLoadError
from interpret.layers import default_cam_layer, list_layers
from interpret.models import load_model, parse_spec
from interpret.policy import SHARED_ENV, CodeConsentRequired, SharedModeRefused
from interpret.predict import top_k
from interpret.samples import load_sample

FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture()
def in_project(monkeypatch):
    """Work from the fixtures folder, as a user runs the app from their project; the module is imported afresh."""
    monkeypatch.chdir(FIXTURES)
    monkeypatch.delitem(sys.modules, "user_models", raising=False)
    yield
    sys.modules.pop("user_models", None)


def test_the_spec_names_a_module_and_a_callable():
    assert parse_spec("py:my_project.models:build_model") == ("python", "my_project.models:build_model")
    with pytest.raises(ModelLoadError, match="not a py:MODULE:CALLABLE spec"):
        load_model("py:no-colon-here", trust_code=True)


def test_a_factory_with_keyword_arguments_builds_the_model(in_project):
    path_before = list(sys.path)
    lm = load_model("py:user_models:build_model", model_kwargs={"num_classes": 3, "width": 6}, trust_code=True,
                    class_names=("cat", "dog", "fox"))
    assert sys.path == path_before  # the working directory was on sys.path only for the import
    assert sys.modules["user_models"].BUILT[-1] == {"num_classes": 3, "width": 6}
    assert lm.num_classes == 3 and lm.model.head.out_features == 3 and lm.model.features[0].out_channels == 6
    assert [p.label for p in top_k(lm, lm.preprocessing.to_tensor(load_sample("coffee").image), 3)[0]] != []
    assert {"features.0", "features.2", "head"} <= {layer.name for layer in list_layers(lm)}
    assert default_cam_layer(lm) is not None


def test_the_factory_is_fitted_to_a_checkpoint_with_its_head_size(in_project, tmp_path):
    sys.path.insert(0, str(FIXTURES))
    try:
        import user_models
    finally:
        sys.path.remove(str(FIXTURES))
    torch.manual_seed(1)
    trained = user_models.TinyNet(num_classes=5)
    path = tmp_path / "tiny.pth"
    torch.save({"state_dict": {f"module.{k}": v for k, v in trained.state_dict().items()}}, path)
    lm = load_model("py:user_models:build_model", weights=str(path), trust_code=True)
    assert lm.num_classes == 5 and torch.equal(lm.model.head.weight, trained.head.weight)
    assert "matched" in lm.report and lm.spec == "py:user_models:build_model (tiny.pth)"


def test_keyword_arguments_enter_the_cache_key(in_project):
    small = load_model("py:user_models:build_model", model_kwargs={"num_classes": 2}, trust_code=True)
    wide = load_model("py:user_models:build_model", model_kwargs={"num_classes": 2, "width": 4}, trust_code=True)
    same = load_model("py:user_models:build_model", model_kwargs={"width": 4, "num_classes": 2}, trust_code=True)
    assert small.key != wide.key and wide.key == same.key


def test_it_runs_the_users_code_so_it_needs_consent_and_never_runs_in_shared_mode(in_project, monkeypatch):
    with pytest.raises(CodeConsentRequired, match="your Python code"):
        load_model("py:user_models:build_model")
    assert "user_models" not in sys.modules  # refused before anything was imported
    monkeypatch.setenv(SHARED_ENV, "1")
    with pytest.raises(SharedModeRefused):
        load_model("py:user_models:build_model", trust_code=True)


@pytest.mark.parametrize(("spec", "message"), [
    ("py:user_models:not_a_model", "returned a dict, not a torch.nn.Module"),
    ("py:user_models:broken", "raised RuntimeError while building the model: the factory's own bug"),
    ("py:user_models:NOT_CALLABLE", "is a int, not a callable"),
    ("py:user_models:missing", "'user_models' has no 'missing'"),
    ("py:no_such_module_here:build", "Cannot import 'no_such_module_here' from the working directory"),
])
def test_a_factory_that_does_not_give_a_model_is_refused_by_name(in_project, spec, message):
    with pytest.raises(ModelLoadError, match=message):
        load_model(spec, trust_code=True)


def test_the_cli_takes_the_factory_its_kwargs_and_trust(in_project, capsys):
    code = main(["predict", "sample:coffee", "--model", "py:user_models:build_model", "--model-kwargs",
                 '{"num_classes": 3}', "--trust-code", "--json"])
    output = capsys.readouterr()
    assert code == 0, output.err
    assert {p["label"] for p in json.loads(output.out)[0]["top"]} == {"class 0", "class 1", "class 2"}
    assert main(["predict", "sample:coffee", "--model", "py:user_models:build_model", "--model-kwargs", "[1]",
                 "--trust-code"]) != 0
    assert "must be a JSON object" in capsys.readouterr().err
