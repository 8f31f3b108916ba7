"""interpret: why does this image model decide what it decides? Entry point: `streamlit run app.py`."""
import streamlit as st

from interpret.ui.shell import app_shell  # light: streamlit only

st.set_page_config(page_title="interpret", page_icon="🔎", layout="wide")

PAGES = [
    st.Page("pages/overview.py", title="Predictions", icon=":material/label:", default=True),
    st.Page("pages/saliency.py", title="Saliency", icon=":material/local_fire_department:"),
    st.Page("pages/feature_maps.py", title="Feature maps", icon=":material/grid_view:"),
    st.Page("pages/mistakes.py", title="Mistakes", icon=":material/error:"),
    st.Page("pages/trust.py", title="Trust", icon=":material/verified:"),
]

# Drawn before the heavy imports below: on a cold start the browser shows the pages while torch loads.
navigation = st.navigation(PAGES)

from interpret.ui.sidebar import draw_sidebar  # noqa: E402  (imports torch: after the navigation on purpose)

with app_shell():
    draw_sidebar()
    navigation.run()
