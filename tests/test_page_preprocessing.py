"""The app's sidebar shows every model's preprocessing, and edits that of a model file (AppTest, the whole app)."""
from __future__ import annotations

import dataclasses

import pytest

from app_support import open_app
from hostile.scripted import Tiny, script_bytes
from interpret.policy import CONSENT_LABEL, SHARED_ENV
from interpret.preprocess import Preprocessing
from interpret.ui.state import MODEL_KEY, _cached_model

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.(script|save)` is deprecated:FutureWarning")


def captions(at) -> str:
    return "\n".join(str(caption.value) for caption in at.caption)


def test_a_zoo_models_pipeline_is_shown_and_a_model_files_is_edited(monkeypatch):
    monkeypatch.delenv(SHARED_ENV, raising=False)
    at = open_app()
    assert not at.exception
    assert "resize the shorter side to 256 (bicubic" in "\n".join(str(c.value) for c in at.sidebar.caption)
    assert not [box for box in at.sidebar.selectbox if box.label == "Interpolation"]  # the bundled model's: read-only
    at.sidebar.selectbox(key="sb-source").set_value("file").run()
    at.sidebar.file_uploader(key="sb-model-file").set_value(("tiny.pt", script_bytes(Tiny(3)), "application/octet-stream")).run()
    [box] = [box for box in at.sidebar.checkbox if box.label == CONSENT_LABEL]
    box.check().run()
    assert not at.exception
    own = at.session_state[MODEL_KEY].preprocessing
    assert own is None  # untouched: the file's source decides
    [interpolation] = [box for box in at.sidebar.selectbox if box.label == "Interpolation"]
    interpolation.set_value("bicubic").run()
    [size] = [box for box in at.sidebar.number_input if box.label == "Input size (pixels)"]
    size.set_value(160).run()
    assert not at.exception and not at.error
    chosen = at.session_state[MODEL_KEY].preprocessing
    assert isinstance(chosen, Preprocessing) and (chosen.interpolation, chosen.crop_size) == ("bicubic", 160)
    assert "centre crop 160×160" in captions(at)  # the page's model summary: the model now loaded with it
    [image, seen] = at.get("image")
    assert seen.proto.imgs[0].caption == "What the model sees: 160×160 (de-normalised input tensor)"
    edited = at.session_state[MODEL_KEY]
    own_model, edited_model = _cached_model(dataclasses.replace(edited, preprocessing=None)), _cached_model(edited)
    assert edited_model.model is own_model.model  # the edit reuses the loaded network: no second copy of the weights
    assert edited_model.preprocessing.crop_size == 160 and own_model.preprocessing.crop_size != 160
