"""The Saliency page in AppTest: several methods side by side, and display changes that never recompute."""
from __future__ import annotations

import html

import pytest
from streamlit.testing.v1 import AppTest

from app_support import APP, open_app, open_app_on_torchscript, settle, small_torchscript
from interpret.attribution import REGISTRY
from interpret.ui import maps

METHODS = ["gradient", "grad_x_input", "guided_backprop", "gradcam", "eigencam"]


def images(at: AppTest) -> list:
    return list(at.get("image"))


def map_captions(at: AppTest) -> str:
    """The text under every map (show_map writes it as a fixed-height block of HTML)."""
    return html.unescape(" ".join(m.value for m in at.markdown if "map-caption" in m.value))


@pytest.fixture(scope="module")
def page() -> AppTest:
    at = open_app("pages/saliency.py", 300)
    settle(at.multiselect(key="sal-methods").set_value(METHODS).run())
    assert not at.exception, at.exception
    return at


def test_one_overlay_and_one_heat_map_per_method(page):
    assert not page.error, [e.value for e in page.error]
    shown = images(page)
    assert len(shown) == 2 * len(METHODS)
    captions = map_captions(page)
    for method in METHODS:
        assert REGISTRY[method].label in captions
    assert "espresso" in captions  # the predicted class is the default target
    assert len(page.main.get("download_button")) == 2 * len(METHODS)  # a PNG and a .npy per map


def test_display_settings_redraw_from_the_cached_maps(page):
    before = maps.computations["count"]
    page.selectbox(key="sal-display-cmap").set_value("viridis").run()
    page.selectbox(key="sal-display-mode").set_value("signed").run()  # (the colour-map box then offers diverging maps)
    page.slider(key="sal-display-alpha").set_value(0.8).run()
    page.toggle(key="sal-display-shared").set_value(True).run()
    page.toggle(key="sal-heat").set_value(False).run()
    assert not page.exception
    assert maps.computations["count"] == before  # every map came from the shared store
    assert len(images(page)) == len(METHODS)


def test_the_loss_objective_for_another_class_recomputes(page):
    before = maps.computations["count"]
    settle(page.radio(key="sal-objective").set_value("loss").run())
    assert not page.exception
    assert maps.computations["count"] == before + len(METHODS)
    assert "(loss)" in map_captions(page)


def test_the_comparison_can_show_its_trust_table(page):
    page.radio(key="sal-objective").set_value("logit").run()  # Grad-CAM of the loss is blank, hence not shown
    settle(page.toggle(key="saliency-trust-on").set_value(True).run())  # the scores are background jobs
    assert not page.exception, page.exception
    tables = [t.value for t in page.dataframe]
    trust = next(t for t in tables if "sanity" in t.columns)
    labels = list(map(str, trust["map"]))
    assert all(any(REGISTRY[m].label in label for label in labels) for m in METHODS), labels
    assert {"reference: random", "reference: centre", "reference: sobel"} <= set(labels)
    verdicts = [str(v) for label, v in zip(labels, trust["sanity"], strict=True) if not label.startswith("reference")]
    assert len(verdicts) == len(METHODS) and all(v.strip() for v in verdicts)


@pytest.mark.filterwarnings("ignore:`torch.jit.(script|save|load)` is deprecated:FutureWarning")
def test_a_torchscript_model_offers_what_runs_and_lists_the_rest_with_reasons(monkeypatch):
    """The default set used to fail as a whole on TorchScript ('get_submodule is not supported...'): now the methods
    that apply are offered and drawn, and Guided Backprop and the CAMs are listed as not available, with the reason."""
    from interpret.policy import SHARED_ENV

    monkeypatch.delenv(SHARED_ENV, raising=False)
    at = open_app_on_torchscript("pages/saliency.py", small_torchscript())
    assert not at.exception and not at.error, [e.value for e in at.error]
    offered = at.multiselect(key="sal-methods").options
    assert REGISTRY["gradient"].label in offered and REGISTRY["integrated_gradients"].label in offered
    assert REGISTRY["guided_backprop"].label not in offered and REGISTRY["gradcam"].label not in offered
    assert at.multiselect(key="sal-methods").value == ["gradient", "grad_x_input"]  # the defaults that apply
    assert len(images(at)) == 2 * 2
    reasons = " ".join(str(c.value) for c in at.caption)
    assert "Guided Backprop: a TorchScript model's activations cannot be modified" in reasons
    assert "Grad-CAM: its layers cannot be captured in a TorchScript model" in reasons


def test_cams_that_are_one_map_are_said_to_be_one_and_deeplift_of_a_loss_is_refused_with_its_reason():
    """At the default model's default CAM layer (global average pooling follows it) Grad-CAM, XGrad-CAM and HiResCAM
    are the same map to float rounding: the page says so under them, and not when only one of them is shown.
    DeepLIFT of the loss: one warning with the reason (its rules hold for the class score only), no map."""
    at = open_app("pages/saliency.py", 300)
    settle(at.multiselect(key="sal-methods").set_value(["gradcam", "xgradcam", "hirescam", "layercam"]).run())
    assert not at.exception and not at.error, (at.exception, [e.value for e in at.error])
    notes = [c.value for c in at.caption if "same map" in c.value]
    assert notes == ["Grad-CAM, XGrad-CAM and HiResCAM are the same map here: at a layer followed by global average "
                     "pooling the gradient of each channel is the same at every position, and their formulas coincide."]
    settle(at.multiselect(key="sal-methods").set_value(["gradcam", "layercam", "deeplift"]).run())
    assert len(images(at)) == 2 * 3 and not [c.value for c in at.caption if "same map" in c.value]
    settle(at.radio(key="sal-objective").set_value("loss").run())
    assert not at.exception, at.exception
    assert [w.value for w in at.warning if "DeepLIFT" in w.value] == [
        "DeepLIFT: its rules hold for the class score only, and a loss is a log-softmax (or log-sigmoid) of the class "
        "scores, which they do not propagate (the map would not sum to the change of the loss); explain the logit "
        "instead."]
    assert "DeepLIFT" not in map_captions(at)


LRP = ["lrp_epsilon_plus_flat", "lrp_epsilon_gamma_box"]


def test_lrp_is_drawn_with_its_conservation_gap_and_offered_on_every_page_where_it_applies(monkeypatch):
    """LRP comes from the registry like every method: refused on the default EfficientNet-Lite0 with the reason, and on
    a torchvision ResNet drawn with the share of the score its relevance keeps under the map, and offered by the Trust
    and Mistakes pages."""
    at = open_app("pages/saliency.py", 300)
    reasons = " ".join(str(c.value) for c in at.caption)
    assert "LRP (ε, z⁺, flat): its batch norm" in reasons and "cannot merge it" in reasons
    labels = {REGISTRY[m].label for m in LRP}  # how a method picker lists its options
    assert not labels & set(at.multiselect(key="sal-methods").options)
    at = AppTest.from_file(APP, default_timeout=300)  # a new session opening a link to a ResNet
    at.query_params.update({"model": "torchvision:resnet18", "weights": "random"})
    at.run()
    at.switch_page("pages/saliency.py").run()
    settle(at.multiselect(key="sal-methods").set_value(LRP).run())
    assert not at.exception and not at.error, (at.exception, [e.value for e in at.error])
    captions = map_captions(at)
    assert len(images(at)) == 2 * len(LRP) and captions.count("relevance sums to") >= len(LRP)  # (title and text)
    assert all(REGISTRY[m].label in captions for m in LRP) and "the biases keep their share" in captions
    at.switch_page("pages/trust.py").run()
    assert labels <= set(at.multiselect(key="trust-methods").options)
    monkeypatch.setattr("interpret.limits.AUTO_COMPUTE_SECONDS", 1e9)  # the demo set's evaluation starts unasked
    settle(at.switch_page("pages/mistakes.py").run())
    assert labels <= set(at.selectbox(key="mistakes-method").options)
