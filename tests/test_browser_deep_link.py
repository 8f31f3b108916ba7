"""A deep link in a real headless Chromium: it opens the view it names, and a reload keeps it."""
import re
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import expect

from browser_support import chromium_page
from interpret.attribution import REGISTRY

pytestmark = pytest.mark.browser
LINK = "/saliency?samples=coffee,chelsea&image=chelsea&methods=gradient,grad_x_input&sign=positive&heat=0"


def shown_view(page) -> None:
    """The link's view: two maps of the chelsea photo, the sign box on 'positive', no heat maps alone."""
    expect(page.get_by_role("heading", name="Saliency").first).to_be_visible()
    for label in (REGISTRY["gradient"].label, REGISTRY["grad_x_input"].label):
        expect(page.get_by_text(re.compile("^" + re.escape(label) + " · "))).to_have_count(1, timeout=180_000)
    expect(page.get_by_text(re.compile("^" + re.escape(REGISTRY["guided_backprop"].label) + " · "))).to_have_count(0)
    expect(page.get_by_text("heat map", exact=True)).to_have_count(0)
    expect(page.get_by_role("combobox", name="Sign")).to_have_value("positive")
    expect(page.get_by_role("combobox", name="Current image")).to_have_value(re.compile("chelsea"))
    expect(page.locator("[data-testid='stException']")).to_have_count(0)


def test_a_deep_link_opens_its_view_and_a_reload_keeps_it(app_url):
    with chromium_page(app_url + LINK) as page:
        shown_view(page)
        query = parse_qs(urlparse(page.url).query)
        assert query["methods"] == ["gradient,grad_x_input"] and query["sign"] == ["positive"], page.url
        assert urlparse(page.url).path.endswith("/saliency")
        page.reload()
        shown_view(page)
        assert parse_qs(urlparse(page.url).query)["image"] == ["chelsea"], page.url
