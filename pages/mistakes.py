"""Mistakes: accuracy on a labelled set, its confusions and calibration, and why one mistake happened."""
import streamlit as st

from interpret.ui import mistakes_view as view
from interpret.ui.errors import user_errors
from interpret.ui.state import current_model, model_error, model_key

st.title("Mistakes")
st.caption("Why did it get this wrong? Give labelled images: see the accuracy, what is confused with what, "
           "how far the confidence can be trusted, and explain one mistake against the right answer.")
lm = current_model()
image_set = view.set_picker()
if lm is None:
    st.error(model_error() or "Choose a model in the sidebar.")
elif image_set is not None:
    with user_errors(str(lm.device)):
        ev = view.evaluation(lm, model_key(), image_set)
        view.set_notes(image_set, ev)
        view.scores_view(ev)
        scores, wrong, explain, calibration, results = st.tabs(
            ["Confusion", "Wrong predictions", "Explain a mistake", "Calibration", "All results"])
        with scores:
            view.confusion_view(lm, image_set, ev)
        with wrong:
            view.mistakes_gallery(lm, image_set, ev)
        with explain:
            view.explain_view(lm, model_key(), image_set, ev)
        with calibration:
            view.calibration_view(lm, image_set, ev)
        with results:
            view.results_view(ev)
