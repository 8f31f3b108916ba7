"""The sidebar's weights file for a zoo architecture (AppTest): a wrapped, prefixed checkpoint loads, the overview
says how it was matched and how the head's scores are read, and the EMA box loads the checkpoint's EMA copy."""
from __future__ import annotations

import io

import pytest
import torch
import torchvision
from streamlit.testing.v1 import AppTest

from app_support import open_app


def texts(at: AppTest) -> str:
    """Everything written, with Markdown's escapes taken out (plain() escapes the underscores of 'state_dict')."""
    return "\n".join(str(e.value) for e in [*at.markdown, *at.subheader, *at.caption, *at.info]).replace("\\", "")


def errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


def checkpoint(classes: int, ema: bool) -> bytes:
    torch.manual_seed(classes)
    state = torchvision.models.squeezenet1_1(num_classes=classes).state_dict()
    saved = {"state_dict": {f"module.{k}": v for k, v in state.items()}, "epoch": 7}
    if ema:
        saved["state_dict_ema"] = {k: v * 0.5 for k, v in state.items()}
    buffer = io.BytesIO()
    torch.save(saved, buffer)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def app() -> AppTest:
    at = open_app()
    at.sidebar.selectbox(key="sb-source").set_value("torchvision").run()
    at.sidebar.selectbox(key="sb-arch-torchvision").set_value("squeezenet1_1").run()
    at.sidebar.radio(key="sb-weights").set_value("file").run()
    return at


def test_a_wrapped_checkpoint_and_its_ema_copy(app):
    app.sidebar.file_uploader(key="sb-weights-file").set_value(("ckpt.pth", checkpoint(5, ema=True),
                                                                  "application/octet-stream")).run()
    assert not app.exception and not errors(app), errors(app)
    shown = texts(app)
    assert "5 classes (softmax)" in shown
    assert ("Weights: matched 52 of 52 tensors (wrapper 'state_dict', prefix 'module.' removed, head of 5 outputs)"
            in shown)
    app.sidebar.checkbox(key="sb-ema").check().run()
    assert not app.exception and not errors(app), errors(app)
    assert ("Weights: matched 52 of 52 tensors (EMA wrapper 'state_dict_ema', head of 5 outputs)" in texts(app))


def test_a_one_output_checkpoint_is_read_with_a_sigmoid(app):
    app.sidebar.checkbox(key="sb-ema").uncheck().run()
    app.sidebar.file_uploader(key="sb-weights-file").set_value(("binary.pth", checkpoint(1, ema=False),
                                                                  "application/octet-stream")).run()
    assert not app.exception and not errors(app), errors(app)
    shown = texts(app)
    assert "1 classes (sigmoid: independent probabilities)" in shown and "head of 1 output)" in shown
    assert "Top prediction: class 0 (100.0%)" not in shown  # a softmax over one output would always say 100 %
