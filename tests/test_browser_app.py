"""The app in a real headless Chromium: start page, Saliency and Feature maps on the default model."""
import pytest
from playwright.sync_api import expect

from browser_support import open_page

pytestmark = pytest.mark.browser


def test_start_page_shows_the_default_model_and_its_prediction(app_page):
    expect(app_page.get_by_text("Top prediction: espresso").first).to_be_visible()
    expect(app_page.locator("[data-testid='stImage']").first).to_be_visible()
    expect(app_page.get_by_text("bundled:efficientnet_lite0").first).to_be_visible()
    # a local tool: no Streamlit "Deploy" button in the toolbar (.streamlit/config.toml's client.toolbarMode)
    expect(app_page.locator("[data-testid='stAppDeployButton']")).to_have_count(0)
    expect(app_page.get_by_role("button", name="Deploy")).to_have_count(0)


def test_saliency_and_feature_pages_draw_images(app_page):
    for title in ("Saliency", "Feature maps"):
        open_page(app_page, title)
        expect(app_page.locator("[data-testid='stImage'] img").first).to_be_visible(timeout=120_000)
        expect(app_page.locator("[data-testid='stException']")).to_have_count(0)


def test_a_fresh_server_opened_on_a_page_url_shows_that_page_inside_the_app():
    from browser_support import chromium_page, streamlit_server

    with streamlit_server() as url, chromium_page(f"{url}/feature_maps") as page:
        expect(page.get_by_role("heading", name="Feature maps").first).to_be_visible()
        expect(page.get_by_text("Sample photos").first).to_be_visible()  # the shared sidebar is there
        expect(page.get_by_role("link", name="Predictions")).to_have_count(1)  # st.navigation's pages, not the folder's
