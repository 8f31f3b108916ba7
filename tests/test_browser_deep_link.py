"""A deep link in a real headless Chromium: it opens the view it names, and a reload keeps it. A display-only
control redraws the maps in their fragment: the page above them is not run again (its caption is not resent)."""
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
    expect(page.locator("[data-testid='stImage'] img")).to_have_count(2)  # no heat map alone
    expect(page.get_by_role("combobox", name="Sign")).to_have_value("positive")
    expect(page.get_by_role("combobox", name="Current image")).to_have_value(re.compile("chelsea"))
    expect(page.locator("[data-testid='stException']")).to_have_count(0)


def test_a_deep_link_opens_its_view_and_a_reload_keeps_it(app_url):
    with chromium_page(app_url + LINK) as page:
        shown_view(page)
        query = parse_qs(urlparse(page.url).query)
        assert query["methods"] == ["gradient,grad_x_input"] and query["sign"] == ["positive"], page.url
        assert urlparse(page.url).path.endswith("/saliency")
        frames: list[bytes] = []
        page.on("websocket", lambda ws: ws.on("framereceived", lambda data: frames.append(
            data if isinstance(data, bytes) else data.encode())))
        page.reload()
        shown_view(page)
        assert parse_qs(urlparse(page.url).query)["image"] == ["chelsea"], page.url
        assert any(PAGE_TOP in f for f in frames)  # the reload ran the whole page
        frames.clear()
        page.get_by_text("Also show the heat maps alone").click()  # a display-only control
        expect(page.locator("[data-testid='stImage'] img")).to_have_count(4)  # each map over the photo and alone
        assert frames and not any(PAGE_TOP in f for f in frames)  # only the map area ran again, not the page


PAGE_TOP = b"The gradient of the class score"  # the Saliency page's caption, sent by every run of the page
