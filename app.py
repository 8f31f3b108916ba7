"""interpret: why does this image model decide what it decides? Entry point: `streamlit run app.py`."""
import sys

import streamlit as st

from interpret.ui import url_state  # light: streamlit only
from interpret.ui.shell import app_shell, show_navigation  # light: streamlit only

st.set_page_config(page_title="interpret", page_icon="🔎", layout="wide")

PAGES = [
    st.Page("pages/overview.py", title="Predictions", icon=":material/label:", default=True),
    st.Page("pages/saliency.py", title="Saliency", icon=":material/local_fire_department:"),
    st.Page("pages/feature_maps.py", title="Feature maps", icon=":material/grid_view:"),
    st.Page("pages/mistakes.py", title="Mistakes", icon=":material/error:"),
    st.Page("pages/trust.py", title="Trust", icon=":material/verified:"),
    st.Page("pages/dataset.py", title="Dataset", icon=":material/dataset:"),
]

# .streamlit/config.toml turns client.showSidebarNavigation off, so the very first run of a fresh server (which
# Streamlit starts in its legacy `pages/` mode) draws no file-name page list; the real navigation is turned on
# once for the process (shell.show_navigation) and drawn before the heavy imports below: on a cold start the
# browser shows the pages while torch loads.
show_navigation()
navigation = st.navigation(PAGES)
url_state.start_run()
url_state.note_page(navigation.url_path, navigation.title)  # a report's link and file name name this page
notices = st.empty()  # notices about the link's settings, above the page

if "torch" not in sys.modules:  # a cold start: say what the blank page is waiting for
    with st.sidebar, st.spinner("Loading PyTorch and the model…"):
        from interpret.ui.sidebar import draw_sidebar  # noqa: E402  (imports torch: after the navigation on purpose)
from interpret.ui.sidebar import draw_sidebar  # noqa: E402

finished = False
with app_shell():
    try:
        draw_sidebar()
        navigation.run()
        finished = True
    finally:  # also after st.stop(): the URL mirrors what this run showed, and the link's notices are shown
        url_state.write_url(finished)
        url_state.show_notices(notices)
