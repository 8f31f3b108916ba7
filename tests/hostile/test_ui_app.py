"""Hostile inputs in the app (AppTest): bad uploads, weights, TorchScript, class files and a bad zip on Mistakes.

Each case starts where a user would be: the bundled model, a photo of their own uploaded and chosen, its
prediction shown. After the bad input the app must show one-line messages that name the file, no
exception, the sidebar with its widgets, the same current photo, and the earlier model's prediction.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from . import files as F
from . import scripted as S
from .app_flow import _mine, assert_user_state_kept, earlier_state, messages, plain, texts, top_prediction
from .corpus_sets import _broken_directory, good_members
from .zipwriter import build_zip, deflated, stored, zeros

pytestmark = pytest.mark.hostile

@dataclass(frozen=True)
class Upload:
    id: str
    name: str
    data: Callable[[], bytes]


UPLOADS = [
    Upload("broken-jpeg", "broken.jpg", lambda: b"\xff\xd8\xff\xe0 not really a jpeg"),
    Upload("spider-named-png", "spider.png", lambda: F.encode(F.photo((64, 48)).convert("F"), "SPIDER")),
    Upload("eps-named-jpg", "drawing.jpg", F.eps_bytes),
    Upload("png-1x50000", "thin.png", lambda: F.png_gray(1, 50_000)),
    Upload("png-2x20000000", "needle.png", lambda: F.png_gray(2, 20_000_000)),
    Upload("jpeg-7000x7000-10kb", "grey.jpg", lambda: F.jpeg_declaring(7000, 7000, 10_000)),
    Upload("zero-bytes", "empty.png", lambda: b""),
    Upload("text-named-png", "notes.png", lambda: b"hello\n" * 50),
    Upload("float-tiff-all-nan", "allnan.tif", lambda: F.float_tiff(np.full((48, 64), np.nan))),
    Upload("png-declares-20000x20000", "bomb.png", lambda: F.png_declaring(20_000, 20_000)),
]


@pytest.fixture(scope="module")
def session() -> tuple[AppTest, str]:
    """One user session that receives every bad upload in turn (its state must survive each of them)."""
    return earlier_state()


@pytest.mark.parametrize("upload", UPLOADS, ids=[u.id for u in UPLOADS])
def test_a_bad_upload_leaves_the_session_as_it_was(session, upload):
    at, top = session
    at.sidebar.file_uploader(key="sb-uploads").set_value([_mine(), (upload.name, upload.data(), "image/png")]).run()
    assert_user_state_kept(at, top, upload.name)
    assert len(at.sidebar.selectbox(key="sb-current").options) == 2, "the bad upload became a current-image choice"


def _zoo_weights(at: AppTest, name: str, data: bytes) -> None:
    at.sidebar.selectbox(key="sb-source").set_value("torchvision").run()
    at.sidebar.radio(key="sb-weights").set_value("file").run()
    at.sidebar.file_uploader(key="sb-weights-file").set_value((name, data, "application/octet-stream")).run()


def _canary_payload() -> bytes:
    return F.evil_pickle("/nonexistent-hostile-canary/PWNED")


WEIGHTS = [
    ("random-bytes", "random.pth", lambda: bytes(range(256)) * 16),
    ("pickle-that-runs-code", "evil.pth", _canary_payload),
    ("stride-0-head-2M-classes", "strided.pth", lambda: F.torch_save(F.strided_state(2_000_000))),
    ("bad-central-directory", "baddir.pth", lambda: F.torch_save({"fc.bias": F.linear_module().bias})[:-30]),
]


@pytest.mark.parametrize(("name", "data"), [(n, d) for _, n, d in WEIGHTS], ids=[i for i, _, _ in WEIGHTS])
def test_a_bad_weights_file_keeps_the_earlier_model_and_photo(name, data):
    at, top = earlier_state()
    _zoo_weights(at, name, data())
    assert_user_state_kept(at, top, name)
    at.sidebar.selectbox(key="sb-source").set_value("bundled").run()
    assert not at.exception and top_prediction(at) == top


def test_torchscript_needs_consent_and_a_hanging_one_is_refused_in_time(monkeypatch):
    monkeypatch.setenv("INTERPRET_FIRST_FORWARD_SECONDS", "1")
    at, top = earlier_state()
    at.sidebar.selectbox(key="sb-source").set_value("file").run()
    tiny = S.script_bytes(S.Tiny())
    at.sidebar.file_uploader(key="sb-model-file").set_value(("tiny.pt", tiny, "application/octet-stream")).run()
    assert not at.exception
    boxes = [c for c in at.sidebar.checkbox if str(c.key).startswith("sb-trust-")]
    assert len(boxes) == 1 and not boxes[0].value, "no unticked consent box for a TorchScript upload"
    assert any("code" in m.lower() for m in messages(at) + texts(at)), "nothing says the file can run code"
    assert top_prediction(at) == top, "the earlier model's prediction is gone while consent is pending"
    boxes[0].check().run()
    assert not at.exception and top_prediction(at) is not None and top_prediction(at) != top, texts(at)
    hang = S.script_bytes(S.Slow())  # ends by itself after ~15 s: a thread cut off by the bound stops
    at.sidebar.file_uploader(key="sb-model-file").set_value(("hang.pt", hang, "application/octet-stream")).run()
    boxes = [c for c in at.sidebar.checkbox if str(c.key).startswith("sb-trust-")]
    assert len(boxes) == 1 and not boxes[0].value, "a new file must need a new tick"
    boxes[0].check().run()
    assert S.first_pass_running("hang.pt"), "the slow forward was not cut off by the first-pass bound (1 s)"
    assert not at.exception
    assert any("hang.pt" in m for m in messages(at)), messages(at)


def _random_zoo_with_classes(at: AppTest, name: str, data: bytes) -> None:
    at.sidebar.selectbox(key="sb-source").set_value("torchvision").run()
    at.sidebar.radio(key="sb-weights").set_value("random").run()
    at.sidebar.file_uploader(key="sb-classes").set_value((name, data, "application/json")).run()


CLASS_FILES = [  # (id, file name, bytes, what the message must name)
    ("json-nested-100k", "deep.json", lambda: b"[" * 100_000 + b"]" * 100_000, "deep.json"),
    ("not-utf8", "latin.txt", lambda: b"\xff\xfe\xfa" * 1000, "latin.txt"),
    ("999-names", "short.txt", lambda: "\n".join(f"n{i}" for i in range(999)).encode(), "999"),
]


@pytest.mark.parametrize(("name", "data", "mention"), [c[1:] for c in CLASS_FILES], ids=[c[0] for c in CLASS_FILES])
def test_a_bad_class_names_file_is_one_line_and_the_sidebar_stays(name, data, mention):
    at, top = earlier_state()
    _random_zoo_with_classes(at, name, data())
    assert_user_state_kept(at, top, mention, prediction=False)
    assert at.sidebar.file_uploader(key="sb-classes") is not None


UNESCAPED_LINK = re.compile(r"(?<!\\)\]\(http://example\.invalid")


def test_class_names_with_markdown_and_html_are_shown_as_plain_text():
    import json

    names = [f"![x{i}](http://example.invalid/{i}.png)<script>alert({i})</script>" for i in range(1000)]
    at, _ = earlier_state()
    _random_zoo_with_classes(at, "inject.json", json.dumps(names).encode())
    assert not at.exception and not at.error, [e.value for e in at.error]
    top = top_prediction(at)
    assert top is not None and "](http://example.invalid/" in plain(top), f"the injected name is not shown as text: {top!r}"
    for kind in ("markdown", "subheader", "caption", "info", "title"):
        for element in at.get(kind):
            value = str(element.value)
            assert not UNESCAPED_LINK.search(value), f"{kind} renders a live Markdown link/image: {value[:120]!r}"
            if "example.invalid" in value:
                assert not getattr(element.proto, "allow_html", False), f"{kind} allows HTML with a user's name in it"


def _mistakes_zip(at: AppTest, name: str, data: bytes) -> None:
    at.switch_page("pages/mistakes.py").run()
    at.radio(key="mistakes-source").set_value("zip").run()
    at.file_uploader(key="mistakes-zip").set_value((name, data, "application/zip")).run()


ZIPS = [  # (id, file name, bytes, what the message must name)
    ("junk-central-directory", "baddir.zip", _broken_directory, "baddir.zip"),
    ("bomb-80-members-of-50mb", "bomb.zip",
     lambda: build_zip(good_members() + [zeros(f"espresso/z{i}.png", 50_000_000) for i in range(80)]), "bomb.zip"),
    ("csv-unclosed-quote", "quote.zip", lambda: build_zip([stored("cup.jpg", F.photo_bytes("JPEG", (96, 72))),
                                                           deflated("labels.csv", b'path,label\n"cup.jpg,espresso\n')]),
     "labels.csv"),
]


@pytest.mark.parametrize(("name", "data", "mention"), [z[1:] for z in ZIPS], ids=[z[0] for z in ZIPS])
def test_a_bad_zip_on_the_mistakes_page_is_one_line_and_the_photo_stays(name, data, mention):
    at, top = earlier_state()
    _mistakes_zip(at, name, data())
    assert_user_state_kept(at, top, mention, prediction=False)
    at.switch_page("pages/overview.py").run()
    assert not at.exception and top_prediction(at) == top, "the photo's prediction is gone after the bad zip"


def test_shared_mode_offers_neither_code_nor_server_folders(monkeypatch):
    """Served to others (INTERPRET_SHARED), the app offers no TorchScript source and no server-folder box."""
    monkeypatch.setenv("INTERPRET_SHARED", "1")
    at, top = earlier_state()
    assert "file" not in at.sidebar.selectbox(key="sb-source").options, "shared mode still offers TorchScript files"
    at.switch_page("pages/mistakes.py").run()
    assert not at.exception
    assert "path" not in at.radio(key="mistakes-source").options, "shared mode still offers a folder on the server"
