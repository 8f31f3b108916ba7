"""Choices last: leaving a page and coming back keeps its methods, display settings and uploaded set; a widget drawn
again shows its kept value (the target class, a CAM layer); the shell sets its process-wide option once."""
import pytest
from streamlit.testing.v1 import AppTest

from app_support import open_app
from test_mistakes_zip import CAT, COFFEE, make_zip

TIMEOUT = 240


def away_and_back(at: AppTest, page: str) -> AppTest:
    at.switch_page("pages/overview.py").run()
    assert not at.exception, at.exception
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


@pytest.fixture(scope="module")
def at() -> AppTest:
    return open_app(timeout=TIMEOUT)


def test_saliency_methods_and_display_settings_survive_a_page_switch(at):
    at.switch_page("pages/saliency.py")
    at.session_state["sal-methods"] = ["gradient", "grad_x_input"]  # chosen before the page's first run: two quick maps
    at.run()
    at.multiselect(key="sal-methods").set_value(["gradient"])
    at.selectbox(key="sal-display-mode").set_value("positive")
    at.slider(key="sal-display-alpha").set_value(0.8)
    at.toggle(key="sal-heat").set_value(False).run()
    assert not at.exception, at.exception
    away_and_back(at, "pages/saliency.py")
    assert at.multiselect(key="sal-methods").value == ["gradient"]
    assert at.selectbox(key="sal-display-mode").value == "positive"
    assert at.slider(key="sal-display-alpha").value == 0.8
    assert at.toggle(key="sal-heat").value is False
    assert not [w.value for w in at.warning if "Session State" in str(w.value)]  # no duplicate-value warning
    assert len(at.get("image")) == 1  # the one map, no heat map alone


def shown_value(box) -> str:
    """What the browser shows in a selectbox: the value the server sends with it, else the widget's own default
    option (Streamlit sends a re-drawn box's value only when it was set through st.session_state)."""
    if box.proto.set_value:
        return box.proto.raw_value
    return box.options[box.proto.default]


def test_the_target_class_box_shows_the_prediction_not_an_empty_choice(at):
    """The box's first entry follows the prediction; it was the option None, which Streamlit draws as the empty
    placeholder 'Choose an option'."""
    at.switch_page("pages/saliency.py").run()
    box = next(s for s in at.selectbox if s.key and s.key.startswith("sal-target|"))
    assert box.index == 0 and box.format_func(box.value).startswith("predicted: espresso")
    assert shown_value(box).startswith("predicted: espresso")


def test_the_mistakes_zip_survives_a_page_switch_and_another_mistake_keeps_the_display_settings(at):
    at.switch_page("pages/mistakes.py")
    at.session_state["mistakes-source"] = "zip"  # chosen before the first run: the demo set is not evaluated
    at.run()
    data = make_zip({"espresso/a.png": COFFEE, "tabby/b.png": CAT, "tabby/c.png": COFFEE, "espresso/d.png": CAT})
    at.file_uploader(key="mistakes-zip").set_value([("mine.zip", data, "application/zip")]).run()
    assert not at.exception, at.exception
    assert {m.label: m.value for m in at.metric}["Images"] == "4"
    away_and_back(at, "pages/mistakes.py")
    assert at.radio(key="mistakes-source").value == "zip"
    assert {m.label: m.value for m in at.metric}["Images"] == "4"  # the zip, not the demo set of 18
    assert any("mine.zip, uploaded earlier in this session" in c.value for c in at.caption)
    mistake = at.selectbox(key="mistakes-mistake")
    assert len(mistake.options) >= 2  # at least the espresso labelled tabby and the cat labelled espresso
    display = "mistakes-display-plain"  # Grad-CAM, the default method, is not signed
    at.selectbox(key=f"{display}-mode").set_value("negative")
    at.slider(key=f"{display}-alpha").set_value(0.9).run()
    chosen = at.selectbox(key="mistakes-mistake")
    other = next(i for i in range(4) if i != chosen.value and chosen.format_func(i) in chosen.options)  # an image index
    chosen.set_value(other).run()
    assert not at.exception, at.exception
    assert at.selectbox(key=f"{display}-mode").value == "negative"  # every other mistake used to reset them
    assert at.slider(key=f"{display}-alpha").value == 0.9


def test_a_mistake_opens_in_saliency_with_its_image_and_true_class(at):
    at.switch_page("pages/mistakes.py").run()
    assert {m.label: m.value for m in at.metric}["Images"] == "4"
    mistake = at.selectbox(key="mistakes-mistake")
    path = mistake.format_func(mistake.value).split(" · ")[1]
    true_name = path.split("/")[0]
    at.button(key="mistakes-to-saliency").click().run()
    assert not at.exception, at.exception
    assert any(h.value == "Saliency" for h in at.title)
    assert at.sidebar.selectbox(key="sb-current").format_func(at.sidebar.selectbox(key="sb-current").value).endswith(
        path.split("/")[-1])  # the mistake's image is the current one
    target = next(s for s in at.selectbox if s.key and s.key.startswith("sal-target|"))
    assert true_name in target.format_func(target.value)  # explained for its true class
    assert at.multiselect(key="sal-methods").value == ["gradcam"]  # the mistake's method
    at.switch_page("pages/mistakes.py").run()
    assert at.radio(key="mistakes-source").value == "zip"


def test_a_cam_layer_opens_its_channels_in_feature_maps(at):
    at.switch_page("pages/saliency.py").run()
    at.multiselect(key="sal-methods").set_value(["gradcam"]).run()
    layer = next(s for s in at.selectbox if s.key and s.key.startswith("sal-layer|")).value
    at.button(key="sal-to-features").click().run()
    assert not at.exception, at.exception
    assert next(s for s in at.selectbox if s.key and s.key.startswith("fm-layer|")).value == layer
    assert at.selectbox(key="fm-sort").value == "grad"


def test_a_cam_layer_chosen_stays_when_grad_cam_is_removed_and_chosen_again(at):
    at.switch_page("pages/saliency.py").run()
    methods = at.multiselect(key="sal-methods")
    methods.set_value(["gradient", "gradcam"]).run()

    def layer_box():
        return next(s for s in at.selectbox if s.key and s.key.startswith("sal-layer|"))

    assert layer_box().value == "bn2"  # the default CAM layer, not the model's first layer
    for chosen in ("bn2", "blocks.5.0"):
        layer_box().set_value(chosen).run()
        at.multiselect(key="sal-methods").set_value(["gradient"]).run()
        assert not [s for s in at.selectbox if s.key and s.key.startswith("sal-layer|")]
        at.multiselect(key="sal-methods").set_value(["gradient", "gradcam"]).run()
        assert layer_box().value == chosen
        assert shown_value(layer_box()).startswith(chosen + " · "), shown_value(layer_box())  # was: conv_stem


def test_the_sidebar_navigation_option_is_set_once_for_the_process(at, monkeypatch):
    """client.showSidebarNavigation is process-wide: app.py set it on every run; it is set once, while it is off."""
    import streamlit
    from streamlit import config

    calls = []
    real = streamlit.set_option
    monkeypatch.setattr(streamlit, "set_option", lambda key, value: (calls.append(key), real(key, value)))
    config.set_option("client.showSidebarNavigation", False)  # as .streamlit/config.toml starts a fresh server
    at.run()
    at.run()
    assert not at.exception, at.exception
    assert calls.count("client.showSidebarNavigation") == 1
    assert config.get_option("client.showSidebarNavigation") is True
