"""Make sure a page always runs inside the app shell (sidebar + navigation drawn by app.py)."""
from __future__ import annotations

import runpy
from pathlib import Path

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

APP = Path(__file__).resolve().parents[2] / "app.py"


def ensure_shell() -> None:
    """Run app.py instead of this page when Streamlit started the page on its own.

    An app with a `pages/` folder is treated as a legacy multipage app until st.navigation has run once
    in the process: a fresh server's first request for a page URL (or an AppTest rerun) executes the page
    file alone, without the shared sidebar. Running the entry script draws the shell, switches Streamlit
    to st.navigation for good, and runs this page from there.
    """
    if PagesManager.uses_pages_directory:
        runpy.run_path(str(APP), run_name="__main__")
        st.stop()
