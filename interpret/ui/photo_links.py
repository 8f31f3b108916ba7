"""Uploaded photos that survive a reload: a browser reload starts a new Streamlit session (session_state is gone), so
the server keeps each session's list of uploaded photos under an unguessable token in the link (`photos=`).

The photos themselves stay in the upload store (ui/state.py: decoded, by sha256 and name, bounded by
UPLOAD_CACHE_PHOTOS photos and UPLOAD_CACHE_BYTES); a list is (sha256, name) pairs under a `secrets.token_urlsafe`
token, PHOTO_LINKS lists kept. A link never carries digests, so in shared mode nobody reads another visitor's photos
by guessing them. A new session restores its link's photos once and keeps them under a token of its own (two tabs of
one link do not overwrite each other's list). A link whose photos are gone (the server restarted, or they were
dropped to make room) says so in a caption under the uploader.
"""
from __future__ import annotations

import re
import secrets

import streamlit as st

from .. import limits
from ..images import InputImage
from .shared_lru import SharedLRU
from .state import stored_upload
from .url_state import claim, remember

URL_NAME = "photos"
TOKEN_KEY = "interpret_photos_token"  # this session's token
RESTORED_KEY = "interpret_restored_photos"  # the photos its link restored (the uploader itself starts empty)
LOST_KEY = "interpret_photos_lost"  # why a link's photos could not be restored, until the user uploads again
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{16,64}")
Entry = tuple[str, str]  # (sha256, name)


@st.cache_resource
def _links() -> SharedLRU:
    """Every session's uploaded photos by token, for every session of this server process."""
    return SharedLRU(limits.PHOTO_LINKS)


def session_token() -> str:
    """This session's token: made once, unguessable (128 random bits)."""
    token = st.session_state.get(TOKEN_KEY)
    if token is None:
        token = st.session_state[TOKEN_KEY] = secrets.token_urlsafe(16)
    return token


def lookup(token: str) -> tuple[list[InputImage], int]:
    """The photos kept under `token` that the upload store still holds, and how many it named in all."""
    entries: tuple[Entry, ...] | None = _links().get(token) if TOKEN_PATTERN.fullmatch(token) else None
    if not entries:
        return [], 0 if entries is not None else -1
    found = [stored_upload(sha, name) for sha, name in entries]
    return [image for image in found if image is not None], len(entries)


def restore() -> None:
    """Once per session: the photos the link's token names, kept as this session's; a caption if some are gone."""
    token = claim(URL_NAME)
    if token is None:
        return
    images, named = lookup(token)
    st.session_state[RESTORED_KEY] = images
    if named < 0:
        st.session_state[LOST_KEY] = ("The link's uploaded photos could not be restored: this server no longer knows "
                                      "them (it restarted, or dropped them to make room). Upload them again.")
    elif len(images) < named:
        st.session_state[LOST_KEY] = (f"{named - len(images)} of the link's {named} uploaded photos could not be "
                                      "restored: this server no longer holds them. Upload them again.")


def restored() -> list[InputImage]:
    """The photos this session's link restored (until the user removes them)."""
    return list(st.session_state.get(RESTORED_KEY, []))


def lost_caption() -> None:
    """Say plainly that the link's photos could not be restored (until the user uploads again)."""
    message = st.session_state.get(LOST_KEY)
    if message:
        st.caption(message)


def keep(images: list[InputImage]) -> None:
    """Keep this session's uploaded photos under its token and put the token in the link (none: no token)."""
    if images:
        if {im.sha256 for im in images} - {im.sha256 for im in restored()}:  # a new upload: the caption has served
            st.session_state.pop(LOST_KEY, None)
        entries = tuple(dict.fromkeys((im.sha256, im.name) for im in images))[:limits.UPLOAD_CACHE_PHOTOS]
        token = session_token()
        if _links().get(token) != entries:
            _links().put(token, entries)
    remember("sb-photos-token", session_token() if images else None, default=None, url=URL_NAME)
