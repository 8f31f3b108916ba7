"""Cold start of the app to its first prediction, and the first saliency map and feature grid, in a real browser.

Run: python benchmarks/app_startup.py   (needs Debian's chromium and the playwright package)
Also prints the package-level times of one gradient map and one feature grid on the default model.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path
from statistics import median

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]


def browser_times() -> dict[str, float]:
    from playwright.sync_api import expect

    from browser_support import chromium_page, open_page, streamlit_server

    times = {}
    start = time.perf_counter()
    with streamlit_server() as url:
        times["server healthy"] = time.perf_counter() - start
        with chromium_page(url) as page:
            expect(page.get_by_text("Top prediction").first).to_be_visible(timeout=300_000)
            times["cold start to first prediction"] = time.perf_counter() - start
            for title in ("Saliency", "Feature maps"):
                t = time.perf_counter()
                open_page(page, title)
                expect(page.locator("[data-testid='stImage'] img").first).to_be_visible(timeout=300_000)
                times[f"{title} page: first image"] = time.perf_counter() - t
    return times


def package_times(repeats: int = 5) -> dict[str, float]:
    from interpret.attribution import attribute
    from interpret.capture import capture_layers
    from interpret.layers import default_feature_layer
    from interpret.models import load_model
    from interpret.render import mosaic
    from interpret.samples import load_sample

    t = time.perf_counter()
    lm = load_model("bundled:efficientnet_lite0")
    times = {"load default model": time.perf_counter() - t}
    x = lm.preprocessing.to_tensor(load_sample("coffee").image)
    layer = default_feature_layer(lm)

    def grid():
        acts, _ = capture_layers(lm, x, [layer])
        return mosaic(acts[layer][0].numpy(), labels=[str(i) for i in range(acts[layer].shape[1])])

    for name, fn in {"gradient saliency map": lambda: attribute(lm, x, "gradient", 967),
                     f"feature grid of {layer}": grid}.items():
        fn()
        samples = []
        for _ in range(repeats):
            t = time.perf_counter()
            fn()
            samples.append(time.perf_counter() - t)
        times[name] = median(samples)
    return times


if __name__ == "__main__":
    for label, seconds in {**package_times(), **browser_times()}.items():
        print(f"{label:<40} {seconds:7.2f} s")
