"""Every page of app.py's page list opens in AppTest on the default model and a sample photo.

The list is read from app.py itself (its `st.Page(...)` calls), so a new page is covered as soon as it
is added there; each page must also name its main element below.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app_support import APP, open_app, settle


def app_pages() -> list[tuple[str, str]]:
    """(script path, title) of every st.Page in app.py, in order."""
    pages = []
    for node in ast.walk(ast.parse(Path(APP).read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "Page":
            title = next(k.value.value for k in node.keywords if k.arg == "title")
            pages.append((node.args[0].value, title))
    return pages


def images(at: AppTest) -> int:
    """Pictures drawn by st.image (AppTest names the element "image" from Streamlit 1.5x on, "imgs" before)."""
    return sum(len(element.proto.imgs) for kind in ("image", "imgs") for element in at.get(kind))


MAIN_ELEMENT = {  # by page title: the element that shows the page did its work
    "Predictions": lambda at: any(s.value.startswith("Top prediction: espresso") for s in at.subheader),
    "Saliency": lambda at: images(at) >= 4,
    "Feature maps": lambda at: images(at) >= 2,
    "Mistakes": lambda at: any(m.label == "Top-1 accuracy" for m in at.metric),
    "Trust": lambda at: len(at.dataframe) >= 1 and "sanity" in at.dataframe[0].value.columns,
    "Dataset": lambda at: any(m.label == "Images" and m.value == "18" for m in at.metric),  # the demo set, explained
}


def test_app_py_lists_pages():
    assert len(app_pages()) >= 5


@pytest.mark.parametrize("path, title", app_pages(), ids=[title for _, title in app_pages()])
def test_page_opens_on_the_default_model_and_a_sample_photo(path, title):
    at = settle(open_app(path, timeout=400))  # live pages: their background jobs finish
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert [t.value for t in at.title] == [title]  # the page itself, drawn inside the app shell
    assert at.sidebar.multiselect(key="sb-samples").value == ["coffee"]
    assert title in MAIN_ELEMENT, f"say what shows that the page '{title}' did its work"
    assert MAIN_ELEMENT[title](at), f"{title}: main element missing"
