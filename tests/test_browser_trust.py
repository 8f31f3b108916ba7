"""The Trust page in a real headless Chromium: the scores table, the curves, and the sanity strip with verdicts.

Opened by a link naming two quick methods (the default four include Integrated Gradients, whose full sanity check
alone took most of this test's minutes): the same table, curves, strips and verdicts, and the link's methods."""
import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser
expect.set_options(timeout=180_000)  # maps, scores and randomised copies on 2 busy cores


def test_trust_table_curves_and_sanity_verdicts(app_page, app_url):
    app_page.goto(app_url + "/trust?methods=gradient,gradcam")
    expect(app_page.get_by_text("Faithfulness and sanity").first).to_be_visible(timeout=300_000)
    expect(app_page.locator("[data-testid='stDataFrame']:visible").first).to_be_visible(timeout=600_000)
    expect(app_page.get_by_text("Deletion and insertion curves").first).to_be_visible()
    expect(app_page.locator("[data-testid='stVegaLiteChart']")).to_have_count(2)
    app_page.get_by_role("button", name="Run the sanity check").click()
    expect(app_page.get_by_text(re.compile(r"— .+ (passes|flagged)")).first).to_be_visible(timeout=600_000)
    expect(app_page.get_by_text(re.compile(r"Grad-CAM — .+ (passes|flagged)"))).to_be_visible()
    expect(app_page.locator("[data-testid='stImage']").first).to_be_visible()
    expect(app_page.locator("[data-testid='stException']")).to_have_count(0)
    expect(app_page.locator("[data-testid='stAlertContentError']")).to_have_count(0)
