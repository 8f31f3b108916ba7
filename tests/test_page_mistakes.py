"""The Mistakes page in AppTest: the demo set with no upload, and an uploaded zip."""
import pytest
from streamlit.testing.v1 import AppTest

from app_support import open_app, settle
from test_mistakes_zip import CAT, COFFEE, make_zip

TIMEOUT = 240


def texts(at: AppTest) -> str:
    parts = [e.value for e in at.markdown] + [e.value for e in at.caption] + [e.label for e in at.metric] + \
            [e.value for e in at.metric] + [e.value for e in at.warning] + [e.value for e in at.info]
    return "\n".join(str(p) for p in parts)


@pytest.fixture(scope="module")
def page() -> AppTest:
    return settle(open_app("pages/mistakes.py", TIMEOUT))  # the evaluation and the maps are background jobs


def test_demo_set_shows_scores_mistakes_and_a_contrastive_explanation(page):
    assert not page.exception, page.exception
    assert not page.error, [e.value for e in page.error]
    metrics = {m.label: m.value for m in page.metric}
    assert metrics["Images"] == "18"
    assert 0 < float(metrics["Top-1 accuracy"].rstrip("%")) < 100
    assert int(metrics["Mistakes"]) >= 1
    text = texts(page)
    assert "the contrastive map attributes logit(" in text
    mistake = page.selectbox(key="mistakes-mistake")
    assert "true:" in mistake.format_func(mistake.value)
    assert page.get("arrow_vega_lite_chart") or page.get("vega_lite_chart")  # top-k and calibration charts
    assert page.get("download_button")


def test_choosing_a_pair_lists_its_images(page):
    pair = page.selectbox(key="mistakes-pair")
    assert "→" in pair.format_func(pair.value) and "(right)" not in pair.format_func(pair.value)  # a mistake first
    assert any("(right)" in o for o in pair.options)
    from interpret.models.classes import imagenet_classes

    missile = imagenet_classes().index("missile")
    pair.set_value((missile, missile)).run()
    assert not page.exception
    assert any("missile → missile" in m.value and "(right)" in m.value for m in page.markdown)


def test_every_method_that_applies_is_offered_and_a_cam_explains_the_mistake(page, bundled):
    from interpret.attribution import REGISTRY, applicable

    method = page.selectbox(key="mistakes-method")
    applies = [m for m in REGISTRY if applicable(bundled, m)[0]]
    assert len(method.options) == len(applies) and len(applies) >= 20  # the transformer-only methods are refused
    method.set_value("gradcam").run()
    settle(page.selectbox(key="mistakes-objective").set_value("probability").run())
    assert not page.exception and not page.error, [e.value for e in page.error]
    assert "Grad-CAM of the probability" in texts(page)


def test_an_uploaded_zip_is_evaluated_and_bad_labels_are_reported():
    at = open_app("pages/mistakes.py", TIMEOUT)
    at.radio(key="mistakes-source").set_value("zip").run()
    data = make_zip({"espresso/a.png": COFFEE, "tabby/b.png": CAT, "kitty/c.png": CAT, "readme.txt": b"x"})
    settle(at.file_uploader(key="mistakes-zip").set_value([("mine.zip", data, "application/zip")]).run())
    assert not at.exception, at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Images"] == "2"
    text = texts(at)
    assert "'kitty' matches no class" in text and "its 1 image left out" in text and "1 not images" in text
    # the folder that matches no class can be counted as a chosen class: its image is evaluated then
    box = next(b for b in at.selectbox if "of 'kitty' as" in b.label)
    settle(box.set_value(281).run())  # tabby
    assert not at.exception, at.exception
    assert {m.label: m.value for m in at.metric}["Images"] == "3"


def test_a_bad_zip_is_one_clear_error_and_a_local_folder_works(tmp_path):
    at = open_app("pages/mistakes.py", TIMEOUT)
    at.radio(key="mistakes-source").set_value("zip").run()
    at.file_uploader(key="mistakes-zip").set_value([("bad.zip", b"not a zip", "application/zip")]).run()
    assert not at.exception
    assert any("not a readable zip" in e.value for e in at.error)
    for path, data in {"espresso/a.png": COFFEE, "281/b.png": CAT}.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_bytes(data)
    at.radio(key="mistakes-source").set_value("path").run()
    settle(at.text_input(key="mistakes-path").input(str(tmp_path)).run())
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert {m.label: m.value for m in at.metric}["Images"] == "2"


def test_a_mistake_is_explained_by_grad_cam_unless_another_method_is_chosen():
    """The defect: Explain a mistake opened on the signed Gradient, a speckle of both signs that reads as noise beside
    its contrast. On a CNN a new session opens it on Grad-CAM."""
    at = settle(open_app("pages/mistakes.py", TIMEOUT))
    assert not at.exception, at.exception
    assert at.selectbox(key="mistakes-method").value == "gradcam"
    assert "Grad-CAM of the logit" in texts(at)
