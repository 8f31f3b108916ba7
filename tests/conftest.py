"""Shared fixtures: the bundled model and sample photos (loaded once), and a real browser session."""
from __future__ import annotations

import os

import pytest

# Ray reads this when it is first imported: every process of a test's local cluster then binds 127.0.0.1 only
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"

from browser_support import browser_available, chromium_page, streamlit_server


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: end-to-end test in a real headless Chromium")


@pytest.fixture(scope="session")
def bundled():
    from interpret.models import load_model

    return load_model("bundled:efficientnet_lite0")


@pytest.fixture(scope="session")
def resnet18():
    from interpret.models import load_model

    return load_model("torchvision:resnet18", weights="random")


@pytest.fixture(scope="session")
def trainable_resnet18(resnet18):
    """The same weights as `resnet18`, trainable, for peer libraries that back-propagate into parameters."""
    import copy

    model = copy.deepcopy(resnet18.model).eval()
    for p in model.parameters():
        p.requires_grad_(True)
    return model


@pytest.fixture(scope="session")
def silu_effnet():
    """timm EfficientNet-B0, random weights: SiLU activations and sigmoid squeeze-excitation gates."""
    from interpret.models import load_model

    return load_model("timm:efficientnet_b0", weights="random")


@pytest.fixture(scope="session")
def gelu_vit():
    """timm ViT-Tiny/16 at 224 px, random weights: GELU, layer norms and attention, a class token."""
    from interpret.models import load_model

    return load_model("timm:vit_tiny_patch16_224", weights="random")


@pytest.fixture(scope="session")
def coffee():
    from interpret.samples import load_sample

    return load_sample("coffee")


@pytest.fixture(scope="session")
def app_url():
    if not browser_available():
        pytest.skip("Chromium or Playwright is not installed")
    with streamlit_server() as url:
        yield url


@pytest.fixture()
def app_page(app_url):
    """A fresh browser tab on the app's start page, after its first prediction is drawn."""
    from playwright.sync_api import expect

    with chromium_page(app_url) as page:
        expect(page.get_by_text("Top prediction").first).to_be_visible()
        yield page
