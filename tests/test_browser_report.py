"""Sharing in a real headless Chromium: a photo x method grid downloads as one PNG, the Report button downloads one
HTML file, and that file opens in a browser with the network off and asks for nothing: every picture is inside it."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import expect

from browser_support import CHROMIUM, CHROMIUM_FLAGS, chromium_page

pytestmark = pytest.mark.browser
LINK = "/saliency?samples=coffee,chelsea&methods=gradient,gradcam&scope=all"


def download(page, name: str, folder: Path) -> Path:
    """Click the download button `name` and keep the file it gives."""
    with page.expect_download(timeout=120_000) as info:
        page.get_by_role("button", name=name).first.click()
    target = folder / info.value.suggested_filename
    info.value.save_as(target)
    return target


def test_the_grid_png_and_the_report_download_and_the_report_opens_offline(app_url, tmp_path):
    with chromium_page(app_url + LINK) as page:
        expect(page.get_by_role("heading", name="Saliency").first).to_be_visible()
        expect(page.get_by_role("button", name="Grid PNG")).to_have_count(1, timeout=180_000)
        expect(page.locator("[data-testid='stImage'] img")).to_have_count(2 + 4, timeout=180_000)  # photos, then maps
        grid = download(page, "Grid PNG", tmp_path)
        report = download(page, "Report", tmp_path)
    assert re.fullmatch(r"efficientnet_lite0-[0-9a-f]{6}_grid\.png", grid.name)
    with Image.open(grid) as picture:
        assert picture.width > picture.height > 300
    assert re.fullmatch(r"efficientnet_lite0-[0-9a-f]{6}_saliency_report\.html", report.name)

    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            context = browser.new_context(offline=True)
            page = context.new_page()
            asked: list[str] = []
            page.on("request", lambda request: asked.append(request.url))
            page.goto(report.as_uri())
            pictures = page.locator("img")
            expect(pictures).to_have_count(2 + 2 + 4)  # the photos with their predictions, the grid's column, 4 maps
            widths = pictures.evaluate_all("images => images.map(i => i.complete ? i.naturalWidth : 0)")
            assert all(width > 0 for width in widths), widths  # every picture decoded from inside the file
            expect(page.get_by_text("chelsea.png").first).to_be_visible()
            expect(page.get_by_role("cell", name="espresso").first).to_be_visible()  # the photos' top classes
            expect(page.get_by_text("No prediction was computed")).to_have_count(0)
            assert [url for url in asked if not url.startswith(("file:", "data:"))] == []
        finally:
            browser.close()
