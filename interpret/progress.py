"""One progress-and-cancel protocol for every long computation.

A long computation takes `progress: Progress | None` and calls it with the fraction done (0..1) after
each unit of work. The caller cancels by raising `Cancelled` from that call: the computation either
lets it propagate (nothing partial to keep) or catches it at its loop and returns what it finished,
marked as stopped. `report(progress, f)` is the one way to call a possibly missing callback.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from .errors import InterpretError

Progress = Callable[[float], None]


class Cancelled(InterpretError):
    """Raised from a progress callback to stop the computation after its current unit of work."""

    def __init__(self, message: str = "Stopped.") -> None:
        super().__init__(message)


def report(progress: Progress | None, fraction: float) -> None:
    """Tell `progress` (if any) that `fraction` of the work is done, clipped to [0, 1]."""
    if progress is not None:
        progress(min(1.0, max(0.0, float(fraction))))


def scaled(progress: Progress | None, start: float, stop: float) -> Progress | None:
    """A callback that maps a sub-task's 0..1 onto [start, stop] of `progress`."""
    if progress is None:
        return None
    return lambda fraction: report(progress, start + (stop - start) * fraction)


@contextmanager
def tqdm_progress(description: str, enabled: bool = True) -> Iterator[Progress | None]:
    """A Progress that draws a tqdm bar on stderr (for the CLI); None when disabled."""
    if not enabled:
        yield None
        return
    from tqdm import tqdm

    bar = tqdm(total=1000, desc=description, leave=False,
               bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed}<{remaining}")
    try:
        def update(fraction: float) -> None:
            bar.n = round(fraction * 1000)
            bar.refresh()

        yield update
    finally:
        bar.close()
