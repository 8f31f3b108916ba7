"""The app end to end in AppTest: default model, sample photo, predictions, bad inputs, every page."""
import io

import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from app_support import open_app
from interpret.samples import sample_bytes


def texts(at: AppTest) -> str:
    parts = [e.value for e in at.markdown] + [e.value for e in at.subheader] + [e.value for e in at.caption]
    return "\n".join(str(p) for p in parts)


def errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


@pytest.fixture(scope="module")
def app() -> AppTest:
    return open_app()


def test_starts_on_the_bundled_model_with_a_sample_photo_and_predictions(app):
    assert not app.exception
    assert "Top prediction: espresso" in texts(app)
    assert len(app.get("image")) == 2  # the photo and the tensor the model sees
    assert app.sidebar.selectbox(key="sb-source").value == "bundled"


def test_every_page_renders_without_exception(app):
    for page in ["pages/saliency.py", "pages/feature_maps.py", "pages/overview.py"]:
        app.switch_page(page).run()
        assert not app.exception, (page, app.exception)
        assert not errors(app), (page, errors(app))


def test_a_broken_upload_is_reported_and_the_rest_keeps_working():
    at = open_app()
    broken = ("broken.jpg", b"\xff\xd8\xff\xe0 not really a jpeg", "image/jpeg")
    at.sidebar.file_uploader(key="sb-uploads").set_value([broken]).run()
    assert not at.exception
    assert any("broken.jpg" in e for e in errors(at))
    assert "Top prediction: espresso" in texts(at)


def test_an_uploaded_photo_is_predicted():
    at = open_app()
    buffer = io.BytesIO()
    Image.open(io.BytesIO(sample_bytes("rocket"))).save(buffer, format="JPEG")
    at.sidebar.file_uploader(key="sb-uploads").set_value([("my_rocket.jpg", buffer.getvalue(), "image/jpeg")]).run()
    assert at.sidebar.selectbox(key="sb-current").value.startswith("upload:my_rocket.jpg")  # the newest upload is current
    assert not at.exception
    assert "Top prediction: missile" in texts(at)


def test_unavailable_weights_give_one_clear_message_and_the_images_stay():
    at = open_app()
    at.sidebar.selectbox(key="sb-source").set_value("torchvision").run()
    # this machine has no network: pretrained weights that are not cached cannot load
    if not any("cannot be reached" in e or "failed" in e for e in errors(at)):
        pytest.skip("pretrained torchvision weights are available here")
    assert not at.exception
    assert any("resnet18-f37072fd.pth" in e for e in errors(at))
    at.sidebar.radio(key="sb-weights").set_value("random").run()
    assert not at.exception and not errors(at)
    assert at.sidebar.multiselect(key="sb-samples").value == ["coffee"]
    at.sidebar.selectbox(key="sb-source").set_value("bundled").run()
    assert "Top prediction: espresso" in texts(at)


def test_a_model_file_that_does_not_load_is_reported():
    at = open_app()
    at.sidebar.selectbox(key="sb-source").set_value("file").run()
    at.sidebar.file_uploader(key="sb-model-file").set_value(("model.pt", b"garbage", "application/octet-stream")).run()
    assert not at.exception
    assert any("model.pt" in e for e in errors(at))


def test_the_shared_model_is_left_untouched_by_every_page(app):
    from interpret.ui.state import _cached_model

    for page in ["pages/saliency.py", "pages/feature_maps.py", "pages/overview.py"]:
        app.switch_page(page).run()
    # AppTest runs the script in this process: the cache holds the very object the pages used
    request = app.session_state["interpret_model_request"]
    lm = _cached_model(request)
    assert not lm.model.training
    assert all(p.grad is None and not p.requires_grad for p in lm.model.parameters())
    assert not any(m._forward_hooks or m._backward_hooks or m._forward_pre_hooks for m in lm.model.modules())
