"""Predictions: the model's top classes for the current photo and for every loaded image."""
# ruff: noqa: E402  (the shell check runs before the heavy imports)
from interpret.ui.shell import ensure_shell

ensure_shell()

import streamlit as st

from interpret.ui.errors import user_errors
from interpret.ui.overview_view import all_images_table, image_and_model_view, model_summary, predictions_table
from interpret.ui.page import require_image, require_model, start_page
from interpret.ui.plain import plain
from interpret.ui.predictions import cached_top_k
from interpret.ui.state import current_images

start_page("Predictions")
lm = require_model()
model_summary(lm)
image = require_image()
with user_errors(str(lm.device)):
    predictions = cached_top_k(lm, image, 5)
    st.subheader(f"Top prediction: {plain(predictions[0].label)} ({predictions[0].prob:.1%})")
    image_and_model_view(lm, image)
    predictions_table(predictions)
    others = [im for im in current_images() if im.sha256 != image.sha256]
    if others:
        st.subheader("All loaded images")
        all_images_table(lm, [image, *others])
