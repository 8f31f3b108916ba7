"""torch.export `.pt2` programs: a ResNet-18 saved with torch.export.save loads (with consent), predicts as the
eager model does, and keeps its module names, so layers are listed and Grad-CAM and feature maps run on them."""
from __future__ import annotations

import io
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from interpret.attribution import attribute
from interpret.errors import ModelLoadError
from interpret.features.activations import layer_activations
from interpret.layers import default_cam_layer, list_layers
from interpret.models import load_model, parse_spec
from interpret.policy import SHARED_ENV, CodeConsentRequired, SharedModeRefused
from interpret.samples import load_sample


def _export(model: torch.nn.Module, batch: torch.export.Dim | None) -> bytes:
    x = torch.randn(2, 3, 224, 224) if batch is not None else torch.randn(1, 3, 224, 224)
    program = torch.export.export(model, (x,), dynamic_shapes=({0: batch},) if batch is not None else None)
    buffer = io.BytesIO()
    torch.export.save(program, buffer)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def eager(resnet18) -> torch.nn.Module:
    """The shared random-weight (seeded) ResNet-18 of conftest, whose LoadedModel gives the eager maps."""
    return resnet18.model


@pytest.fixture(scope="module")
def pt2(eager, tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("export") / "resnet18.pt2"
    path.write_bytes(_export(eager, torch.export.Dim("batch", min=1, max=64)))
    return str(path)


@pytest.fixture(scope="module")
def exported(pt2):
    return load_model(pt2, trust_code=True)


def test_a_pt2_path_is_a_torch_export_spec():
    assert parse_spec("/models/resnet18.pt2") == ("export", "/models/resnet18.pt2")
    assert parse_spec("file:resnet18.pt2") == ("export", "resnet18.pt2")
    assert parse_spec("/models/resnet18.pt") == ("file", "/models/resnet18.pt")


def test_loading_a_program_needs_consent_and_is_refused_in_shared_mode(pt2, monkeypatch):
    with pytest.raises(CodeConsentRequired, match="torch.export program"):
        load_model(pt2)
    monkeypatch.setenv(SHARED_ENV, "1")
    with pytest.raises(SharedModeRefused, match="shared mode is on"):
        load_model(pt2, trust_code=True)


class _WritesWhenUnpickled:
    """Unpickling it writes a file: what any pickle inside a .pt2 archive can do."""

    def __init__(self, path: Path):
        self.path = path

    def __reduce__(self):
        return (Path.write_text, (self.path, "ran"))


def _with_pickle(program: bytes, payload: object) -> bytes:
    """The archive with its sample inputs replaced by `payload`: torch.export.load unpickles them with
    weights_only=True, then, when that fails, with weights_only=False (torch/_export/serde/serialize.py)."""
    source = zipfile.ZipFile(io.BytesIO(program))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for info in source.infolist():
            data = source.read(info)
            archive.writestr(info.filename, pickle.dumps(payload) if info.filename.endswith("sample_inputs/model.pt")
                             else data)
    return buffer.getvalue()


@pytest.mark.filterwarnings("ignore:Detected pickle protocol:UserWarning")
def test_a_pt2_file_is_code_its_pickles_run_only_after_consent(tmp_path):
    torch.manual_seed(0)
    tiny = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(),
                               torch.nn.Linear(4, 2)).eval()
    marker = tmp_path / "written-by-the-file"
    path = tmp_path / "hostile.pt2"
    path.write_bytes(_with_pickle(_export(tiny, torch.export.Dim("batch")), _WritesWhenUnpickled(marker)))
    with pytest.raises(CodeConsentRequired):
        load_model(str(path))
    assert not marker.exists()
    with pytest.raises(ModelLoadError, match="not a loadable torch.export program"):
        load_model(str(path), trust_code=True)
    assert marker.read_text() == "ran"  # what consent is for: loading it ran the file's code


def test_predictions_equal_the_eager_model(exported, eager):
    photos = torch.cat([exported.preprocessing.to_tensor(load_sample(name).image) for name in ("coffee", "chelsea")])
    with torch.inference_mode():
        assert torch.allclose(exported.model(photos), eager(photos), atol=1e-5)
    assert exported.num_classes == 1000 and exported.class_names[967] == "espresso"
    assert exported.preprocessing.crop_size == 224 and exported.activation == "softmax"
    assert exported.hookable and not exported.model.training


def test_layers_carry_the_original_module_names(exported, eager):
    names = [layer.name for layer in list_layers(exported)]
    eager_names = {name for name, _ in eager.named_modules()}
    assert {"layer4", "layer4.1.conv2", "layer1.0.bn1", "fc"} <= set(names) <= eager_names
    assert default_cam_layer(exported) == "layer4"


def test_grad_cam_and_feature_maps_at_layer4_match_the_eager_model(exported, resnet18):
    x = exported.preprocessing.to_tensor(load_sample("chelsea").image)
    cam = attribute(exported, x, "gradcam", target=281, layer="layer4")
    assert cam.values.shape == (224, 224) and cam.values.max() > 0
    assert np.allclose(cam.values, attribute(resnet18, x, "gradcam", target=281, layer="layer4").values, atol=1e-5)
    maps = layer_activations(exported, x, "layer4")
    assert maps.values.shape == (1, 512, 7, 7)
    assert np.allclose(maps.values, layer_activations(resnet18, x, "layer4").values, atol=1e-5)
    assert not any(m._forward_hooks for m in exported.model.modules())  # the capture left nothing behind


class SmallCNN(torch.nn.Module):
    """A CNN whose forward reshapes with its batch (reshape(n, -1)): exported for one image, the graph holds n = 1."""

    def __init__(self) -> None:
        super().__init__()
        self.features = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(),
                                            torch.nn.Conv2d(8, 8, 3, padding=1), torch.nn.ReLU())
        self.pool = torch.nn.AdaptiveAvgPool2d(2)
        self.fc = torch.nn.Linear(32, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.pool(self.features(x)).reshape(x.shape[0], -1))


@pytest.fixture(scope="module")
def static_pair(tmp_path_factory):
    """A static-batch-1 export (torch.export.export(model, (x,)), the default) and the eager model it came from."""
    from interpret.models import LoadedModel
    from interpret.preprocess import IMAGENET

    torch.manual_seed(0)
    eager = SmallCNN().eval()
    path = tmp_path_factory.mktemp("static") / "small.pt2"
    path.write_bytes(_export(eager, None))
    exported = load_model(str(path), trust_code=True)
    reference = load_model("torchvision:resnet18", weights="random")  # only for its LoadedModel fields
    same = LoadedModel(spec="eager", model=eager, preprocessing=exported.preprocessing, class_names=exported.class_names,
                       device=reference.device)
    assert exported.preprocessing == IMAGENET
    return exported, same


def test_a_program_exported_for_one_image_runs_any_batch_as_the_eager_model(static_pair):
    exported, eager = static_pair
    x = torch.randn(3, 3, 224, 224)
    with torch.inference_mode():
        assert torch.allclose(exported.model(x), eager.model(x), atol=1e-5)
        with pytest.raises(RuntimeError, match="to be equal to 1"):  # the program itself holds its batch of 1
            exported.model.inner(x)
    assert [layer.name for layer in list_layers(exported)] == [layer.name for layer in list_layers(eager)]


@pytest.mark.parametrize(("method", "params"), [("integrated_gradients", {"steps": 8}),
                                                ("occlusion", {"window": 112, "stride": 56})])
def test_batched_methods_give_the_eager_models_map_on_a_static_batch_program(static_pair, method, params):
    """IG packs path points, Occlusion masked images, several per pass: the program runs them one per call."""
    exported, eager = static_pair
    x = exported.preprocessing.to_tensor(load_sample("coffee").image)
    ours = attribute(exported, x, method, 1, params=params).values
    theirs = attribute(eager, x, method, 1, params=params).values
    assert np.allclose(ours, theirs, atol=1e-5 * max(1.0, float(np.abs(theirs).max())))


def test_batched_grad_cam_captures_one_image_per_pass_on_a_static_batch_program(static_pair):
    """A captured layer sees one row per call: batched CAMs run one image per pass on such a program."""
    from interpret.attribution.batch import attribute_batch, batch_rows

    exported, eager = static_pair
    assert batch_rows(exported) == 1
    xs = torch.randn(3, 3, 224, 224)
    ours = attribute_batch(exported, xs, "gradcam", [0, 1, 2], layer="features.3")
    theirs = attribute_batch(eager, xs, "gradcam", [0, 1, 2], layer="features.3")
    for a, b in zip(ours, theirs, strict=True):
        assert np.allclose(a.values, b.values, atol=1e-5)


def test_a_program_exported_for_a_fixed_batch_of_several_is_refused_with_the_fix(tmp_path):
    torch.manual_seed(0)
    tiny = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(),
                               torch.nn.Linear(4, 2)).eval()
    program = torch.export.export(tiny, (torch.randn(4, 3, 224, 224),))
    buffer = io.BytesIO()
    torch.export.save(program, buffer)
    path = tmp_path / "fixed4.pt2"
    path.write_bytes(buffer.getvalue())
    with pytest.raises(ModelLoadError, match=r"fixed batch of 4 images.*batch of 1.*dynamic_shapes"):
        load_model(str(path), trust_code=True)


def test_a_file_that_is_not_a_program_is_named(tmp_path):
    path = tmp_path / "weights.pt2"
    torch.save({"w": torch.zeros(2)}, path)
    with pytest.raises(ModelLoadError, match="not a torch.export archive"):
        load_model(str(path), trust_code=True)
