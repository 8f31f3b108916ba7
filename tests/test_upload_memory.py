"""The shared upload cache is bounded by bytes, not only by count (interpret/ui/state.py, limits.UPLOAD_CACHE_BYTES):
unit tests of the byte budget. The 50-upload memory test of a whole AppTest session is the hostile suite's
(tests/hostile/test_ui_memory.py).

Measured here (2 cores, one AppTest session, 50 distinct 1600 x 1200 JPEG uploads, each 7.7 MB decoded as
Pillow keeps it, resident memory after gc and malloc_trim): with the default 256 MB budget the process grew by
241-258 MB at 50 uploads and stayed flat from the 33rd on. While RGB pixels were counted at 3 bytes, not Pillow's
4, the cache held 42 photos (330 MB) and the process grew by 321-358 MB, over the hostile test's bound in CI.
"""
from __future__ import annotations

import ctypes
import gc
import hashlib
import io
import os

from PIL import Image

from interpret.images import load_image
from interpret.samples import sample_bytes
from interpret.ui import state
from interpret.ui.shared_lru import SharedLRU


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


def test_an_upload_counts_its_file_and_its_decoded_pixels_as_pillow_stores_them():
    data = sample_bytes("coffee")
    image = load_image(data, "coffee.png")
    assert image.image.mode == "RGB"
    assert state.image_bytes(image) == len(data) + image.image.width * image.image.height * 4  # RGB is 32-bit


def test_the_counted_bytes_are_what_a_decoded_photo_really_takes():
    """Counting three bytes per RGB pixel let the 256 MB cache hold 330 MB (CI's 50-upload test grew by 358 MB)."""
    buffer = io.BytesIO()
    Image.open(io.BytesIO(sample_bytes("coffee"))).convert("RGB").resize((4000, 3000)).save(buffer, "JPEG")
    data = buffer.getvalue()
    before = _resident()
    image = load_image(data, "big.jpg")
    grown = _resident() - before
    counted = state.image_bytes(image) - len(data)
    assert 0.9 < grown / counted < 1.1, f"decoding took {grown / 2**20:.1f} MB, counted {counted / 2**20:.1f} MB"


def _resident() -> int:
    """Resident bytes after a collection, glibc's free pages handed back."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_the_app_keeps_decoded_uploads_within_the_budget_of_limits(monkeypatch):
    from interpret import limits

    data = [photo_bytes(seed) for seed in range(3)]
    one = state.image_bytes(load_image(data[0], "0.png"))
    monkeypatch.setattr(limits, "UPLOAD_CACHE_BYTES", 2 * one + one // 2)  # room for two of them
    state._uploads.clear()
    try:
        store = state._uploads()
        assert store.max_bytes == limits.UPLOAD_CACHE_BYTES
        images = [state._cached_upload(hashlib.sha256(d).hexdigest(), f"{i}.png", d) for i, d in enumerate(data)]
        assert state._cached_upload(hashlib.sha256(data[2]).hexdigest(), "2.png", data[2]) is images[2]  # a hit
        assert len(store.items) == 2 and store.nbytes <= limits.UPLOAD_CACHE_BYTES  # the first one went
    finally:
        state._uploads.clear()  # rebuilt with the default budget by the next user


def photo_bytes(seed: int) -> bytes:
    """A distinct 320 x 240 PNG (a sample photo, one pixel changed by the seed)."""
    image = Image.open(io.BytesIO(sample_bytes("coffee"))).convert("RGB").resize((320, 240))
    image.putpixel((0, 0), (seed, seed, seed))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
