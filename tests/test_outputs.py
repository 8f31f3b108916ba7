"""Models whose forward returns a tuple, a dict or a transformers ModelOutput: their logits are picked out once,
and everything downstream (predictions, Grad-CAM, layer lists, capture hooks, private copies) sees the same
layer names as the model's own."""
from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from interpret.attribution import attribute
from interpret.capture import capture
from interpret.errors import ModelLoadError
from interpret.layers import list_layers
from interpret.models.first_pass import first_pass
from interpret.models.loaded import LoadedModel, freeze
from interpret.models.outputs import describe_pick, logits_of, pick_of, with_logits
from interpret.models.private import private_copy
from interpret.predict import top_k
from interpret.preprocess import Preprocessing
from interpret.samples import load_sample

CPU = torch.device("cpu")
PRE = Preprocessing(crop_size=32, resize_size=32)


class Backbone(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1), nn.ReLU())
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.fc = nn.Linear(8, 4)


class ReturnsTuple(Backbone):
    """(logits, pooled features): a common shape for models trained with a feature loss."""

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        pooled = self.pool(self.features(x))
        return self.fc(pooled), pooled


class ReturnsDict(Backbone):
    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        maps = self.features(x)
        return {"features": maps, "logits": self.fc(self.pool(maps))}


class ReturnsOneEntry(Backbone):
    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"scores": self.fc(self.pool(self.features(x)))}


class ReturnsTensor(Backbone):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.pool(self.features(x)))


def tiny_vit() -> nn.Module:
    from transformers import ViTConfig, ViTForImageClassification

    config = ViTConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                       image_size=32, patch_size=8, num_labels=3)
    return ViTForImageClassification(config)


def loaded(model: nn.Module) -> tuple[LoadedModel, nn.Module]:
    """The model as load_model makes it (frozen, first pass, wrapped where needed), and the original."""
    torch.manual_seed(0)
    original = freeze(model)
    wrapped, classes = first_pass(original, PRE, CPU, type(model).__name__)
    lm = LoadedModel(spec=type(model).__name__, model=wrapped, preprocessing=PRE,
                     class_names=tuple(f"c{i}" for i in range(classes)), device=CPU)
    return lm, original


@pytest.fixture(scope="module")
def image() -> torch.Tensor:
    return PRE.to_tensor(load_sample("chelsea").image)


@pytest.fixture(scope="module")
def vit() -> tuple[LoadedModel, nn.Module]:
    torch.manual_seed(0)
    return loaded(tiny_vit())


def own_logits(original: nn.Module, x: torch.Tensor) -> torch.Tensor:
    with torch.inference_mode():
        out = original(x)
    return out if isinstance(out, torch.Tensor) else out[0] if isinstance(out, tuple) else out["logits"] \
        if "logits" in out else out["scores"]


@pytest.mark.parametrize(("cls", "where"), [(ReturnsTuple, "output[0]"), (ReturnsDict, "output['logits']"),
                                            (ReturnsOneEntry, "output['scores']")])
def test_logits_are_picked_and_the_layer_names_stay(cls, where, image):
    torch.manual_seed(0)
    lm, original = loaded(cls())
    assert describe_pick(pick_of(lm.model)) == where
    assert isinstance(lm.model, cls) and type(lm.model).__name__ == cls.__name__
    assert [n for n, _ in lm.model.named_modules()] == [n for n, _ in original.named_modules()]
    assert lm.model.state_dict().keys() == original.state_dict().keys()
    with torch.inference_mode():
        assert torch.equal(lm.model(image), own_logits(original, image))
    predictions = top_k(lm, image, k=2)[0]
    expected = own_logits(original, image).softmax(-1)[0]
    assert [p.index for p in predictions] == expected.topk(2).indices.tolist()
    assert predictions[0].prob == pytest.approx(float(expected.max()), abs=1e-6)
    assert [layer.name for layer in list_layers(lm)] == ["features.0", "features.1", "features.2", "features.3",
                                                         "features", "pool.0", "pool.1", "pool", "fc"]
    cam = attribute(lm, image, "gradcam", predictions[0].index, layer="features.2")
    assert cam.values.shape == (32, 32) and float(cam.values.max()) > 0


def test_gradcam_on_the_wrapped_model_equals_gradcam_on_a_plain_one(image):
    """The same weights returning a tensor give the same map: the pick adds nothing to the gradient."""
    torch.manual_seed(0)
    tupled, _ = loaded(ReturnsTuple())
    plain_net = ReturnsTensor()
    plain_net.load_state_dict(tupled.model.state_dict())
    plain, _ = loaded(plain_net)
    assert plain.model is not tupled.model and pick_of(plain.model) == ()
    for method in ("gradcam", "gradient"):
        a = attribute(tupled, image, method, 1, layer="features.2")
        b = attribute(plain, image, method, 1, layer="features.2")
        assert torch.equal(torch.as_tensor(a.values), torch.as_tensor(b.values)), method


def test_capture_hooks_fire_on_the_models_own_names(image):
    torch.manual_seed(0)
    lm, original = loaded(ReturnsDict())
    with capture(lm.model, ["features.2", "fc"]) as captured:
        logits = captured.run(image)
    assert set(captured) == {"features.2", "fc"} and torch.equal(captured["fc"], logits)
    assert all(not m._forward_hooks for m in original.modules())  # removed again, on the shared modules too


def test_a_private_copy_keeps_the_pick_and_its_own_weights(image):
    torch.manual_seed(0)
    lm, _ = loaded(ReturnsTuple())
    twin = private_copy(lm)
    assert type(twin.model) is type(lm.model) and pick_of(twin.model) == pick_of(lm.model)
    assert twin.model.fc.weight is not lm.model.fc.weight
    with torch.inference_mode():
        assert torch.equal(twin.model(image), lm.model(image))


def test_a_transformers_image_classifier_output(vit, image):
    lm, original = vit
    with torch.inference_mode():
        out = original(image)
    assert type(out).__name__ == "ImageClassifierOutput"
    assert describe_pick(pick_of(lm.model)) == "output['logits']"
    assert [n for n, _ in lm.model.named_modules()] == [n for n, _ in original.named_modules()]
    predictions = top_k(lm, image, k=5)
    assert len(predictions[0]) == 3  # k is capped by the head's size
    assert [p.index for p in predictions[0]] == out.logits[0].argsort(descending=True).tolist()
    layer = "vit.layers.0"  # the last block's patch tokens get no gradient: only its class token reaches the head
    assert layer in {info.name for info in list_layers(lm)}
    cam = attribute(lm, image, "gradcam", predictions[0][0].index, layer=layer)
    assert cam.values.shape == (32, 32) and float(abs(cam.values).max()) > 0
    saliency = attribute(lm, image, "gradient", predictions[0][0].index)
    assert float(abs(saliency.values).max()) > 0


def test_logits_of_reads_each_structure():
    from transformers.modeling_outputs import ImageClassifierOutput

    scores = torch.randn(2, 5)
    assert logits_of(scores) is scores
    assert logits_of((torch.randn(2, 3, 4, 4), scores, torch.randn(2, 7))) is scores  # the first batch x classes
    assert logits_of([scores.sum(1), scores]) is scores
    assert logits_of({"aux": torch.randn(2, 9), "logits": scores}) is scores
    assert logits_of(ImageClassifierOutput(logits=scores, hidden_states=(torch.randn(2, 4, 8),))) is scores

    class WithLogits:
        logits = scores

    assert logits_of(WithLogits()) is scores
    assert logits_of((torch.randn(1, 3), scores), batch=2) is scores  # rows must match the batch, where given


@pytest.mark.parametrize(("output", "message"), [
    ((torch.randn(2), torch.randn(2, 3, 8, 8)), r"'m' returns tuple, not a tensor of class scores, and none of its 2 "
                                                  r"items is one \(2 x classes\): \(2,\), \(2, 3, 8, 8\)\."),
    ({"a": torch.randn(2, 3), "b": torch.randn(2, 3)}, r"'m' returns dict with keys 'a', 'b' and no 'logits' tensor"),
    ("scores", r"'m' returns str, not a tensor of class scores \(2 x classes\)\."),
    ((), r"'m' returns tuple, not a tensor of class scores, and none of its 0 items is one \(2 x classes\): empty\."),
])
def test_an_output_without_logits_is_one_clear_message(output, message):
    with pytest.raises(ModelLoadError, match=message):
        logits_of(output, batch=2, name="m")


def test_a_model_returning_a_tensor_is_not_wrapped():
    model = ReturnsTensor()
    assert with_logits(model, torch.randn(2, 4)) is model
    again = with_logits(ReturnsTuple(), (torch.randn(2, 4), torch.randn(2, 8)))
    assert copy.deepcopy(again)(torch.randn(1, 3, 8, 8)).shape == (1, 4)


def test_torch_export_modules_returning_a_tuple_keep_their_names():
    """torch.export's graph module (its generated forward lives on a class of its own) and the unflattened module
    both give their logits under their own layer names, and a copy of the graph module keeps the pick."""
    torch.manual_seed(0)
    net = freeze(ReturnsTuple())
    x = torch.randn(2, 3, 16, 16)
    program = torch.export.export(net, (x,))
    graph = with_logits(program.module(), program.module()(x), batch=2)
    twin = copy.deepcopy(graph)  # before unflatten: after it, torch cannot copy the program's graph module at all
    assert torch.allclose(twin(x), net(x)[0], atol=1e-6)
    assert dict(twin.named_parameters())["fc.weight"] is not dict(graph.named_parameters())["fc.weight"]
    for module in (program.module(), torch.export.unflatten(program)):
        wrapped = with_logits(module, module(x), batch=2)
        assert describe_pick(pick_of(wrapped)) == "output[0]"
        assert [n for n, _ in wrapped.named_modules()] == [n for n, _ in module.named_modules()]
        assert wrapped.state_dict().keys() == module.state_dict().keys()
        assert torch.allclose(wrapped(x), net(x)[0], atol=1e-6)
    with capture(wrapped, ["features.2"]) as captured:  # the unflattened module calls its layers (the graph does not)
        captured.run(x)
    assert captured["features.2"].shape == (2, 8, 16, 16)
