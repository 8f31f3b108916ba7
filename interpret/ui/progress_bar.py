"""The app's side of the one progress-and-cancel protocol (interpret/progress.py): a bar per computation.

The callback draws the fraction done. Stopping needs no flag of its own: a click on any widget, the
page's Stop button included, makes Streamlit end the script run at the next bar update, by raising its
own rerun exception from the st call; like `Cancelled`, it passes up through the computation. Work
that must keep what finished before a stop stores each finished part as it goes (one cache entry per
map, per sanity check, or an evaluation filled in place), never in a `st.cache_data` function, whose
st calls would be recorded and replayed on every later hit.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

from ..progress import Progress


@contextmanager
def progress_bar(text: str) -> Iterator[Progress]:
    """A Progress drawing an st.progress bar labelled `text`; the bar goes when the block ends."""
    slot = st.empty()

    def progress(fraction: float) -> None:
        slot.progress(min(1.0, max(0.0, float(fraction))), text=text)

    try:
        yield progress
    finally:
        slot.empty()
