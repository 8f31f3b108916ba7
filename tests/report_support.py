"""Reading what a page's download buttons give, in AppTest.

The Report, grid, curves and map buttons make their files on a click (Streamlit's deferred downloads): each run
registers a callable with the runtime's media file manager, which AppTest drops after every run. `Downloads` records
the callables as the real manager registers them (it still registers them) so that a test clicks them as the
server would, by file name."""
from __future__ import annotations

import base64
import html
import io
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from PIL import Image
from streamlit.runtime.media_file_manager import MediaFileManager


class Downloads:
    """The latest callable registered under each file name, and the order they were registered in."""

    def __init__(self) -> None:
        self.made: dict[str, Callable[[], bytes | str]] = {}

    def named(self, pattern: str) -> bytes:
        """The file of the newest button whose file name matches `pattern` (a regular expression), made as a click
        would make it."""
        names = [name for name in self.made if re.search(pattern, name)]
        assert names, f"no download named like {pattern!r}: {list(self.made)}"
        data = self.made[names[-1]]()
        return data.encode("utf-8") if isinstance(data, str) else data

    def names(self, pattern: str = "") -> list[str]:
        return [name for name in self.made if re.search(pattern, name)]


@contextmanager
def recorded_downloads() -> Iterator[Downloads]:
    """Record every deferred download the app registers while inside."""
    downloads = Downloads()
    real = MediaFileManager.add_deferred

    def add_deferred(self, data_callable, mimetype, coordinates, file_name=None, **kwargs):
        downloads.made.pop(file_name, None)  # the newest last
        downloads.made[file_name] = data_callable
        return real(self, data_callable, mimetype, coordinates, file_name, **kwargs)

    MediaFileManager.add_deferred = add_deferred  # type: ignore[method-assign]
    try:
        yield downloads
    finally:
        MediaFileManager.add_deferred = real  # type: ignore[method-assign]


def images_of(page: str) -> list[tuple[str, Image.Image]]:
    """Every picture embedded in a report, decoded, with its alt text."""
    found = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)" alt="([^"]*)"', page)
    return [(html.unescape(alt), Image.open(io.BytesIO(base64.b64decode(data)))) for data, alt in found]


def text_of(page: str) -> str:
    """The text a browser shows of a report: tags dropped, character references read, white space made single."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())
