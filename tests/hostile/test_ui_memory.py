"""The memory test: 50 distinct 1600x1200 photo uploads in one app session stay under a stated bound.

The issue measured +362 MB over 50 uploads, growing linearly: the shared upload cache was bounded by
count (64 entries), not bytes. The bound here is what the byte-bounded cache may hold,
`interpret.limits.UPLOAD_CACHE_BYTES` (defined in interpret/limits.py, used by interpret/ui/state.py's
`_uploads()`), plus SLACK for everything else one run keeps (session state, the page's media, allocator
slack). Once the cache is full, further uploads must evict: the last uploads may add at most FLAT_BOUND to the
heap's live bytes (glibc's count of bytes in use; resident memory there jumps by +-50 MB as arenas fill and drain).

Measured (2 cores): before uploads were counted as Pillow stores them (4 bytes per RGB pixel, not 3), the cache held
42 photos, 330 MB, and the process grew by 321-358 MB; counted right it holds 33 and grows by 241 MB, flat from the
33rd upload on.
"""
from __future__ import annotations

import ctypes
import gc
import os

import pytest

from interpret import limits

from . import files as F
from .app_flow import earlier_state

pytestmark = pytest.mark.hostile

UPLOADS = 50
SIZE = (1600, 1200)  # decoded RGB, as Pillow keeps it: 7.7 MB each, so 50 of them (384 MB) overflow a 256 MB cache
SAMPLES = ("coffee", "chelsea", "rocket", "astronaut", "china", "flower", "grace_hopper")
SLACK = 96 * 2**20
MEMORY_BOUND = limits.UPLOAD_CACHE_BYTES + SLACK
LAST = 8  # uploads after the cache has filled (about 33 photos of 7.7 MB fill 256 MB)
FLAT_BOUND = 3 * 8 * 2**20  # those 8 may add what 3 photos hold (a count-bounded cache would add all 8: 62 MB)


def _rss() -> int:
    """Resident bytes of this process after a collection, with the C heap's free pages handed back
    (malloc_trim), so that the figure follows live memory rather than what glibc keeps for later."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: the raw figure
        pass
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]


def _live() -> int:
    """Bytes the C heap has handed out and not had back (glibc's mallinfo2), or resident bytes elsewhere; read
    right after `_rss()`, which has just collected."""
    try:
        mallinfo2 = ctypes.CDLL("libc.so.6").mallinfo2
    except (OSError, AttributeError):
        return _rss()
    mallinfo2.restype = _MallInfo2
    info = mallinfo2()
    return info.uordblks + info.hblkhd


def _photo(i: int) -> tuple[str, bytes, str]:
    """A distinct real photo: a sample resized to 1600x1200 with its own noise (seed i)."""
    image = F.photo(SIZE, SAMPLES[i % len(SAMPLES)], seed=1000 + i)
    return f"photo_{i:02d}.jpg", F.encode(image, "JPEG", quality=90), "image/jpeg"


def test_fifty_uploads_in_one_session_stay_under_the_byte_bounded_cache():
    at, _ = earlier_state()
    uploader = lambda: at.sidebar.file_uploader(key="sb-uploads")  # noqa: E731 - re-read after every run
    uploader().set_value([_photo(-1)]).run()  # one photo of this size decoded: pools and caches warmed
    base, live_base = _rss(), _live()
    marks, live = [], []
    for i in range(UPLOADS):
        uploader().set_value([_photo(i)]).run()
        assert not at.exception, [e.value for e in at.exception]
        assert not at.error, [e.value for e in at.error]
        marks.append(_rss() - base)
        live.append(_live() - live_base)
    growth, tail = marks[-1], live[-1] - live[-1 - LAST]
    print(f"\nRSS growth over {UPLOADS} uploads of {SIZE[0]}x{SIZE[1]}: {growth / 2**20:.0f} MB "
          f"(bound {MEMORY_BOUND / 2**20:.0f} MB); last {LAST}: {tail / 2**20:.0f} MB (bound {FLAT_BOUND / 2**20:.0f} MB); "
          f"after each: {[round(m / 2**20) for m in marks]} MB")
    assert growth < MEMORY_BOUND, f"grew by {growth / 2**20:.0f} MB over {UPLOADS} uploads (bound {MEMORY_BOUND / 2**20:.0f})"
    assert tail < FLAT_BOUND, f"still growing once the cache is full: +{tail / 2**20:.0f} MB over the last {LAST} uploads"
