"""Saliency: which pixels drive the decision, by several attribution methods side by side."""
import streamlit as st

from interpret.ui import saliency_view as view
from interpret.ui.errors import user_errors
from interpret.ui.overview_view import cached_top_k
from interpret.ui.state import current_image, current_model, model_error, model_key

st.title("Saliency")
st.caption("The gradient of the class score (or of the loss for a chosen label) and other attribution methods, "
           "as heat maps over the photo. Changing only a display setting never recomputes a map.")
lm = current_model()
image = current_image()
if lm is None:
    st.error(model_error() or "Choose a model in the sidebar.")
elif image is None:
    st.info("Choose a sample photo or upload an image in the sidebar.")
else:
    with user_errors(str(lm.device)):
        predicted = cached_top_k(model_key(), image.sha256, 1, lm, image)[0]["index"]
        target = view.target_view(lm, predicted)
        methods = view.method_picker()
        params, layer = view.settings_view(lm, methods)
        settings, show_heat = view.display_view()
        attributions = view.compute_maps(lm, model_key(), image, methods, params, target, layer)
        shown = view.render_comparison(lm, image, attributions, settings, show_heat)
        # Hook for issue 6: a 'Trust' table about the maps in `shown` goes here, below the comparison.
