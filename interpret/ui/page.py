"""The opening every page shares: a title, and the model and photo it needs.

(A page calls `shell.ensure_shell()` before it imports this module: see interpret/ui/shell.py.)
"""
from __future__ import annotations

import streamlit as st

from ..images import InputImage
from ..models import LoadedModel
from .state import current_image, current_model, model_error


def start_page(title: str, caption: str | None = None) -> None:
    st.title(title)
    if caption:
        st.caption(caption)


def require_model() -> LoadedModel:
    """The sidebar's model; otherwise say why there is none and end this page's run."""
    lm = current_model()
    if lm is None:
        st.error(model_error() or "Choose a model in the sidebar.")
        st.stop()
    return lm


def require_image() -> InputImage:
    """The photo selected in the sidebar; otherwise ask for one and end this page's run."""
    image = current_image()
    if image is None:
        st.info("Choose a sample photo or upload an image in the sidebar.")
        st.stop()
    return image
