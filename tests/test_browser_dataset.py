"""The Dataset page in a real headless Chromium on a store of a few hundred rows made by the engine from real photos:
the summary, the mean maps, where it looks, the strategies, the gallery, and a gallery image opened in Saliency."""
from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from browser_support import open_page
from test_dataset import make_set

pytestmark = pytest.mark.browser
expect.set_options(timeout=120_000)
PER_CLASS = 60  # 120 photos, each explained for its predicted and its true class: 240 rows


@pytest.fixture(scope="module")
def store(tmp_path_factory, bundled) -> Path:
    from interpret.dataset import explain_dataset
    from interpret.models import load_model

    small = load_model(bundled.spec, preprocessing=lambda p: p.replace(crop_size=64, resize_size=64))
    photos = make_set(tmp_path_factory.mktemp("browser-set") / "val", per_class=PER_CLASS, bad=False, size=64)
    out = photos.parent / "val-store"
    explain_dataset(photos, out, small, ["gradient"], targets="both")
    return out


def view(page, name: str) -> None:
    page.locator("[data-testid='stRadio']").filter(has_text="Summary").get_by_text(name, exact=True).click()


def test_the_dataset_page_on_a_store_of_a_few_hundred_rows(app_page, store):
    open_page(app_page, "Dataset")
    app_page.get_by_test_id("stRadioGroup").get_by_text("A store made by interpret explain-set").click()
    box = app_page.get_by_label("Store folder")
    box.fill(str(store))
    box.press("Enter")
    expect(app_page.locator("[data-testid='stMetricValue']").first).to_have_text(str(2 * PER_CLASS))
    view(app_page, "Mean maps")
    expect(app_page.get_by_text("Mean map of the", exact=False).first).to_be_visible()
    view(app_page, "Where it looks")
    expect(app_page.locator("[data-testid='stVegaLiteChart']")).to_have_count(1)
    view(app_page, "Strategies")
    expect(app_page.get_by_text("Group 1:", exact=False).first).to_be_visible()  # its line, then its zip button
    view(app_page, "Gallery")
    expect(app_page.get_by_role("button", name="Open in Saliency")).to_have_count(12)
    expect(app_page.locator("[data-testid='stException']")).to_have_count(0)
    expect(app_page.locator("[data-testid='stAlertContentError']")).to_have_count(0)
    app_page.get_by_role("button", name="Open in Saliency").first.click()
    expect(app_page.get_by_role("heading", name="Saliency").first).to_be_visible()
    expect(app_page.locator("[data-testid='stException']")).to_have_count(0)
