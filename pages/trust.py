"""Trust: how far can a map be believed? Faithfulness against reference maps, and sanity checks."""
import streamlit as st

from interpret.attribution import REGISTRY, Target
from interpret.layers import default_cam_layer
from interpret.ui import saliency_view, trust_view
from interpret.ui.errors import user_errors
from interpret.ui.overview_view import cached_top_k
from interpret.ui.page import require_image, require_model, start_page
from interpret.ui.state import model_key

PREFERRED = ("gradient", "gradcam", "integrated_gradients", "guided_backprop")

start_page("Trust", "Does a map show what the model uses? Deletion and insertion (RISE) and ROAD scores beside trivial "
           "reference maps, and the model-randomisation sanity check (Adebayo et al. 2018): a map that survives "
           "random weights does not explain what the model learned.")
lm = require_model()
image = require_image()
with user_errors(str(lm.device)):
    predicted = cached_top_k(model_key(), image.sha256, 1, lm, image)[0]["index"]
    methods = st.multiselect("Methods", list(REGISTRY), default=[m for m in PREFERRED if m in REGISTRY],
                             format_func=lambda name: REGISTRY[name].label, key="trust-methods")
    left, right = st.columns(2)
    steps = left.slider("Deletion / insertion steps", 8, 64, 28, key="trust-steps",
                        help="The same number of steps for every map, so their areas compare.")
    with_road = right.toggle("ROAD (slower: a linear imputation per step)", value=False, key="trust-road")
    layer = default_cam_layer(lm) if any(REGISTRY[m].uses_layer for m in methods) else None
    params = {m: REGISTRY[m].resolve_params(None) for m in methods}
    attributions = saliency_view.compute_maps(lm, model_key(), image, methods, params, Target(predicted), layer)
    if attributions:
        st.subheader("Faithfulness and sanity")
        trust_view.render_trust_table(lm, image, attributions, key="trust", steps=steps, with_road=with_road)
        scores = trust_view.faithfulness_scores(lm, image, attributions, steps, with_road)
        st.subheader("Deletion and insertion curves")
        st.caption(f"Probability of '{lm.label(predicted)}' as pixels are deleted (lower is better) or inserted "
                   "(higher is better), most relevant first.")
        dcol, icol = st.columns(2)
        dcol.markdown("**Deletion**")
        dcol.line_chart(trust_view.curves_frame(scores, "deletion"))
        icol.markdown("**Insertion**")
        icol.line_chart(trust_view.curves_frame(scores, "insertion"))
        st.subheader("Sanity check: cascading randomisation")
        st.caption("On a private copy of the model, the classifier is re-initialised first, then each block down "
                   "to the first layer; the map is recomputed after each stage (ρ: Spearman rank correlation of "
                   "the map (signed for signed methods) with the original).")
        trust_view.sanity_section(lm, image, attributions, key="trust")
