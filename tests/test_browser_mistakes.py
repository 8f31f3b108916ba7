"""The Mistakes page in a real headless Chromium on the demo set: scores, a real mistake and its maps."""
import pytest
from playwright.sync_api import expect

from browser_support import open_page

pytestmark = pytest.mark.browser
expect.set_options(timeout=120_000)  # the app's first run (model load) takes longer than expect's 5 s default on 2 busy cores


def test_demo_set_scores_mistakes_and_contrastive_maps(app_page):
    open_page(app_page, "Mistakes")
    expect(app_page.get_by_text("Top-1 accuracy").first).to_be_visible(timeout=180_000)
    expect(app_page.locator("[data-testid='stMetricValue']").first).to_have_text("18", timeout=60_000)
    app_page.get_by_role("tab", name="Wrong predictions").click()
    wrong = app_page.get_by_role("tabpanel", name="Wrong predictions")
    expect(wrong.get_by_text("#1 ·", exact=False)).to_be_visible()
    expect(wrong.get_by_text("true: tabby", exact=False).first).to_be_visible()
    app_page.get_by_role("tab", name="Explain a mistake").click()
    explain = app_page.get_by_role("tabpanel", name="Explain a mistake")
    expect(explain.get_by_text("rather than", exact=False).first).to_be_visible()
    expect(explain.locator("[data-testid='stImage'] img")).to_have_count(4)
    expect(explain.get_by_text("Top-5 probabilities").first).to_be_visible()
    expect(app_page.locator("[data-testid='stException']")).to_have_count(0)
    expect(app_page.locator("[data-testid='stAlertContentError']")).to_have_count(0)
