"""Class names, labels, file names and messages as plain text inside Markdown.

Streamlit renders st.markdown, st.caption, st.subheader, widget labels, st.error and friends as Markdown:
a class-names file holding `![x](http://host/x.png)` would make the viewer's browser fetch that URL, and
`:red[...]`, `$...$` or `<b>` would restyle the page. `plain` escapes every Markdown, emoji-shortcode and
LaTeX delimiter character with a backslash, so the text is shown exactly as written. Strings that are shown
as text already (st.text, st.code, st.dataframe cells, selectbox options) need no escaping.
"""
from __future__ import annotations

import re

# The characters that open Markdown constructs able to fetch, link or restyle inline text: links and images
# need '[' (so '![x](url)' and Streamlit's ':red[...]' break there), emphasis '*' '_' '~', code '`', tables '|',
# LaTeX '$', and the backslash itself; '<', '>' and '&' become character references, so no raw tag remains.
# Other punctuation ('(', '.', '-', ':', '!') stays as written: alone it builds nothing inline.
_SPECIAL = re.compile(r"([\\`*_\[\]~$|])")
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def plain(text: object) -> str:
    """`text` escaped so that Markdown shows it literally, on one line."""
    one_line = " ".join(str(text).splitlines())
    escaped = _SPECIAL.sub(r"\\\1", one_line)
    return "".join(_ENTITIES.get(c, c) for c in escaped)
