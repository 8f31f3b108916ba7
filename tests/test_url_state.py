"""A link restores a view: the query parameters set the sidebar's photos and the page's choices, bad ones are
ignored with a one-line notice, and the URL mirrors what the page shows."""
import math

from streamlit.testing.v1 import AppTest

from app_support import APP
from interpret.ui.plain import plain
from interpret.ui.url_state import _decode, encode

TIMEOUT = 240


def open_link(page: str, params: dict[str, str]) -> AppTest:
    """A new session (a reload, or a shared link) on `page` with `params` in its URL."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params.update(params)
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def notices(at: AppTest) -> str:
    return "\n".join(str(i.value) for i in at.info)


def test_values_read_back_as_written_and_bad_text_is_refused():
    assert encode(["gradient", "gradcam"]) == "gradient,gradcam" and encode(True) == "1" and encode(0.5) == "0.5"
    assert _decode("gradcam,gradient", [], ["gradient", "gradcam"], None, True) == (True, ["gradcam", "gradient"])
    assert _decode("gradient,rm -rf", [], ["gradient"], None, True) == (False, None)
    assert _decode("281", None, [None, *range(1000)], None, False) == (True, 281)
    assert _decode("", None, [None, 1], None, False) == (True, None)  # None (the prediction) is written as ""
    assert _decode("0.8", 0.5, None, (0.0, 1.0), False) == (True, 0.8)
    for text in ("nan", "inf", "5", "-1", "0x10", "", "½"):
        assert _decode(text, 0.5, None, (0.0, 1.0), False) == (False, None), text
    assert _decode("1", False, None, None, False) == (True, True) and _decode("yes", False, None, None, False)[0] is False
    assert not math.isnan(_decode("1e-3", 0.5, None, (0.0, 1.0), False)[1])


def test_a_deep_link_restores_the_saliency_view_and_the_url_mirrors_it():
    link = {"samples": "coffee,chelsea", "image": "chelsea", "methods": "gradient", "target": "281",
            "objective": "probability", "sign": "positive", "alpha": "0.8", "heat": "0"}
    at = open_link("pages/saliency.py", link)
    assert at.sidebar.multiselect(key="sb-samples").value == ["coffee", "chelsea"]
    assert at.sidebar.selectbox(key="sb-current").value == "chelsea"
    assert at.multiselect(key="sal-methods").value == ["gradient"]
    assert at.radio(key="sal-objective").value == "probability"
    assert at.selectbox(key="sal-display-mode").value == "positive"
    assert at.slider(key="sal-display-alpha").value == 0.8
    assert at.toggle(key="sal-heat").value is False
    target = next(s for s in at.selectbox if s.key and s.key.startswith("sal-target|"))
    assert target.value == 281
    assert not notices(at)
    assert at.query_params == {k: [v] for k, v in link.items()} or {k: str(v) for k, v in at.query_params.items()} == link
    at.slider(key="sal-display-alpha").set_value(0.3).run()  # a change is mirrored
    assert str(at.query_params["alpha"]).strip("[]'") == "0.3"


def test_hostile_and_stale_link_values_are_ignored_with_one_line_each():
    at = open_link("pages/saliency.py", {
        "methods": "gradient,no_such_method", "sign": "<script>alert(1)</script>", "alpha": "nan", "clip": "1e309",
        "target": "99999", "image": "upload:holiday.jpg:0123abcd", "uploads": "holiday.jpg", "samples": "coffee,,,",
        "model": "file:/etc/passwd", "weights": "file:mine.pth", "nonsense": "x" * 100, "layer": "no.such.layer"})
    text = notices(at)
    for expected in map(plain, ("methods 'gradient,no_such_method'", "sign '<script>", "opacity 'nan'", "clip percentile '1e309'",
                     "target class '99999'", "The uploaded file holiday.jpg is not in the link: upload it again",
                     "The uploaded file mine.pth is not in the link", "model 'file:/etc/passwd' cannot be opened",
                     "'nonsense' is not used on this page", "cam layer 'no.such.layer'")):
        assert expected in text, (expected, text)
    assert at.multiselect(key="sal-methods").value == ["gradient", "grad_x_input", "guided_backprop", "gradcam"]
    assert at.selectbox(key="sal-display-mode").value == "absolute"
    assert not at.error, [e.value for e in at.error]
    at.run()  # the notices are shown once
    assert "not in the link" not in notices(at)


def test_a_links_text_is_shown_as_written_never_as_markdown():
    """The defect: a crafted link's value reached the notices as Markdown, so the viewer's browser fetched the
    image's URL and the app showed the attacker's link."""
    image, link = "![x](http://127.0.0.1:9/pixel.png)", "[click here](http://127.0.0.1:9/login)"
    at = open_link("pages/saliency.py", {"model": f"file:{image}", "sign": link, "layer": ":red[**loud**] $x^2$"})
    text = notices(at)
    assert "model 'file:" in text and "sign '" in text and "cam layer '" in text, text
    unescaped = [c for i, c in enumerate(text) if c in "[]*$" and (i == 0 or text[i - 1] != "\\")]
    assert not unescaped, text
    assert plain(image) in text and plain(link[:60]) in text


def test_methods_a_model_refuses_come_back_with_a_model_that_offers_them():
    """The defect: bundled -> a model refusing some of the chosen methods -> bundled left only the methods the second
    model offered, for good. A ViT refuses Guided Backprop (a ReLU-network rule): it leaves the list while the ViT
    is loaded and is chosen again when the bundled model is back."""
    at = open_link("pages/saliency.py", {"methods": "gradient,guided_backprop"})
    assert at.multiselect(key="sal-methods").value == ["gradient", "guided_backprop"]
    at.sidebar.selectbox(key="sb-source").set_value("timm").run()
    at.sidebar.selectbox(key="sb-arch-timm").set_value("vit_tiny_patch16_224")
    at.sidebar.radio(key="sb-weights").set_value("random").run()
    assert not at.exception, at.exception
    assert "vit_tiny" in str(at.query_params.get("model")), at.query_params
    assert "guided_backprop" not in at.multiselect(key="sal-methods").value
    at.sidebar.selectbox(key="sb-source").set_value("bundled").run()
    assert not at.exception, at.exception
    assert at.multiselect(key="sal-methods").value == ["gradient", "guided_backprop"]
