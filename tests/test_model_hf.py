"""`hf:FOLDER`: tiny transformers classifiers (ViT and ConvNeXt, random weights from configs) saved with
save_pretrained load with their id2label names and their image processor; their logits are the ones
transformers computes on the processor's pixel_values, and their layers keep transformers' names."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch

pytest.importorskip("transformers")
from transformers import (  # noqa: E402
    AutoImageProcessor,
    AutoModelForImageClassification,
    ConvNextConfig,
    ConvNextForImageClassification,
    ConvNextImageProcessor,
    ViTConfig,
    ViTForImageClassification,
    ViTImageProcessor,
)

from hub_cache import cache_entry  # noqa: E402
from interpret.errors import ModelLoadError, WeightsUnavailableError  # noqa: E402
from interpret.layers import list_layers  # noqa: E402
from interpret.models import load_model, parse_spec  # noqa: E402
from interpret.models.sources import find_source  # noqa: E402
from interpret.policy import SHARED_ENV, SharedModeRefused  # noqa: E402
from interpret.samples import load_sample  # noqa: E402

LABELS = {0: "cat", 1: "dog", 2: "fox"}


def _vit(**config) -> ViTForImageClassification:
    return ViTForImageClassification(ViTConfig(
        image_size=64, patch_size=16, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, id2label=LABELS, label2id={v: k for k, v in LABELS.items()}, **config))


def _save(model, processor, folder) -> str:
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    torch.manual_seed(0)
    root = tmp_path_factory.mktemp("hf")
    vit = _save(_vit(), ViTImageProcessor(size={"height": 64, "width": 64}), root / "vit")
    convnext = ConvNextForImageClassification(ConvNextConfig(
        hidden_sizes=[8, 16], depths=[1, 1], num_stages=2, image_size=64, id2label=LABELS,
        label2id={v: k for k, v in LABELS.items()}))
    convnext_dir = _save(convnext, ConvNextImageProcessor(size={"shortest_edge": 64}, crop_pct=0.875), root / "convnext")
    return {"vit": vit, "convnext": convnext_dir}


@pytest.mark.parametrize("kind", ["vit", "convnext"])
def test_a_saved_classifier_predicts_as_transformers_does(folders, kind):
    lm = load_model(f"hf:{folders[kind]}")
    assert lm.class_names == ("cat", "dog", "fox") and lm.activation == "softmax"
    processor = AutoImageProcessor.from_pretrained(folders[kind])
    reference = AutoModelForImageClassification.from_pretrained(folders[kind]).eval()
    images = [load_sample(name).image for name in ("coffee", "chelsea")]
    pixels = processor(images=images, return_tensors="pt")["pixel_values"]
    with torch.inference_mode():
        assert torch.allclose(lm.model(pixels), reference(pixel_values=pixels).logits, atol=1e-5)
    assert lm.preprocessing.crop_size == 64
    assert tuple(lm.preprocessing.mean) == tuple(processor.image_mean)


def test_layers_keep_the_transformers_names(folders):
    lm = load_model(f"hf:{folders['convnext']}")
    names = {layer.name for layer in list_layers(lm)}
    assert "convnext.encoder.stages.1" in names and "classifier" in names


def test_a_multi_label_config_gets_sigmoid_and_placeholder_labels_get_default_names(tmp_path):
    torch.manual_seed(0)
    model = ViTForImageClassification(ViTConfig(image_size=32, patch_size=16, hidden_size=32, num_hidden_layers=1,
                                                num_attention_heads=2, intermediate_size=64, num_labels=4,
                                                problem_type="multi_label_classification"))
    lm = load_model(f"hf:{_save(model, ViTImageProcessor(size={'height': 32, 'width': 32}), tmp_path / 'ml')}")
    assert lm.activation == "sigmoid" and lm.class_names == ("class 0", "class 1", "class 2", "class 3")


def test_specs_and_refusals(tmp_path, monkeypatch):
    assert parse_spec("hf:google/vit-base-patch16-224") == ("hf", "google/vit-base-patch16-224")
    with pytest.raises(ModelLoadError, match="has no config.json"):
        load_model(f"hf:{tmp_path}")
    with pytest.raises(ModelLoadError, match="neither a folder nor a Hugging Face Hub name"):
        load_model("hf:two words/no such folder")
    monkeypatch.setattr("interpret.models.sources.hf.reachable", lambda host: False)
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    with pytest.raises(WeightsUnavailableError, match=r"not on this machine and huggingface.co cannot be reached.*"
                                                      r"empty-cache"):
        load_model("hf:someone/not-cached")


def test_a_hub_name_in_the_local_cache_loads_offline(folders, tmp_path, monkeypatch):
    monkeypatch.setattr("interpret.models.sources.hf.reachable", lambda host: False)
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path))
    cache_entry(tmp_path, "someone/tiny-vit", Path(folders["vit"]))
    lm = load_model("hf:someone/tiny-vit")
    assert lm.spec == "hf:someone/tiny-vit" and lm.class_names == ("cat", "dog", "fox")
    assert find_source("hf:x")[0].names() == ["someone/tiny-vit"]  # what the sidebar lists


def test_a_server_folder_is_refused_in_shared_mode(folders, monkeypatch):
    monkeypatch.setenv(SHARED_ENV, "1")
    with pytest.raises(ModelLoadError, match="shared mode is on: folders on the server are never read"):
        load_model(f"hf:{folders['vit']}")


def test_shared_mode_loads_cached_hub_names_and_downloads_nothing(folders, tmp_path, monkeypatch):
    monkeypatch.setenv(SHARED_ENV, "1")
    monkeypatch.setattr("interpret.models.sources.hf.reachable", lambda host: True)  # even with a network
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path))
    with pytest.raises(SharedModeRefused, match="not in this server's Hugging Face cache, and shared mode is on"):
        load_model("hf:someone/not-cached")
    cache_entry(tmp_path, "someone/tiny-vit", Path(folders["vit"]))
    monkeypatch.setattr("interpret.models.sources.hf.reachable", lambda host: False)
    assert load_model("hf:someone/tiny-vit").class_names == ("cat", "dog", "fox")


def test_without_transformers_the_message_says_what_to_install(folders, monkeypatch):
    monkeypatch.setitem(sys.modules, "transformers", None)  # what `import transformers` meets where it is absent
    with pytest.raises(ModelLoadError, match=r"need the package 'transformers'.*\[hf\]"):
        load_model(f"hf:{folders['vit']}")


def _copy(folder: str, target: Path) -> Path:
    import shutil

    shutil.copytree(folder, target)
    return target


def test_a_checkpoint_that_lacks_weights_is_refused_naming_them(folders, tmp_path):
    """transformers initialises missing weights at random and the app predicted with them without a word."""
    from safetensors.torch import load_file, save_file

    folder = _copy(folders["vit"], tmp_path / "partial")
    weights = load_file(folder / "model.safetensors")
    kept = {k: v for k, v in weights.items() if "classifier" not in k}
    save_file(kept, folder / "model.safetensors", metadata={"format": "pt"})
    with pytest.raises(ModelLoadError, match=r"lacks 2 weight tensors the model needs \('classifier.bias', "
                                             r"'classifier.weight'\).*random"):
        load_model(f"hf:{folder}")


def test_an_image_processor_transformers_cannot_read_is_refused(folders, tmp_path):
    folder = _copy(folders["vit"], tmp_path / "bad-processor")
    (folder / "preprocessor_config.json").write_text('{"image_processor_type": "NoSuchImageProcessor"}')
    with pytest.raises(ModelLoadError, match="preprocessor_config.json of .* cannot be read by transformers"):
        load_model(f"hf:{folder}")
    (folder / "preprocessor_config.json").write_text("{not json")
    with pytest.raises(ModelLoadError, match="cannot be read by transformers"):
        load_model(f"hf:{folder}")


def test_without_an_image_processor_imagenets_pipeline_is_used_and_said(folders, tmp_path):
    folder = _copy(folders["vit"], tmp_path / "no-processor")
    (folder / "preprocessor_config.json").unlink()
    lm = load_model(f"hf:{folder}")
    assert lm.preprocessing.crop_size == 64 and "no preprocessor_config.json" in lm.report  # the config's image_size


def _config_only(folder: Path, **config) -> str:
    """A folder holding a 1 KB config.json and nothing else: what a hostile link can point at."""
    folder.mkdir()
    text = json.dumps({"model_type": "vit", "architectures": ["ViTForImageClassification"], **config})
    assert len(text) < 1024
    (folder / "config.json").write_text(text)
    return str(folder)


HOSTILE_CONFIGS = [
    ("50M-labels", {"num_labels": 50_000_000}, "50,000,000 classes.*MAX_CLASSES"),
    ("100k-layers", {"num_hidden_layers": 100_000}, "100,000 layers.*MODEL_CONFIG_LAYERS"),
    ("1M-patches", {"image_size": 1024, "patch_size": 1}, "1,048,576 patches.*MODEL_CONFIG_TOKENS"),
    ("19GB-tensor", {"hidden_size": 768, "intermediate_size": 400_000, "num_hidden_layers": 1},
     "tensor of 1.1 GB.*CHECKPOINT_TENSOR_BYTES"),
    ("40G-parameters", {"hidden_size": 65_536, "intermediate_size": 65_536, "num_attention_heads": 64},
     "parameters.*MODEL_PARAMETERS"),
]


@pytest.mark.parametrize(("config", "message"), [row[1:] for row in HOSTILE_CONFIGS], ids=[r[0] for r in HOSTILE_CONFIGS])
def test_a_hostile_config_is_refused_before_anything_is_built(config, message, tmp_path, monkeypatch):
    """Sizes a 1 KB config declares are bounded before transformers builds anything (50 M labels took the process
    past 8 GB while the config was parsed); the real build is never reached."""
    def never(*args, **kwargs):
        raise AssertionError("the model was built for real")

    monkeypatch.setattr(AutoModelForImageClassification, "from_pretrained", never)
    with pytest.raises(ModelLoadError, match=message) as refused:
        load_model(f"hf:{_config_only(tmp_path / 'hostile', **config)}")
    assert len(str(refused.value).splitlines()) == 1


@pytest.mark.parametrize(("label", "message"), [("\x1b[31mred", "control character U\\+001B"),
                                                ("x" * 100_000, "100000 characters")], ids=["escape-code", "100k-chars"])
def test_id2label_names_are_checked_as_a_class_names_file(tmp_path, label, message):
    torch.manual_seed(0)
    labels = {0: "cat", 1: label}
    model = ViTForImageClassification(ViTConfig(image_size=32, patch_size=16, hidden_size=32, num_hidden_layers=1,
                                                num_attention_heads=2, intermediate_size=64, id2label=labels,
                                                label2id={v: k for k, v in labels.items()}))
    folder = _save(model, ViTImageProcessor(size={"height": 32, "width": 32}), tmp_path / "labels")
    with pytest.raises(ModelLoadError, match=f"Name 1 of .*id2label.* {message}"):
        load_model(f"hf:{folder}")


def test_without_transformers_the_hint_names_the_install_line_of_a_checkout(monkeypatch):
    """The defect: the hint named only the PyPI distribution's extra, which does not fit a checkout's install."""
    from interpret.models.sources.hf import _transformers

    monkeypatch.setitem(sys.modules, "transformers", None)  # `import transformers` now raises ImportError
    with pytest.raises(ModelLoadError, match=r"pip install -c constraints.txt -e '\.\[app,hf\]'"):
        _transformers()
