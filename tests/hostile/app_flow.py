"""The user's state in an AppTest session, before and after a hostile input (shared by the app tests)."""
from __future__ import annotations

import re

from streamlit.testing.v1 import AppTest

from app_support import open_app

from . import files as F

MINE = "mine.jpg"  # the user's own photo, uploaded before every hostile input
SIDEBAR_KEYS = ("sb-device", "sb-source", "sb-current")


def _mine() -> tuple[str, bytes, str]:
    return MINE, F.photo_bytes("JPEG", (320, 240), "chelsea"), "image/jpeg"


def texts(at: AppTest) -> list[str]:
    return [str(e.value) for kind in ("markdown", "subheader", "caption", "info", "warning", "error", "title")
            for e in at.get(kind)]


MARKDOWN_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|<>~:&$])")


def plain(text: str) -> str:
    """What a reader sees of Markdown-escaped text (st.error and st.subheader render Markdown)."""
    return MARKDOWN_ESCAPE.sub(r"\1", text)


def messages(at: AppTest) -> list[str]:
    """The error and warning elements' texts, as shown (Markdown escapes removed)."""
    return [plain(str(e.value)) for e in at.error] + [plain(str(e.value)) for e in at.warning]


def top_prediction(at: AppTest) -> str | None:
    return next((t for t in texts(at) if t.startswith("Top prediction")), None)


def earlier_state() -> tuple[AppTest, str]:
    """The app with the user's photo uploaded, chosen and predicted; returns the prediction's line."""
    at = open_app(timeout=240)
    at.sidebar.file_uploader(key="sb-uploads").set_value([_mine()]).run()  # the newest upload becomes the current photo
    top = top_prediction(at)
    assert not at.exception and top is not None, (at.exception, texts(at))
    return at, top


def assert_user_state_kept(at: AppTest, top: str, mention: str, *, prediction: bool = True, one_message: bool = True) -> None:
    """No exception, the sidebar's widgets, the same current photo, the earlier prediction, one-line messages."""
    assert not at.exception, [e.value for e in at.exception]
    keys = {w.key for w in at.sidebar.selectbox}
    assert set(SIDEBAR_KEYS) <= keys, f"sidebar widgets missing: {set(SIDEBAR_KEYS) - keys}"
    current = at.sidebar.selectbox(key="sb-current")
    assert MINE in current.format_func(current.value), f"the current photo changed to {current.format_func(current.value)!r}"
    if prediction:
        assert top_prediction(at) == top, f"the earlier prediction is gone: {top_prediction(at)!r} (was {top!r})"
    said = messages(at)
    assert said, "no error or warning was shown"
    assert all("\n" not in m.strip() for m in said), f"a message of several lines: {said}"
    assert all("Traceback" not in m for m in said), said
    if one_message:
        assert any(mention.lower() in m.lower() for m in said), f"no message names {mention!r}: {said}"
