"""Class names: ImageNet's, or a user's file (.txt one per line, or .json).

A user's file is checked before and while it is parsed (size, line count, nesting, types, control
characters), so that any file gives either a tuple of plain-text names or one `ClassNamesError` line.
"""
from __future__ import annotations

import json
import os
import unicodedata
from functools import lru_cache
from pathlib import Path

from ..errors import ClassNamesError
from ..files import printable, read_regular_file
from ..limits import CLASS_NAME_CHARS, CLASS_NAMES_FILE_BYTES, CLASS_NAMES_LINES, MAX_CLASSES


@lru_cache(maxsize=1)
def imagenet_classes() -> tuple[str, ...]:
    """The 1000 ImageNet-1k class names, as torchvision ships them (no download)."""
    from torchvision.models import ResNet18_Weights

    return tuple(ResNet18_Weights.DEFAULT.meta["categories"])


def default_classes(num_classes: int) -> tuple[str, ...]:
    """ImageNet's names for a 1000-way head, else 'class 0', 'class 1', ..."""
    if num_classes == 1000:
        return imagenet_classes()
    return tuple(f"class {i}" for i in range(num_classes))


def read_class_names_file(path: str | os.PathLike[str]) -> tuple[str, ...]:
    """Read a class-names file from disk: a regular file of at most CLASS_NAMES_FILE_BYTES, then parsed
    (a FIFO or a device named `classes.txt` cannot hang the process or fill its memory)."""
    data = read_regular_file(path, CLASS_NAMES_FILE_BYTES, "CLASS_NAMES_FILE_BYTES", ClassNamesError,
                             "a class-names file")
    return parse_class_names(data, Path(printable(os.fsdecode(path))).name)


def parse_class_names(data: bytes, filename: str = "classes.txt") -> tuple[str, ...]:
    """Read class names from a .txt (one per line) or .json (a list, or a {index: name} mapping) file's bytes."""
    if len(data) > CLASS_NAMES_FILE_BYTES:
        raise ClassNamesError(f"The class-names file '{filename}' is {len(data) / 2**20:.1f} MB; "
                              f"up to {CLASS_NAMES_FILE_BYTES // 2**20} MB is accepted.")
    if b"\x00" in data:
        raise ClassNamesError(f"The class-names file '{filename}' holds a NUL byte: it is binary data, not text.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ClassNamesError(f"The class-names file '{filename}' is not UTF-8 text (byte {exc.start}).") from exc
    if filename.lower().endswith(".json"):
        names = _json_names(text, filename)
    else:
        lines = text.count("\n") + 1
        if lines > CLASS_NAMES_LINES:
            raise ClassNamesError(f"The class-names file '{filename}' has {lines} lines; "
                                  f"up to {CLASS_NAMES_LINES} are read (one name per line).")
        names = [line.strip() for line in text.splitlines() if line.strip()]
    if not names:
        raise ClassNamesError(f"The class-names file '{filename}' holds no names.")
    if len(names) > MAX_CLASSES:
        raise ClassNamesError(f"The class-names file '{filename}' holds {len(names)} names; "
                              f"models of up to {MAX_CLASSES} classes are accepted.")
    for number, name in enumerate(names):
        _check_name(name, number, filename)
    return tuple(names)


def check_names(names: list[str] | tuple[str, ...], source: str) -> tuple[str, ...]:
    """Names a model file carries (transformers' id2label, timm's label_names), checked as a class-names file's are:
    at most MAX_CLASSES, each text of at most CLASS_NAME_CHARS characters without control characters."""
    if len(names) > MAX_CLASSES:
        raise ClassNamesError(f"'{source}' holds {len(names)} names; models of up to {MAX_CLASSES} classes are accepted.")
    for number, name in enumerate(names):
        if not isinstance(name, str):
            raise ClassNamesError(f"Name {number} of '{source}' is a {type(name).__name__}, not text.")
        _check_name(name.strip(), number, source)
    return tuple(name.strip() for name in names)


def _json_names(text: str, filename: str) -> list[str]:
    """A JSON list of names, or an {index: name} mapping with indices 0, 1, 2, ... in any order."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ClassNamesError(f"The class-names file '{filename}' is not valid JSON: {exc.msg} (line {exc.lineno}).") from exc
    except RecursionError as exc:
        raise ClassNamesError(f"The class-names file '{filename}' is nested too deeply: "
                              "it must hold a list of names or an index-to-name mapping.") from exc
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        raise ClassNamesError(f"The class-names file '{filename}' is not usable JSON: {str(exc)[:120]}.") from exc
    if isinstance(value, dict):
        items = []
        for key, name in value.items():
            digits = key.strip()
            if not (digits.isascii() and digits.isdigit() and len(digits) <= len(str(MAX_CLASSES))):
                raise ClassNamesError(f"The keys of '{filename}' must be class indices 0, 1, 2, ...; "
                                      f"'{_shorten(key)}' is not.")
            items.append((int(digits), name))
        items.sort(key=lambda item: item[0])
        if [k for k, _ in items] != list(range(len(items))):
            raise ClassNamesError(f"The indices in '{filename}' must run 0, 1, 2, ... without gaps.")
        names = [name for _, name in items]
    elif isinstance(value, list):
        names = value
    else:
        raise ClassNamesError(f"'{filename}' must hold a list of names or an index-to-name mapping, "
                              f"not a JSON {type(value).__name__}.")
    for number, name in enumerate(names):
        if not isinstance(name, str):
            raise ClassNamesError(f"Name {number} of '{filename}' is a JSON {type(name).__name__}, not text.")
    return [name.strip() for name in names]


def _check_name(name: str, number: int, filename: str) -> None:
    """One name: not empty, at most CLASS_NAME_CHARS characters, no control characters."""
    if not name:
        raise ClassNamesError(f"Name {number} of '{filename}' is empty.")
    if len(name) > CLASS_NAME_CHARS:
        raise ClassNamesError(f"Name {number} of '{filename}' has {len(name)} characters; up to {CLASS_NAME_CHARS} are accepted.")
    bad = next((c for c in name if unicodedata.category(c) == "Cc"), None)
    if bad is not None:
        raise ClassNamesError(f"Name {number} of '{filename}' holds the control character U+{ord(bad):04X}.")


def _shorten(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def fit_class_names(names: tuple[str, ...] | None, num_classes: int) -> tuple[str, ...]:
    """Check a user's names against the model's number of outputs."""
    if names is None:
        return default_classes(num_classes)
    if len(names) != num_classes:
        raise ClassNamesError(f"The class-names file has {len(names)} names but the model has {num_classes} outputs.")
    return names
