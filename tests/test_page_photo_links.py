"""Uploaded photos survive a reload (a new session): the link holds an unguessable token for the session's list of
uploads, kept on the server (ui/photo_links.py). AppTest cannot reload, so a second AppTest opened on the first one's
query parameters stands for the reloaded tab (tests/test_browser_photo_reload.py reloads a real browser)."""
from __future__ import annotations

import hashlib
import io

import numpy as np
from PIL import Image
from streamlit.testing.v1 import AppTest

from app_support import APP, open_app

NAME = "my-photo.png"


def photo_bytes(seed: int = 0) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 255, (40, 60, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def current_label(at: AppTest) -> str:
    box = at.sidebar.selectbox(key="sb-current")
    return box.format_func(box.value)


def reopened(at: AppTest) -> AppTest:
    """A new session on the first one's link, as a browser reload starts one."""
    again = AppTest.from_file(APP, default_timeout=180)
    for name, value in at.query_params.items():
        again.query_params[name] = value[0] if isinstance(value, list) else value
    return again.run()


def captions(at: AppTest) -> str:
    return "\n".join(c.value for c in at.sidebar.caption)


def test_a_reload_restores_the_uploaded_photos_and_the_current_one():
    at = open_app()
    data = photo_bytes()
    at.sidebar.file_uploader(key="sb-uploads").set_value([(NAME, data, "image/png")]).run()
    assert not at.exception
    assert NAME in current_label(at)
    params = {k: (v[0] if isinstance(v, list) else v) for k, v in at.query_params.items()}
    token = params.get("photos", "")
    assert len(token) >= 20, params  # secrets.token_urlsafe(16): 22 characters
    assert not any(hashlib.sha256(data).hexdigest() in value for value in params.values())  # no digest in the link

    again = reopened(at)
    assert not again.exception
    assert NAME in current_label(again), current_label(again)
    assert any(image.proto.imgs[0].caption.startswith(NAME) for image in again.get("image")), \
        "the Predictions page does not show the restored photo"
    assert not [n for n in again.info if "not in the link" in n.value]
    assert "could not be restored" not in captions(again)


def test_a_link_whose_photos_are_gone_says_so():
    at = AppTest.from_file(APP, default_timeout=180)
    at.query_params["photos"] = "x" * 22  # a token this server never made (it restarted)
    at.query_params["uploads"] = NAME
    at.run()
    assert not at.exception
    assert "could not be restored" in captions(at), captions(at)
    assert "coffee" in current_label(at)  # the session goes on with the default photo


def test_a_guessed_digest_reads_nothing():
    """The link's token is the only way in: a photo's sha256 (or anything not a token) restores nothing."""
    at = open_app()
    data = photo_bytes(1)
    at.sidebar.file_uploader(key="sb-uploads").set_value([(NAME, data, "image/png")]).run()
    stranger = AppTest.from_file(APP, default_timeout=180)
    stranger.query_params["photos"] = hashlib.sha256(data).hexdigest()
    stranger.run()
    assert not stranger.exception
    assert NAME not in current_label(stranger)
    assert "could not be restored" in captions(stranger)
