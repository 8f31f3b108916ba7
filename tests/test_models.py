"""Model sources: the offline default is real, zoo models load from a cache or say clearly why not."""
import pytest
import torch
import torchvision

from interpret.errors import ModelLoadError, WeightsUnavailableError
from interpret.models import load_model, parse_spec
from interpret.models.loaded import LoadedModel
from interpret.predict import top_k
from interpret.samples import load_sample

CATS = {"tabby", "tiger cat", "Egyptian cat", "Persian cat", "Siamese cat"}


def predict(lm: LoadedModel, name: str):
    return top_k(lm, lm.preprocessing.to_tensor(load_sample(name).image), 3)[0]


def test_bundled_default_is_a_real_imagenet_model(bundled):
    assert bundled.num_classes == 1000
    assert predict(bundled, "coffee")[0].label == "espresso"
    assert predict(bundled, "coffee")[0].prob > 0.5
    assert predict(bundled, "chelsea")[0].label in CATS
    assert predict(bundled, "rocket")[0].label == "missile"


def test_bundled_model_is_frozen_and_in_eval_mode(bundled):
    assert not bundled.model.training
    assert all(not p.requires_grad for p in bundled.model.parameters())


def test_specs_name_their_source():
    assert parse_spec("torchvision:resnet18") == ("torchvision", "resnet18")
    assert parse_spec("timm:convnext_tiny") == ("timm", "convnext_tiny")
    assert parse_spec("/tmp/model.pt") == ("file", "/tmp/model.pt")
    with pytest.raises(ModelLoadError, match="not a model spec"):
        parse_spec("resnet18")


def test_missing_pretrained_weights_name_file_and_folder(tmp_path, monkeypatch):
    monkeypatch.setattr("interpret.models.torchvision_zoo.reachable", lambda host: False)
    old = torch.hub.get_dir()
    torch.hub.set_dir(str(tmp_path))
    try:
        with pytest.raises(WeightsUnavailableError) as info:
            load_model("torchvision:resnet18")
    finally:
        torch.hub.set_dir(old)
    message = str(info.value)
    assert "resnet18-f37072fd.pth" in message and str(tmp_path / "checkpoints") in message


def test_pretrained_weights_in_the_hub_cache_load_offline(tmp_path, monkeypatch):
    monkeypatch.setattr("interpret.models.torchvision_zoo.reachable", lambda host: False)
    old = torch.hub.get_dir()
    torch.hub.set_dir(str(tmp_path))
    try:
        reference = torchvision.models.resnet18()
        (tmp_path / "checkpoints").mkdir()
        torch.save(reference.state_dict(), tmp_path / "checkpoints" / "resnet18-f37072fd.pth")
        lm = load_model("torchvision:resnet18")
    finally:
        torch.hub.set_dir(old)
    assert lm.class_names[967] == "espresso"
    assert lm.preprocessing.resize_size == 256 and lm.preprocessing.crop_size == 224
    assert torch.equal(lm.model.fc.weight, reference.fc.weight)


def test_local_state_dict_sets_the_number_of_classes(tmp_path):
    model = torchvision.models.resnet18(num_classes=3)
    path = tmp_path / "three.pth"
    torch.save({"state_dict": model.state_dict()}, path)
    lm = load_model("torchvision:resnet18", weights=str(path), class_names=("cat", "dog", "fox"))
    assert lm.num_classes == 3 and lm.label(2) == "fox"
    assert torch.equal(lm.model.fc.weight, model.fc.weight)


def test_a_state_dict_for_another_architecture_is_refused(tmp_path):
    path = tmp_path / "vgg.pth"
    torch.save(torchvision.models.squeezenet1_0().state_dict(), path)
    with pytest.raises(ModelLoadError, match="does not fit this architecture"):
        load_model("torchvision:resnet18", weights=str(path))


def test_torchscript_file_loads_with_class_names(tmp_path):
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(),
                              torch.nn.Linear(4, 2))
    path = tmp_path / "tiny.pt"
    torch.jit.script(net).save(str(path))
    lm = load_model(str(path), class_names=("no", "yes"), trust_code=True)
    assert lm.num_classes == 2 and not lm.hookable
    assert len(predict(lm, "coffee")) == 2


def test_pickled_model_objects_are_refused_with_an_explanation(tmp_path):
    path = tmp_path / "whole.pth"
    torch.save(torchvision.models.resnet18(num_classes=2), path)
    with pytest.raises(ModelLoadError, match="arbitrary Python code"):
        load_model("torchvision:resnet18", weights=str(path))
    with pytest.raises(ModelLoadError, match="arbitrary Python code"):
        load_model(str(path))


def test_garbage_model_file_is_refused(tmp_path):
    path = tmp_path / "model.pt"
    path.write_bytes(b"this is not a model")
    with pytest.raises(ModelLoadError, match="not a readable PyTorch weights file"):
        load_model(str(path))


def test_state_dict_given_as_a_model_asks_for_the_architecture(tmp_path):
    path = tmp_path / "weights.pth"
    torch.save(torchvision.models.resnet18(num_classes=2).state_dict(), path)
    with pytest.raises(ModelLoadError, match="choose its architecture"):
        load_model(str(path))


def test_class_names_must_match_the_head(tmp_path):
    with pytest.raises(ModelLoadError, match="has 2 names but the model has 1000 outputs"):
        load_model("torchvision:resnet18", weights="random", class_names=("a", "b"))


def test_timm_architecture_with_random_weights_uses_timm_preprocessing():
    lm = load_model("timm:resnet10t", weights="random")
    assert lm.num_classes == 1000
    assert lm.preprocessing.crop_size == lm.model.pretrained_cfg["input_size"][-1]
    assert lm.preprocessing.mean == tuple(lm.model.pretrained_cfg["mean"])


def test_unknown_names_are_clear():
    with pytest.raises(ModelLoadError, match="no classification model named 'resnet999'"):
        load_model("torchvision:resnet999")
    with pytest.raises(ModelLoadError, match="timm has no model named"):
        load_model("timm:not_a_model")
