"""The shared upload cache is bounded by bytes, not only by count (interpret/ui/state.py, limits.UPLOAD_CACHE_BYTES).

Measured here (2 cores, one AppTest session, 50 distinct 1600 x 1200 JPEG uploads of 400 KB, each 6.2 MB
decoded, resident memory after gc and malloc_trim): with the default 256 MB budget the process grew by
317 MB at 50 uploads and stayed flat from the 43rd on (43 images, 253 MB in the cache); bounded by count
alone (64 entries) it grew by 395 MB and kept growing; with a 32 MB budget, by 33 MB. The test runs the
50 uploads with a 64 MB budget, so that the bound, not the number of uploads, decides.
"""
from __future__ import annotations

import ctypes
import gc
import io
import os

import numpy as np
import pytest
from PIL import Image

from app_support import open_app
from interpret import limits
from interpret.images import load_image
from interpret.samples import sample_bytes
from interpret.ui import state
from interpret.ui.shared_lru import SharedLRU

BUDGET = 64 * 2**20
GROWTH_BOUND = BUDGET + 64 * 2**20  # the cache's budget plus what the session itself holds (measured: under 40 MB)
PAGE = os.sysconf("SC_PAGE_SIZE")


def test_entries_are_dropped_oldest_first_once_the_byte_budget_is_exceeded():
    store = SharedLRU(size=10, max_bytes=100)
    for key in "abc":
        store.put(key, key.upper(), 40)
    assert store.get("a") is None and store.nbytes == 80  # a went when c pushed the total to 120
    assert store.get("b") == "B"  # b is now the most recently used
    store.put("d", "D", 40)
    assert store.get("c") is None and [store.get(k) for k in "bd"] == ["B", "D"] and store.nbytes == 80


def test_a_value_over_the_whole_budget_is_not_kept_and_replacing_a_key_recounts_it():
    store = SharedLRU(size=10, max_bytes=100)
    store.put("a", 1, 30)
    store.put("big", 2, 101)
    assert store.get("big") is None and store.get("a") is None and store.nbytes == 0
    store.put("a", 1, 30)
    store.put("a", 1, 60)
    assert store.nbytes == 60 and len(store.items) == 1


def test_the_count_bound_still_holds_without_a_byte_budget():
    store = SharedLRU(size=2)
    for key in "abc":
        store.put(key, key, 10**12)
    assert list(store.items) == ["b", "c"]


def test_an_upload_counts_its_file_and_its_decoded_pixels():
    data = sample_bytes("coffee")
    image = load_image(data, "coffee.png")
    assert state.image_bytes(image) == len(data) + image.image.width * image.image.height * 3


def _rss() -> int:
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)  # count what is held, not what malloc keeps for later
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


def _photos(count: int) -> list[bytes]:
    """Distinct 1600 x 1200 photos (a sample photo with seeded noise), as 400 KB JPEGs."""
    base = np.asarray(Image.open(io.BytesIO(sample_bytes("coffee"))).convert("RGB").resize((1600, 1200)), dtype=np.int16)
    photos = []
    for seed in range(count):
        noisy = base + np.random.default_rng(seed).integers(-6, 7, size=base.shape)
        buffer = io.BytesIO()
        Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)).save(buffer, format="JPEG", quality=90)
        photos.append(buffer.getvalue())
    return photos


@pytest.fixture()
def small_budget(monkeypatch):
    """The upload store rebuilt with BUDGET; afterwards, rebuilt with the default for the tests that follow."""
    monkeypatch.setattr(limits, "UPLOAD_CACHE_BYTES", BUDGET)
    state._uploads.clear()
    yield
    state._uploads.clear()


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs Linux's /proc")
def test_fifty_uploads_in_one_session_stay_within_the_byte_budget(small_budget):
    photos = _photos(52)
    at = open_app()
    for i in range(2):  # warm-up: decoders, the predictions of the first upload
        at.sidebar.file_uploader(key="sb-uploads").set_value([(f"warm{i}.jpg", photos[50 + i], "image/jpeg")]).run()
    start = _rss()
    for i in range(50):
        at.sidebar.file_uploader(key="sb-uploads").set_value([(f"photo{i}.jpg", photos[i], "image/jpeg")]).run()
        assert not at.exception and not at.error
    growth = _rss() - start
    store = state._uploads()
    assert store.nbytes <= BUDGET and len(store.items) < 50
    assert growth < GROWTH_BOUND, f"grew by {growth / 2**20:.0f} MB over 50 uploads"
