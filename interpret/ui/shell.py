"""Make sure a page always runs inside the app shell (sidebar + navigation drawn by app.py).

An app with a `pages/` folder starts in Streamlit's legacy multipage mode until `st.navigation` has
run once in the process: a fresh server's first request for a page URL (or an AppTest run) executes
that page file alone, without the shared sidebar. app.py runs its pages inside `app_shell()`; a page
that finds itself outside it runs app.py instead, which draws the shell, switches Streamlit to
`st.navigation` for good and runs the page from there. Public means only: a thread-local flag (each
script run has its own thread) and `runpy`. This module imports nothing heavy, so app.py and the
pages can call it before torch is imported.
"""
from __future__ import annotations

import runpy
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import streamlit as st
from streamlit import config

APP = Path(__file__).resolve().parents[2] / "app.py"
_local = threading.local()
_option_guard = threading.Lock()


@contextmanager
def app_shell() -> Iterator[None]:
    """Mark the code inside (app.py's `navigation.run()`) as running inside the app shell."""
    previous = getattr(_local, "inside", False)
    _local.inside = True
    try:
        yield
    finally:
        _local.inside = previous


def inside_shell() -> bool:
    """True while app.py runs a page: the sidebar and the navigation are drawn."""
    return getattr(_local, "inside", False)


def show_navigation() -> None:
    """Turn Streamlit's sidebar navigation on, once for the server process (call it before `st.navigation`).

    .streamlit/config.toml starts it off, so the very first run of a fresh server, which Streamlit starts in its
    legacy `pages/` mode, draws no list of file names ("app, overview, saliency, …"); `st.navigation` then draws
    the real one. The option is process-wide: it is set when it is still off, not again on every run."""
    with _option_guard:
        if config.get_option("client.showSidebarNavigation") is False:
            st.set_option("client.showSidebarNavigation", True)


def ensure_shell() -> None:
    """Run app.py instead of this page when Streamlit started the page on its own; call it first in a page."""
    if not inside_shell():
        runpy.run_path(str(APP), run_name="__main__")
        st.stop()
