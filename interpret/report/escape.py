"""Text inside HTML shown exactly as written: the one escaping of every class name, file name and label that the
app's HTML captions (ui/map_image.py) and the reports (report/html.py) show.

Tags are escaped and Markdown's special characters written as character references, so that neither a tag nor a
link, image, emphasis or Streamlit's :colour[...] can form, whether the HTML is put into Markdown (the app) or read
by a browser as a file (a report).
"""
from __future__ import annotations

import html

_REFERENCES = {c: f"&#{ord(c)};" for c in "\\`*_[]~$|:!#"}  # Markdown's specials, as HTML character references


def html_text(text: object) -> str:
    """`text` on one line (runs of white space made one space), every character shown as written."""
    return "".join(_REFERENCES.get(c) or html.escape(c, quote=True) for c in " ".join(str(text).split()))


def html_lines(text: object) -> str:
    """`text` as `html_text` line by line, the lines kept (for a block of commands)."""
    return "\n".join(html_text(line) for line in str(text).splitlines())
