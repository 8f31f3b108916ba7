"""Feature maps in a real headless Chromium: the mosaic of the default layer, then sorting by class drive."""
import pytest
from playwright.sync_api import expect

from browser_support import open_page

pytestmark = pytest.mark.browser


def test_feature_maps_shows_the_mosaic_and_sorts_by_drive_on_the_class(app_page):
    page = app_page
    open_page(page, "Feature maps")
    expect(page.get_by_text("channels 1–80 of 80").first).to_be_visible(timeout=180_000)
    expect(page.locator("[data-testid='stImage'] img").first).to_be_visible()
    # the mosaic: 9 x 9 labelled tiles of 42 px, not a thumbnail (waited for: the page before may still be fading
    # out its own 224 px photo when the caption appears)
    page.wait_for_function("() => [...document.querySelectorAll(\"[data-testid='stImage'] img\")]"
                           ".some(img => img.complete && img.naturalWidth >= 9 * 42)", timeout=60_000)
    expect(page.locator("[data-testid='stException']")).to_have_count(0)

    page.get_by_role("combobox", name="Sort channels by").click()
    page.get_by_role("option", name="drive on the target class (gradient × activation)").click()
    expect(page.get_by_text("Grad × act").first).to_be_visible(timeout=180_000)
    expect(page.locator("[data-testid='stException']")).to_have_count(0)
