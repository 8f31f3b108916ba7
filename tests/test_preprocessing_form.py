"""The sidebar's preprocessing editor: every setting editable for a model file, shown read-only for a zoo model."""
from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from interpret.preprocess import IMAGENET


def editor_app(editable: bool = True) -> None:
    import streamlit as st

    from interpret.preprocess import IMAGENET
    from interpret.ui.preprocessing_form import preprocessing_editor

    st.session_state["chosen"] = preprocessing_editor(IMAGENET, key="test", editable=st.session_state.get("editable", True))


@pytest.fixture()
def app() -> AppTest:
    at = AppTest.from_function(editor_app, default_timeout=60)
    at.run()
    assert not at.exception
    return at


def widget(elements, label: str):
    return next(element for element in elements if element.label == label)


def test_untouched_the_editor_gives_back_the_default(app):
    assert app.session_state["chosen"] == IMAGENET
    assert "resize the shorter side to 256" in app.caption[0].value


def test_each_setting_changes_the_preprocessing(app):
    widget(app.selectbox, "Interpolation").set_value("bicubic")
    widget(app.text_input, "Mean (per channel)").set_value("0.5")
    widget(app.text_input, "Std (per channel)").set_value("0.25, 0.25, 0.5")
    widget(app.radio, "Channel order").set_value("BGR")
    widget(app.number_input, "Resize size (pixels)").set_value(320)
    widget(app.number_input, "Input size (pixels)").set_value(288)
    app.run()
    assert app.session_state["chosen"] == IMAGENET.replace(interpolation="bicubic", mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.5),
                                                           channel_order="BGR", resize_size=320, crop_size=288)
    assert any("Changed:" in caption.value for caption in app.caption)


def test_without_the_crop_the_photo_is_squashed_to_the_input_size(app):
    widget(app.checkbox, "Centre crop").uncheck()
    app.run()
    chosen = app.session_state["chosen"]
    assert (chosen.resize_mode, chosen.resize_size, chosen.crop_size, chosen.crops) == ("squash", 224, 224, False)


@pytest.mark.parametrize(("std", "message"), [("0, 1, 1", "positive"), ("a, b", "not one number"), ("0.5, 0.5", "three"),
                                              ("1e-300, 1, 1", "normalised in float32")])
def test_a_setting_that_cannot_be_applied_is_an_error_and_the_default_stays(app, std, message):
    widget(app.text_input, "Std (per channel)").set_value(std)
    app.run()
    assert not app.exception
    assert any(message in error.value for error in app.error)
    assert app.session_state["chosen"] == IMAGENET


def test_a_zoo_models_preprocessing_is_shown_not_edited():
    at = AppTest.from_function(editor_app, default_timeout=60)
    at.session_state["editable"] = False
    at.run()
    assert not at.exception and not at.selectbox and not at.text_input
    assert at.session_state["chosen"] == IMAGENET
    assert len(at.dataframe) == 1


def request_app() -> None:
    import streamlit as st

    from interpret.ui.preprocessing_form import preprocessing_request
    from interpret.ui.state import ModelRequest, current_model, request_model

    request = preprocessing_request(ModelRequest("torchvision:resnet18", "cpu", weights="random"), key="sb-pre")
    request_model(request)
    st.session_state["loaded"] = current_model()


def test_an_edited_preprocessing_is_the_loaded_models():
    at = AppTest.from_function(request_app, default_timeout=120)
    at.run()
    assert not at.exception
    assert at.session_state["loaded"].preprocessing == IMAGENET  # torchvision's own, before any edit
    widget(at.selectbox, "Interpolation").set_value("bicubic")
    at.run()
    assert at.session_state["loaded"].preprocessing == IMAGENET.replace(interpolation="bicubic")
    assert widget(at.selectbox, "Interpolation").value == "bicubic"  # the form keeps its values: its default did not move
