"""A model that loads (its first forward pass, a batch of 2, answers) and then hangs: the pages that run it in
their script run (predictions, default targets, cost measurements) wait for it at most MODEL_ANSWER_SECONDS, say in
one line that it has not answered, and the session goes on (AppTest's own timeout is the hang guard)."""
from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app_support import open_app
from interpret.limits import MODEL_ANSWER_SECONDS_ENV
from interpret.policy import CONSENT_LABEL

HANG_GUARD_SECONDS = 90.0
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def notices(at: AppTest) -> str:
    return "\n".join(str(e.value) for e in [*at.warning, *at.error, *at.info])


@pytest.fixture
def hanging(monkeypatch) -> Iterator[object]:
    """The fixture module of the hanging model, imported from the user's folder; released at the end."""
    monkeypatch.chdir(FIXTURES)
    monkeypatch.syspath_prepend(str(FIXTURES))
    monkeypatch.setenv(MODEL_ANSWER_SECONDS_ENV, "1")
    import hanging_models

    hanging_models.RELEASE.clear()
    hanging_models.WAITING.clear()
    # The hang guard: AppTest waits for a stuck script run without its timeout, so the model is released after
    # HANG_GUARD_SECONDS whatever happens (a page that waited for it then draws without the notice and fails).
    guard = threading.Timer(HANG_GUARD_SECONDS, hanging_models.RELEASE.set)
    guard.daemon = True
    guard.start()
    yield hanging_models
    guard.cancel()
    hanging_models.RELEASE.set()  # every forward still waiting returns, so no thread outlives the test
    sys.modules.pop("hanging_models", None)


def _load_hanging(at: AppTest) -> None:
    at.sidebar.selectbox(key="sb-source").set_value("python").run()
    at.sidebar.text_input(key="sb-py-spec").set_value("py:hanging_models:build_model").run()
    next(box for box in at.sidebar.checkbox if box.label == CONSENT_LABEL).check().run()


def test_a_model_that_hangs_after_loading_leaves_every_page_drawn_and_the_sidebar_working(hanging):
    at = open_app(timeout=90)
    _load_hanging(at)
    assert not at.exception
    assert hanging.WAITING, "the model's prediction did not run"
    assert "has not answered within 1 s" in notices(at), notices(at)
    for page in ("pages/saliency.py", "pages/trust.py", "pages/feature_maps.py"):
        at.switch_page(page).run()
        assert not at.exception, page
        assert "has not answered within 1 s" in notices(at), (page, notices(at))
    at.switch_page("pages/overview.py").run()
    at.sidebar.multiselect(key="sb-samples").set_value(["coffee", "chelsea"]).run()  # widgets still answer
    assert not at.exception and "has not answered" in notices(at)
    at.sidebar.selectbox(key="sb-source").set_value("bundled").run()  # another model: the page is back
    assert not at.exception
    assert any("Top prediction" in s.value for s in at.subheader), notices(at)
