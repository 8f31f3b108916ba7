"""Class names are plain text everywhere in the app: a hostile class-names file cannot inject Markdown."""
from app_support import open_app
from interpret.ui.map_image import html_text
from interpret.ui.plain import plain

# what a hostile class-names file would put in a name: an image fetched from outside, a tag, styling, LaTeX
HOSTILE = "![x](http://127.0.0.1:9/pixel.png) <script>alert(1)</script> :red[big] $x$ **bold**"
RAW = ("![", "<script", ":red[", "**bold**", "$x$")


def markdown_texts(at) -> list[str]:
    """Every string the app hands to Streamlit as Markdown: text elements, alerts, and image captions."""
    texts = []
    for kind in ("markdown", "caption", "subheader", "header", "title", "warning", "error", "info", "success"):
        texts += [str(element.value) for element in getattr(at, kind)]
    for image in at.get("image"):
        texts += [item.caption for item in image.proto.imgs]
    return texts


def hostile_class_file() -> bytes:
    # every class hostile, so whatever a random-weights model predicts is one of them
    return "\n".join(f"{HOSTILE} {i}" for i in range(1000)).encode("utf-8")


def test_a_hostile_class_name_is_shown_as_text_on_the_predictions_and_saliency_pages():
    at = open_app(timeout=300)
    at.sidebar.selectbox(key="sb-source").set_value("torchvision").run()  # class files apply to zoo and file models
    at.sidebar.radio(key="sb-weights").set_value("random").run()
    at.sidebar.file_uploader(key="sb-classes").set_value(("classes.txt", hostile_class_file(), "text/plain")).run()
    assert not at.exception
    headings = [h.value for h in at.subheader]
    assert f"Top prediction: {plain(HOSTILE)}" in " ".join(headings), headings  # the name reached the page, escaped
    texts = markdown_texts(at)
    assert not [t for t in texts if any(raw in t for raw in RAW)], texts
    at.switch_page("pages/saliency.py").run()
    at.multiselect(key="sal-methods").set_value(["gradient"]).run()
    assert not at.exception
    texts = markdown_texts(at)
    assert any(html_text(HOSTILE) in t for t in texts), texts  # the map's caption names the class (as HTML text)
    assert not [t for t in texts if any(raw in t for raw in RAW)], texts


def test_plain_escapes_markdown_and_keeps_text_readable():
    escaped = plain(HOSTILE)
    assert not any(raw in escaped for raw in RAW)
    assert plain("tabby, tabby cat") == "tabby, tabby cat"
    assert plain("a\nb") == "a b"
