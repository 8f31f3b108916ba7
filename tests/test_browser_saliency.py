"""The Saliency comparison in a real headless Chromium: four methods, four maps on the same photo."""
import re

import pytest
from playwright.sync_api import expect

from browser_support import open_page
from interpret.attribution import REGISTRY
from interpret.ui.saliency_view import DEFAULT_METHODS

pytestmark = pytest.mark.browser
expect.set_options(timeout=120_000)  # the first model load on a busy 2-core machine takes longer than 5 s


def test_comparison_of_four_methods_shows_four_maps(app_page):
    assert len(DEFAULT_METHODS) == 4
    open_page(app_page, "Saliency")
    for method in DEFAULT_METHODS:  # one overlay per method, captioned with its label and the predicted class
        caption = re.compile("^" + re.escape(REGISTRY[method].label) + r" · espresso")
        expect(app_page.get_by_text(caption)).to_have_count(1, timeout=180_000)
    images = app_page.locator("[data-testid='stImage'] img")
    expect(images).to_have_count(8)  # each map over the photo and alone
    app_page.get_by_text("Also show the heat maps alone").click()
    expect(images).to_have_count(4)
    expect(app_page.get_by_role("button", name=".npy")).to_have_count(4)
    expect(app_page.locator("[data-testid='stException']")).to_have_count(0)
