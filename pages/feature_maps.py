"""Feature maps: browse the model's layers and see what each channel responds to in the photos."""
# ruff: noqa: E402  (the shell check runs before the heavy imports)
from interpret.ui.shell import ensure_shell

ensure_shell()

import streamlit as st

from interpret.ui import feature_view as fv
from interpret.ui.errors import user_errors
from interpret.ui.page import require_image, require_model, start_page
from interpret.ui.state import current_images

start_page("Feature maps")
lm = require_model()
image = require_image()
with user_errors(str(lm.device)):
    layer = fv.layer_browser(lm)
    if layer is not None:
        by, target = fv.order_controls(lm, image)
        acts, order, scores = fv.ordered(lm, image, layer, by, target)
        if not acts.spatial:
            fv.units_view(acts, order, image)
        else:
            cmap = fv.mosaic_view(acts, order, image)
            st.subheader("One channel")
            channel = fv.channel_picker(order, layer, by, target)
            fv.channel_view(lm, image, acts, channel, scores, cmap)
            photos, compare, look = st.tabs(["Same channel, all photos", "Two layers side by side",
                                             "What does this channel look for?"])
            with photos, user_errors(str(lm.device)):
                fv.across_photos_view(lm, current_images(), layer, channel, cmap)
            with compare, user_errors(str(lm.device)):
                fv.compare_view(lm, image, layer, by, target, cmap)
            with look, user_errors(str(lm.device)):
                fv.visualization_view(lm, layer, channel)
