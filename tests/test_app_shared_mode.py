"""The app in both modes (AppTest): what shared mode turns off, and TorchScript consent bound to each file.

Also: a model that does not load leaves the session working, on its previous model and its images.
"""
from __future__ import annotations

import io

import pytest
import torch
from streamlit.testing.v1 import AppTest
from torch import nn

from app_support import open_app
from interpret.policy import CONSENT_LABEL, SHARED_ENV
from interpret.ui.mistakes_view import SOURCES as SET_SOURCES
from interpret.ui.plain import plain
from interpret.ui.sidebar import SOURCES as MODEL_SOURCES

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.(script|save)` is deprecated:FutureWarning")


class Tiny(nn.Module):
    def __init__(self, classes: int):
        super().__init__()
        self.fc = nn.Linear(3, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x.mean((2, 3)))


def torchscript(classes: int) -> bytes:
    buffer = io.BytesIO()
    torch.jit.save(torch.jit.script(Tiny(classes)), buffer)
    return buffer.getvalue()


def errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


def texts(at: AppTest) -> str:
    return "\n".join(str(e.value) for e in [*at.markdown, *at.subheader, *at.caption, *at.info])


def consent_boxes(at: AppTest) -> list:
    return [box for box in at.sidebar.checkbox if box.label == CONSENT_LABEL]


def test_local_mode_offers_torchscript_and_the_server_folder_box(monkeypatch):
    monkeypatch.delenv(SHARED_ENV, raising=False)
    at = open_app()
    assert MODEL_SOURCES["file"] in at.sidebar.selectbox(key="sb-source").options
    assert "Shared mode" not in texts(at)
    at.switch_page("pages/mistakes.py").run()
    assert not at.exception
    assert SET_SOURCES["path"] in at.radio(key="mistakes-source").options


def test_shared_mode_offers_neither(monkeypatch):
    monkeypatch.setenv(SHARED_ENV, "1")
    at = open_app()
    assert not at.exception
    assert at.sidebar.selectbox(key="sb-source").options == [MODEL_SOURCES[k] for k in ("bundled", "torchvision", "timm", "hf")]
    assert f"Shared mode ({SHARED_ENV})" in texts(at)
    assert "Top prediction: espresso" in texts(at)  # everything else works as before
    at.switch_page("pages/mistakes.py").run()
    assert not at.exception
    assert at.radio(key="mistakes-source").options == [SET_SOURCES["demo"], SET_SOURCES["zip"]]


def test_torchscript_loads_only_once_its_own_file_is_trusted(monkeypatch):
    monkeypatch.delenv(SHARED_ENV, raising=False)
    at = open_app()
    at.sidebar.selectbox(key="sb-source").set_value("file").run()
    at.sidebar.file_uploader(key="sb-model-file").set_value(("three.pt", torchscript(3), "application/octet-stream")).run()
    assert not at.exception
    [box] = consent_boxes(at)
    assert box.value is False
    assert not errors(at)  # waiting for the box is not a failure (it was a red "did not load" error)
    [wait] = [str(i.value) for i in at.info if "consent" in str(i.value)]
    assert wait.startswith("Waiting for your consent in the sidebar: 'three.pt' is a TorchScript file")
    assert CONSENT_LABEL in wait
    assert "Top prediction: espresso" in texts(at)  # the bundled model, still in use until this one loads
    box.check().run()
    assert not at.exception and not errors(at)
    assert "Top prediction: class " in texts(at)  # three.pt's own (unnamed) classes
    # another file needs its own tick: the box is bound to the file's sha256
    at.sidebar.file_uploader(key="sb-model-file").set_value(("four.pt", torchscript(4), "application/octet-stream")).run()
    [box] = consent_boxes(at)
    assert box.value is False
    assert any("'four.pt' is a TorchScript file" in str(i.value) for i in at.info) and not errors(at)


def test_a_bad_model_file_keeps_the_previous_model_and_the_images(monkeypatch):
    monkeypatch.delenv(SHARED_ENV, raising=False)
    at = open_app()
    at.sidebar.multiselect(key="sb-samples").set_value(["coffee", "rocket"]).run()
    at.sidebar.selectbox(key="sb-source").set_value("file").run()
    at.sidebar.file_uploader(key="sb-model-file").set_value(("model.pt", b"garbage", "application/octet-stream")).run()
    assert not at.exception
    [error] = errors(at)
    assert error.startswith("The model did not load: 'model.pt'") and "\n" not in error
    assert not consent_boxes(at)  # not TorchScript: there is nothing to trust
    assert f"Still showing the previous model, {plain('bundled:efficientnet_lite0')}" in texts(at)  # Markdown source
    assert "Top prediction: espresso" in texts(at)
    assert at.sidebar.multiselect(key="sb-samples").value == ["coffee", "rocket"]
    at.sidebar.selectbox(key="sb-source").set_value("bundled").run()
    assert not errors(at) and "Still showing" not in texts(at)
