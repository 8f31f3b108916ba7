"""Small builders and checks shared by the corpus modules."""
from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from pathlib import Path

from .cases import Built


def write(name: str, data: Callable[[], bytes]) -> Callable[[Path], Built]:
    """A build step: the bytes `data()` written as `folder/name`; built = path, name, data."""

    def build(folder: Path) -> Built:
        content = data()
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        return {"path": str(path), "name": Path(name).name, "data": content, "folder": str(folder)}

    return build


def special(name: str, make: Callable[[Path], None]) -> Callable[[Path], Built]:
    """A build step for things that are not plain files: `make(path)` creates them (folder, FIFO, link)."""

    def build(folder: Path) -> Built:
        path = folder / name
        make(path)
        return {"path": str(path), "name": Path(name).name, "folder": str(folder)}

    return build


def fifo(path: Path) -> None:
    os.mkfifo(path)


def link_to(target: str) -> Callable[[Path], None]:
    return lambda path: path.symlink_to(target)


def sparse(size: int) -> Callable[[Path], None]:
    """A file that claims `size` bytes of zeros but takes no disk (a hole)."""

    def make(path: Path) -> None:
        with open(path, "wb") as f:
            f.truncate(size)

    return make


def folder_of(files: dict[str, bytes]) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        for rel, content in files.items():
            (path / rel).parent.mkdir(parents=True, exist_ok=True)
            (path / rel).write_bytes(content)

    return make


def no_nan_json(text: str):
    """json.loads that refuses NaN and Infinity (which are not JSON)."""

    def refuse(token: str):
        raise AssertionError(f"stdout is not JSON: it holds {token}")

    return json.loads(text, parse_constant=refuse)


def finite(value: float) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def check_predicted(stdout: str, stderr: str, built: Built, rows: int = 5) -> None:
    """`predict --json` printed one image with `rows` finite probabilities in [0, 1], best first."""
    results = no_nan_json(stdout)
    assert isinstance(results, list) and len(results) == 1, f"expected one image in the JSON, got {stdout[:200]!r}"
    top = results[0]["top"]
    assert len(top) == rows, f"expected {rows} classes, got {len(top)}"
    probs = [row["prob"] for row in top]
    assert all(finite(p) and 0 <= p <= 1 for p in probs), f"probabilities not in [0, 1]: {probs}"
    assert probs == sorted(probs, reverse=True), f"probabilities not sorted: {probs}"
