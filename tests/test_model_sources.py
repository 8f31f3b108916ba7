"""The table of model sources: one row per source, read by parse_spec, load_model, the sidebar and the CLI;
timm Hub names; and the overrides load_model takes (preprocessing, activation), each part of the cache key."""
from __future__ import annotations

import json

import pytest
import timm
import torch
from safetensors.torch import save_file

from hub_cache import cache_entry
from interpret.cli.common import MODEL_HELP
from interpret.errors import ModelLoadError, WeightsUnavailableError
from interpret.models import load_model, parse_spec
from interpret.models.sources import SOURCES, find_source
from interpret.policy import CODE_SOURCES, SHARED_ENV, SharedModeRefused
from interpret.preprocess import Preprocessing


def test_every_source_is_one_row_with_a_label_a_form_and_an_example_it_reads():
    keys = [source.key for source in SOURCES]
    assert len(set(keys)) == len(keys)
    assert {"bundled", "torchvision", "timm", "hf", "python", "export", "file"} <= set(keys)
    for source in SOURCES:
        assert source.label and source.form and source.needs
        assert find_source(source.example)[0] is source, source.key
        assert source.code is None or source.code in CODE_SOURCES


def test_the_existing_spec_forms_read_as_before():
    assert parse_spec("bundled:efficientnet_lite0") == ("bundled", "efficientnet_lite0")
    assert parse_spec("torchvision:resnet18") == ("torchvision", "resnet18")
    assert parse_spec("timm:convnext_tiny") == ("timm", "convnext_tiny")
    assert parse_spec("timm:hf-hub:timm/resnet18.a1_in1k") == ("timm", "hf-hub:timm/resnet18.a1_in1k")
    assert parse_spec("file:model.pt") == ("file", "model.pt") and parse_spec("model.ts") == ("file", "model.ts")
    with pytest.raises(ModelLoadError, match=r"not a model spec\. Use bundled:efficientnet_lite0, torchvision:NAME"):
        parse_spec("resnet18")


def test_the_sidebar_and_the_cli_list_the_tables_sources(monkeypatch):
    from interpret.ui import sidebar

    assert list(sidebar.SOURCES) == [source.key for source in SOURCES]
    assert set(sidebar.FORMS) == set(sidebar.SOURCES)
    code = {source.key for source in SOURCES if source.code}
    assert set(sidebar.sources()) == set(sidebar.SOURCES)
    monkeypatch.setenv(SHARED_ENV, "1")
    assert set(sidebar.sources()) == set(sidebar.SOURCES) - code and "hf" in sidebar.sources()
    for source in SOURCES:  # --help spells the forms out without importing torch
        assert source.form.split()[0] in MODEL_HELP, source.key


def test_a_source_refuses_arguments_it_does_not_take():
    with pytest.raises(ModelLoadError, match="takes no keyword arguments"):
        load_model("timm:resnet10t", weights="random", model_kwargs={"num_classes": 3})
    with pytest.raises(ModelLoadError, match="loads its own weights"):
        load_model("bundled:efficientnet_lite0", weights="random")
    with pytest.raises(ModelLoadError, match="softmax or sigmoid, not 'relu'"):
        load_model("timm:resnet10t", weights="random", activation="relu")


def test_preprocessing_and_activation_overrides_are_used_and_keyed():
    plain = load_model("timm:resnet10t", weights="random")
    custom = Preprocessing(crop_size=160, resize_size=176, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))
    edited = load_model("timm:resnet10t", weights="random", preprocessing=custom, activation="sigmoid")
    assert edited.preprocessing == custom and edited.activation == "sigmoid" and plain.activation == "softmax"
    assert len({plain.key, edited.key, load_model("timm:resnet10t", weights="random", preprocessing=custom).key}) == 3


def test_a_one_output_head_defaults_to_sigmoid(tmp_path):
    binary = timm.create_model("resnet10t", pretrained=False, num_classes=1)
    path = tmp_path / "binary.safetensors"
    save_file(binary.state_dict(), str(path))
    lm = load_model("timm:resnet10t", weights=str(path))
    assert lm.num_classes == 1 and lm.activation == "sigmoid"


def test_a_timm_hub_name_that_is_not_cached_says_where_it_belongs(tmp_path, monkeypatch):
    monkeypatch.setattr("interpret.models.timm_zoo.reachable", lambda host: False)
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path))
    with pytest.raises(WeightsUnavailableError, match=r"timm 'hf-hub:someone/resnet-x'.*huggingface.co cannot be "
                                                      r"reached.*repository 'someone/resnet-x'"):
        load_model("timm:hf-hub:someone/resnet-x")
    with pytest.raises(ModelLoadError, match="does not name a Hub repository"):
        load_model("timm:hf-hub:no-organisation")
    monkeypatch.setenv(SHARED_ENV, "1")  # a shared server downloads no Hub repository a user names
    monkeypatch.setattr("interpret.models.timm_zoo.reachable", lambda host: True)
    with pytest.raises(SharedModeRefused, match="shared mode is on"):
        load_model("timm:hf-hub:someone/resnet-x")


def test_a_timm_hub_name_in_the_local_cache_loads_offline_with_its_label_names(tmp_path, monkeypatch):
    monkeypatch.setattr("interpret.models.timm_zoo.reachable", lambda host: False)
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "hub"))
    torch.manual_seed(0)
    trained = timm.create_model("resnet10t", pretrained=False, num_classes=3)
    files = tmp_path / "files"
    files.mkdir()
    save_file(trained.state_dict(), str(files / "model.safetensors"))
    (files / "config.json").write_text(json.dumps({
        "architecture": "resnet10t", "num_classes": 3, "label_names": ["apple", "pear", "plum"],
        "pretrained_cfg": {"input_size": [3, 160, 160], "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5],
                           "crop_pct": 0.95, "interpolation": "bicubic"}}))
    cache_entry(tmp_path / "hub", "someone/tiny-resnet", files)
    lm = load_model("timm:hf-hub:someone/tiny-resnet")
    assert lm.class_names == ("apple", "pear", "plum") and lm.preprocessing.crop_size == 160
    assert torch.equal(lm.model.fc.weight, trained.fc.weight)


def _timm_hub_entry(tmp_path, monkeypatch, config: dict, weights: bool = False) -> str:
    """A timm `hf-hub:` repository in a hand-made Hub cache: its config.json (and weights), nothing downloaded."""
    monkeypatch.setattr("interpret.models.timm_zoo.reachable", lambda host: False)
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "hub"))
    files = tmp_path / "files"
    files.mkdir()
    (files / "config.json").write_text(json.dumps(config))
    if weights:
        torch.manual_seed(0)
        model = timm.create_model("resnet10t", pretrained=False, num_classes=config["num_classes"])
        save_file(model.state_dict(), str(files / "model.safetensors"))
    cache_entry(tmp_path / "hub", "someone/hostile", files)
    return "timm:hf-hub:someone/hostile"


TIMM_HOSTILE = [
    ("50M-classes", {"architecture": "resnet10t", "num_classes": 50_000_000}, "50,000,000 classes.*MAX_CLASSES"),
    ("huge-vit", {"architecture": "vit_tiny_patch16_224", "num_classes": 10, "pretrained_cfg": {},
                  "model_args": {"embed_dim": 65_536, "num_heads": 64}}, "parameters.*MODEL_PARAMETERS"),
    ("100k-blocks", {"architecture": "vit_tiny_patch16_224", "num_classes": 10, "pretrained_cfg": {},
                     "model_args": {"depth": 100_000}}, "100,000 layers.*MODEL_CONFIG_LAYERS"),
    ("1M-patches", {"architecture": "vit_tiny_patch16_224", "num_classes": 10, "pretrained_cfg": {},
                    "model_args": {"img_size": 1024, "patch_size": 1}}, "1,048,576 patches.*MODEL_CONFIG_TOKENS"),
]


@pytest.mark.parametrize(("config", "message"), [r[1:] for r in TIMM_HOSTILE], ids=[r[0] for r in TIMM_HOSTILE])
def test_a_hostile_timm_hub_config_is_refused_before_timm_builds_it(config, message, tmp_path, monkeypatch):
    """timm builds an hf-hub model from its config.json's num_classes and model_args: a 1 KB config declared sizes
    that were allocated before anything was checked."""
    spec = _timm_hub_entry(tmp_path, monkeypatch, config)
    real = timm.create_model

    def only_on_meta(*args, **kwargs):
        assert torch.empty(0).device.type == "meta", "timm built the model for real"
        return real(*args, **kwargs)

    monkeypatch.setattr(timm, "create_model", only_on_meta)
    with pytest.raises(ModelLoadError, match=message) as refused:
        load_model(spec, weights="random")
    assert len(str(refused.value).splitlines()) == 1


@pytest.mark.parametrize("label", ["\x1b]0;owned\x07", "y" * 100_000], ids=["escape-code", "100k-chars"])
def test_timm_label_names_are_checked_as_a_class_names_file(tmp_path, monkeypatch, label):
    spec = _timm_hub_entry(tmp_path, monkeypatch, {"architecture": "resnet10t", "num_classes": 2,
                                                   "label_names": ["ok", label]}, weights=True)
    with pytest.raises(ModelLoadError, match=r"Name 1 of 'config.json \(label_names\)' (holds the control|has 100000)"):
        load_model(spec)
