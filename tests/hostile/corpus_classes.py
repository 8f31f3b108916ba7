"""Class-names files: parser bombs, injection, encodings, counts, odd paths.

API: `parse_class_names(data, name)`, then `load_model(bundled, class_names=...)` (1000 outputs). CLI:
`predict sample:coffee --classes PATH --json` with the bundled model.
"""
from __future__ import annotations

import json

from .cases import ACCEPT, EITHER, REFUSE, Case, Env
from .helpers import check_predicted, fifo, no_nan_json, sparse, special, write

CATEGORY = "classes"
ESPRESSO = 967


def _api(built, env: Env):
    from interpret.models import load_model, parse_class_names

    names = parse_class_names(built["data"], built["name"])
    return load_model("bundled:efficientnet_lite0", class_names=names)


def _cli(built) -> list[str]:
    return ["predict", "sample:coffee", "--classes", built["path"], "--json"]


def _names(make):
    return [make(i) for i in range(1000)]


def kept(expected: list[str]):
    """Accepted: the model carries exactly these names (shown later as plain text)."""

    def check(value, built) -> None:
        assert list(value.class_names) == expected, f"names changed: {list(value.class_names)[:3]} ..."

    return check


def top_label(expected: str):
    def check(stdout: str, stderr: str, built) -> None:
        check_predicted(stdout, stderr, built)
        label = no_nan_json(stdout)[0]["top"][0]["label"]
        assert label == expected, f"top label {label!r}, expected {expected!r}"

    return check


def _labels_usable(value, built) -> None:
    assert len(value.class_names) == 1000 and all(isinstance(n, str) for n in value.class_names), "names unusable"


def _case(id, data, name, expect, cli=False, check=None, check_cli=None, mentions=("{name}",), **kw) -> Case:
    return Case(id=f"classes/{id}", category=CATEGORY, build=write(name, data), expect=expect, api=_api,
                cli=_cli if cli else None, check=check if expect != REFUSE else None,
                check_cli=(check_cli or check_predicted) if expect != REFUSE else None,
                mentions=mentions if expect != ACCEPT else (), **kw)


def _json(value) -> bytes:
    return json.dumps(value).encode()


MARKDOWN = _names(lambda i: f"![x{i}](http://example.invalid/{i}.png)")
HTML = _names(lambda i: f"<script>alert({i})</script><img src=x onerror=alert({i})>")
PLAIN = _names(lambda i: f"class name {i}")
BIG_INT = "1" * 5000

CASES: list[Case] = [
    _case("json-nested-100k-list", lambda: b"[" * 100_000 + b"]" * 100_000, "deep.json", REFUSE, cli=True,
          why="RecursionError traceback"),
    _case("json-nested-100k-dict", lambda: b'{"0":' * 100_000 + b"1" + b"}" * 100_000, "deepdict.json", REFUSE),
    _case("json-5000-digit-integer", lambda: f"[{BIG_INT}, ".encode() + _json(PLAIN[1:])[1:], "bigint.json", EITHER,
          cli=True, check=_labels_usable, why="ValueError traceback (int max str digits)"),
    _case("json-5000-digit-key", lambda: f'{{"{BIG_INT}": "a"}}'.encode(), "bigkey.json", REFUSE),
    _case("markdown-image-injection", lambda: _json(MARKDOWN), "markdown.json", ACCEPT, cli=True, check=kept(MARKDOWN),
          check_cli=top_label(MARKDOWN[ESPRESSO]), why="names rendered as Markdown made the browser fetch URLs"),
    _case("html-script-injection", lambda: "\n".join(HTML).encode(), "html.txt", ACCEPT, check=kept(HTML)),
    _case("ten-million-lines", lambda: b"a\n" * 10_000_000, "lines.txt", REFUSE, cli=True,
          why="10 M strings before the count is checked"),
    _case("crlf-lines", lambda: "\r\n".join(PLAIN).encode(), "crlf.txt", ACCEPT, check=kept(PLAIN)),
    _case("utf8-bom", lambda: b"\xef\xbb\xbf" + "\n".join(PLAIN).encode(), "bom.txt", ACCEPT, check=kept(PLAIN), cli=True,
          check_cli=top_label(PLAIN[ESPRESSO])),
    _case("not-utf8", lambda: b"\xff\xfe\xfa" * 1000, "latin.txt", REFUSE, cli=True),
    _case("utf16", lambda: "\n".join(PLAIN).encode("utf-16"), "wide.txt", REFUSE),
    # load_model gets the names, not the file: the message names the problem (the counts)
    _case("999-names", lambda: "\n".join(PLAIN[:999]).encode(), "short.txt", REFUSE, cli=True, mentions=("999", "1000")),
    _case("1001-names", lambda: "\n".join(PLAIN + ["extra"]).encode(), "long.txt", REFUSE, mentions=("1001", "1000")),
    _case("all-duplicates", lambda: ("cat\n" * 1000).encode(), "dupes.txt", EITHER, check=_labels_usable),
    _case("empty-names-json", lambda: _json([""] * 1000), "blank.json", EITHER, check=_labels_usable),
    _case("nul-byte-in-a-name", lambda: _json(PLAIN[:5] + ["bad\x00name"] + PLAIN[6:]), "nul.json", EITHER,
          check=_labels_usable),
    _case("control-characters", lambda: _json(PLAIN[:5] + ["\x1b[2J\x07bell"] + PLAIN[6:]), "ctrl.json", EITHER,
          check=_labels_usable),
    _case("dict-with-gap", lambda: _json({str(i): f"n{i}" for i in range(1001) if i != 500}), "gap.json", REFUSE),
    _case("dict-negative-index", lambda: _json({str(i - 1): f"n{i}" for i in range(1000)}), "negative.json", REFUSE),
    _case("dict-index-1e9", lambda: _json({"0": "a", "1000000000": "b"}), "sparse.json", REFUSE),
    _case("json-null", lambda: b"null", "null.json", REFUSE),
    _case("json-number", lambda: b"1000", "number.json", REFUSE),
    _case("json-string", lambda: b'"espresso"', "string.json", REFUSE),
    _case("json-trailing-garbage", lambda: _json(PLAIN) + b" ]]]", "garbage.json", REFUSE),
    _case("list-of-lists", lambda: _json([[n] for n in PLAIN]), "nested.json", EITHER, check=_labels_usable),
    _case("megabyte-name", lambda: _json(PLAIN[:5] + ["x" * 2**20] + PLAIN[6:]), "longname.json", EITHER,
          check=_labels_usable),
    _case("json-nan-values", lambda: ("[NaN, " + ", ".join(json.dumps(n) for n in PLAIN[1:]) + "]").encode(), "nan.json",
          EITHER, check=_labels_usable),
    _case("empty-file", lambda: b"", "empty.txt", REFUSE, cli=True),
    _case("whitespace-only", lambda: b" \n\t\n  \n", "spaces.txt", REFUSE),
    Case("classes/sparse-1gb-file", CATEGORY, special("huge.txt", sparse(2**30)), REFUSE, cli=_cli,
         why="1 GB of NUL bytes read whole before any check"),
    Case("classes/folder-named-txt", CATEGORY, special("classes.txt", lambda p: p.mkdir()), REFUSE, cli=_cli,
         forbid=("does not exist",)),
    Case("classes/fifo-named-txt", CATEGORY, special("pipe.txt", fifo), REFUSE, cli=_cli),
]
