"""Predictions: the model's top classes for the current photo and for every loaded image."""
import streamlit as st

from interpret.ui.errors import user_errors
from interpret.ui.overview_view import cached_top_k, image_and_model_view, model_summary, predictions_table
from interpret.ui.page import require_image, require_model, start_page
from interpret.ui.state import current_images, model_key

start_page("Predictions")
lm = require_model()
model_summary(lm)
image = require_image()
with user_errors(str(lm.device)):
    rows = cached_top_k(model_key(), image.sha256, 5, lm, image)
    st.subheader(f"Top prediction: {rows[0]['label']} ({rows[0]['prob']:.1%})")
    image_and_model_view(lm, image)
    predictions_table(rows)
    others = [im for im in current_images() if im.sha256 != image.sha256]
    if others:
        st.subheader("All loaded images")
        table = []
        for other in [image, *others]:
            top = cached_top_k(model_key(), other.sha256, 5, lm, other)[0]
            table.append({"image": other.name, "prediction": top["label"], "probability": top["prob"]})
        st.dataframe(table, hide_index=True, width="stretch")
