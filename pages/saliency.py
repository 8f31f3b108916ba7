"""Saliency: which pixels drive the decision, by several attribution methods side by side."""
# ruff: noqa: E402  (the shell check runs before the heavy imports)
from interpret.ui.shell import ensure_shell

ensure_shell()

import streamlit as st

from interpret.ui import saliency_view as view
from interpret.ui import trust_view
from interpret.ui.errors import user_errors
from interpret.ui.overview_view import fit_notice_view
from interpret.ui.page import require_image, require_model, start_page
from interpret.ui.predictions import predicted_class
from interpret.ui.state import current_images

start_page("Saliency", "The gradient of the class score (or of the loss for a chosen label) and other attribution "
           "methods, as heat maps over the photo. Changing only a display setting never recomputes a map.")
lm = require_model()
image = require_image()
fit_notice_view(lm, image)  # an 8×8 icon enlarged 28×, or a panorama cropped to a small part of it, says so
with user_errors(str(lm.device)):
    target = view.target_view(lm, predicted_class(lm, image))
    methods = view.method_picker(lm)
    params, layer = view.settings_view(lm, methods)
    photos = current_images()
    if view.scope_view() and len(photos) > 1:  # a photo x method grid of every loaded photo
        view.photo_grid(lm, photos, methods, params, target, layer)
    else:
        shown = view.live_comparison(lm, image, methods, params, target, layer)  # display controls, maps as they finish
        if shown and st.toggle("Trust: faithfulness and sanity of these maps", value=False, key="saliency-trust-on",
                               help="Deletion/insertion beside random, Gaussian and edge maps, and whether each map "
                                    "survives a randomised classifier. Details on the Trust page."):
            trust_view.render_trust_table(lm, image, shown, key="saliency-trust")
