"""Saliency in a real headless Chromium while a slow map runs: the fast maps are on screen beside its progress bar,
and Stop keeps them ('stopped: 4 of 5 maps shown'). The defect: nothing was drawn until every map was done, and
after a stop no map at all."""
import re

import pytest
from playwright.sync_api import expect

from browser_support import open_page

pytestmark = pytest.mark.browser


def test_fast_maps_show_while_score_cam_runs_and_stop_keeps_them(app_page):
    page = app_page
    open_page(page, "Saliency")
    gradient = page.get_by_text(re.compile(r"^Gradient \(saliency\) · espresso"))
    expect(gradient).to_have_count(1, timeout=180_000)
    box = page.locator("[data-testid='stMultiSelect']").filter(has_text="Methods").locator("input").first
    box.click()
    box.fill("Score-CAM")
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")
    compute = page.get_by_role("button", name="Compute Score-CAM")
    bar = page.get_by_text(re.compile(r"Score-CAM: \d+% · .* left"))
    expect(compute.or_(bar)).to_be_visible(timeout=60_000)  # estimated over AUTO_COMPUTE_SECONDS it waits for a click
    if compute.is_visible():  # (its estimate, ~500 masked forwards at 224 px, depends on the machine's speed)
        compute.click()
    expect(bar).to_be_visible(timeout=60_000)
    expect(gradient).to_have_count(1)  # the finished map stays while the slow one runs
    expect(page.locator("[data-testid='stImage'] img")).to_have_count(8)
    page.locator("[data-testid='stButton'] button", has_text=re.compile("^Stop$")).first.click()
    expect(page.get_by_text("stopped: 4 of 5 maps shown")).to_be_visible(timeout=60_000)
    expect(gradient).to_have_count(1)
    expect(page.locator("[data-testid='stImage'] img")).to_have_count(8)
    expect(page.locator("[data-testid='stException']")).to_have_count(0)
