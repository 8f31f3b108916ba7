"""Feature maps: browse the model's layers and see what each channel responds to in the photos."""
# ruff: noqa: E402  (the shell check runs before the heavy imports)
from interpret.ui.shell import ensure_shell

ensure_shell()

import streamlit as st

from interpret.ui import feature_view as fv
from interpret.ui.attention_view import attention_section
from interpret.ui.dataset_view import channel_examples_link
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
            fv.units_view(acts, order, image, by=by)
        else:
            cmap = fv.mosaic_view(acts, order, image)
            st.subheader("One channel")
            channel = fv.channel_picker(order, layer, by, target)
            fv.channel_view(lm, image, acts, channel, scores, cmap)
            channel_examples_link(lm, layer, channel)
            more = fv.more_picker()
            with user_errors(str(lm.device)):
                if more == "Same channel, all photos":
                    fv.across_photos_view(lm, current_images(), layer, channel, cmap)
                elif more == "Two layers side by side":
                    fv.compare_view(lm, image, layer, by, target, cmap)
                elif more == "What does this channel look for?":
                    fv.visualization_view(lm, layer, channel)
with user_errors(str(lm.device)):
    attention_section(lm, image)
