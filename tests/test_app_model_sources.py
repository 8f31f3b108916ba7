"""The sidebar loads the new model sources (AppTest): a torch.export upload once its consent box is ticked,
and a transformers folder by path, each giving predictions with the model's own class names."""
from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

from app_support import open_app
from interpret.policy import CONSENT_LABEL

LABELS = {0: "cat", 1: "dog", 2: "fox"}


def texts(at: AppTest) -> str:
    return "\n".join(str(e.value) for e in [*at.markdown, *at.subheader, *at.caption, *at.info])


def errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


def waits(at: AppTest) -> list[str]:
    """The page's line for a model waiting for the sidebar's consent box (an info, not an error)."""
    return [str(i.value) for i in at.info if str(i.value).startswith("Waiting for your consent")]


def tiny_program() -> bytes:
    """A small CNN with the class count of LABELS, exported with a dynamic batch."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, stride=4), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1),
                              torch.nn.Flatten(), torch.nn.Linear(4, 3)).eval()
    program = torch.export.export(net, (torch.randn(2, 3, 224, 224),), dynamic_shapes=({0: torch.export.Dim("batch")},))
    buffer = io.BytesIO()
    torch.export.save(program, buffer)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def app() -> AppTest:
    return open_app()


def test_a_pt2_upload_loads_once_trusted(app):
    app.sidebar.selectbox(key="sb-source").set_value("export").run()
    app.sidebar.file_uploader(key="sb-export-file").set_value(("tiny.pt2", tiny_program(), "application/octet-stream")).run()
    assert not app.exception
    assert any("torch.export program" in w and "tiny.pt2" in w for w in waits(app)) and not errors(app)  # until trusted
    [box] = [box for box in app.sidebar.checkbox if box.label == CONSENT_LABEL]
    box.check().run()
    assert not app.exception and not errors(app), errors(app)
    assert "Top prediction: class " in texts(app)


def test_a_python_factory_loads_with_its_kwargs_once_trusted(app, monkeypatch):
    monkeypatch.chdir(Path(__file__).resolve().parent / "fixtures")  # the app started in the user's project
    app.sidebar.selectbox(key="sb-source").set_value("python").run()
    app.sidebar.text_input(key="sb-py-spec").set_value("py:user_models:build_model").run()
    app.sidebar.text_input(key="sb-py-kwargs").set_value('{"num_classes": 3}').run()
    assert any("your Python code" in w for w in waits(app)) and not errors(app)  # waits until trusted
    [box] = [box for box in app.sidebar.checkbox if box.label == CONSENT_LABEL]
    box.check().run()
    assert not app.exception and not errors(app), errors(app)
    assert "Top prediction: class " in texts(app)
    sys.modules.pop("user_models", None)


def test_a_transformers_folder_loads_by_path(app, tmp_path):
    transformers = pytest.importorskip("transformers")
    torch.manual_seed(0)
    model = transformers.ViTForImageClassification(transformers.ViTConfig(
        image_size=32, patch_size=16, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=64, id2label=LABELS, label2id={v: k for k, v in LABELS.items()}))
    model.save_pretrained(tmp_path)
    transformers.ViTImageProcessor(size={"height": 32, "width": 32}).save_pretrained(tmp_path)
    app.sidebar.selectbox(key="sb-source").set_value("hf").run()
    app.sidebar.text_input(key="sb-hf-name").set_value(str(tmp_path)).run()
    assert not app.exception and not errors(app), errors(app)
    assert any(f"Top prediction: {name}" in texts(app) for name in LABELS.values())
    app.sidebar.selectbox(key="sb-activation").set_value("sigmoid").run()
    assert not app.exception and not errors(app), errors(app)
    from interpret.ui.state import _cached_model  # AppTest runs in this process: the very model the page used

    assert _cached_model(app.session_state["interpret_model_request"]).activation == "sigmoid"
