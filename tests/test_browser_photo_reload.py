"""A reload keeps the photos a user uploaded (real headless Chromium): the link's token names them on the server."""
import io

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import expect

pytestmark = pytest.mark.browser
NAME = "reload-me.png"


def png() -> bytes:
    pixels = np.random.default_rng(7).integers(0, 255, (48, 64, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def photo_caption(page):
    """The Predictions page's caption under the current photo ('NAME · 64×48 · ...')."""
    return page.get_by_text(f"{NAME} · 64×48").first


def test_an_uploaded_photo_is_still_the_current_image_after_a_reload(app_page):
    uploader = app_page.locator("[data-testid='stFileUploader']").filter(has_text="Your images")
    uploader.locator("input[type='file']").set_input_files({"name": NAME, "mimeType": "image/png", "buffer": png()})
    expect(photo_caption(app_page)).to_be_visible()
    app_page.wait_for_function("() => window.location.search.includes('photos=')")
    app_page.reload()
    expect(photo_caption(app_page)).to_be_visible()  # the current image, restored from the server
    expect(app_page.get_by_text("could not be restored")).to_have_count(0)
    expect(app_page.locator("[data-testid='stException']")).to_have_count(0)
