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


def test_a_program_exported_for_a_fixed_batch_is_refused_with_the_fix(tmp_path):
    torch.manual_seed(0)
    tiny = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(),
                               torch.nn.Linear(4, 2)).eval()
    path = tmp_path / "fixed.pt2"
    path.write_bytes(_export(tiny, None))
    with pytest.raises(ModelLoadError, match=r"fixed batch of 1 image.*dynamic_shapes"):
        load_model(str(path), trust_code=True)


def test_a_file_that_is_not_a_program_is_named(tmp_path):
    path = tmp_path / "weights.pt2"
    torch.save({"w": torch.zeros(2)}, path)
    with pytest.raises(ModelLoadError, match="not a torch.export archive"):
        load_model(str(path), trust_code=True)
