"""The opening every page shares: a title, and the model and photo it needs.

(A page calls `shell.ensure_shell()` before it imports this module: see interpret/ui/shell.py.)
"""
from __future__ import annotations

import streamlit as st

from ..images import InputImage
from ..models import LoadedModel
from ..models.kinds import KINDS
from . import report_view
from .plain import plain
from .state import ConsentWait, current_image, current_model, model_error, previous_model


def start_page(title: str, caption: str | None = None) -> None:
    """The page's title (also its report's: ui/report_view.py) and caption."""
    st.title(title)
    if caption:
        st.caption(caption)
    report_view.name_page(title)


def require_model() -> LoadedModel:
    """The sidebar's model; if it did not load, say why and go on with the previous one (if any), else stop."""
    lm = current_model()
    if lm is not None:
        classifier_only(lm)
        report_view.note_model(lm)
        return lm
    error = model_error()
    if error is None:
        st.info("Choose a model in the sidebar.")
        st.stop()
    if isinstance(error, ConsentWait):  # not a failure: the sidebar's box asks for the user's consent
        st.info(f"Waiting for your consent in the sidebar: {plain(error)}")
    else:
        st.error(f"The model did not load: {plain(error)}")
    previous = previous_model()
    if previous is None:
        st.stop()
    st.info(f"Still showing the previous model, {plain(previous.spec)}, until the sidebar's choice loads.")
    classifier_only(previous)
    report_view.note_model(previous)
    return previous


def classifier_only(lm: LoadedModel) -> None:
    """Stop a page before it reads another kind of model as a classifier (the pages explain classifiers for now)."""
    if lm.kind != "classifier":
        st.info(f"{plain(lm.spec)} is {KINDS[lm.kind].a_model}; the pages explain image classifiers only so far "
                "(its maps are computed by the Python API: interpret.attribution.kind_targets).")
        st.stop()


def require_image() -> InputImage:
    """The photo selected in the sidebar; otherwise ask for one and end this page's run."""
    image = current_image()
    if image is None:
        st.info("Choose a sample photo or upload an image in the sidebar.")
        st.stop()
    report_view.note_photos([image])
    return image
