"""Opening the app in AppTest the way every page test does: the whole app, one page switched to."""
from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[1] / "app.py")  # AppTest needs an absolute path


def open_app(page: str | None = None, timeout: int = 180) -> AppTest:
    """The app run once on its start page (sidebar, default model, sample photo), then on `page` if given."""
    at = AppTest.from_file(APP, default_timeout=timeout)
    at.run()
    if page is not None:
        at.switch_page(page).run()
    return at
