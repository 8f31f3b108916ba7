"""Writing the CLI's output files (--out, --npy, --csv, --vis-out) and JSON safely.

An output path is checked before the work starts (`output_path`: the folder exists and is writable, the
name is text, the target is not a folder or a device), and written by `write_file`: into a temporary file
in the same folder, then renamed over the target, so a failed write leaves nothing half-written. Every
failure is one `OutputError` line naming the flag and the file.

JSON goes out with `allow_nan=False`: non-finite floats are written as null, and one note on stderr says
which keys held them, so `--json` output is always valid JSON.
"""
from __future__ import annotations

import errno
import io
import json
import math
import os
import secrets
import stat
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

from ..errors import OutputError


def shown(path: str | os.PathLike[str]) -> str:
    """A path as it can be printed: bytes that are not UTF-8 (surrogate escapes) shown as \\x.. escapes."""
    return os.fsdecode(path).encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


@dataclass(frozen=True)
class OutputPath:
    """A checked output file: the flag it came from, the path as given, and the resolved file to replace."""

    flag: str
    given: str
    target: str

    def __str__(self) -> str:
        return self.given


def output_path(text: str, flag: str, suffix: str | None = None) -> OutputPath:
    """Check an output file before any work: a text name, an existing writable folder, not a folder or device.

    A name without `suffix` (e.g. ".npy") is refused: the file is written under exactly the name given (np.save
    would append the suffix, and a script looking for the name it gave would not find the file).
    """
    if not text:
        raise OutputError(f"{flag} needs a file name.")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise OutputError(f"{flag} '{shown(text)}': the file name is not valid UTF-8 text; choose another name.") from exc
    if os.path.isdir(text) or text.endswith(os.sep):
        raise OutputError(f"{flag} '{text}' names a folder; give a file name inside it.")
    target = os.path.realpath(text)  # a symbolic link is written through: its target file is replaced
    where = f"{flag} '{text}'"
    if os.path.isdir(target):
        raise OutputError(f"{where} names a folder; give a file name inside it.")
    folder = os.path.dirname(target)
    if not os.path.isdir(folder):
        raise OutputError(f"{where}: the folder '{os.path.dirname(text) or '.'}' does not exist.")
    if os.path.lexists(target) and not stat.S_ISREG(os.stat(target).st_mode):
        raise OutputError(f"{where} exists and is not a regular file (a device, pipe or socket); give a file name.")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"{where}: the folder '{os.path.dirname(text) or '.'}' is not writable.")
    if suffix and not text.lower().endswith(suffix):
        raise OutputError(f"{where} must end in {suffix}: the file is written under exactly the name given; add "
                          f"{suffix} to it.")
    return OutputPath(flag, text, target)


def write_file(out: OutputPath, write: Callable[[IO[bytes]], None]) -> None:
    """Write through `write(file)` into a temporary file beside the target, then rename it over the target.

    On any failure the temporary file is removed and the target is left as it was.
    """
    folder, name = os.path.split(out.target)
    temporary = os.path.join(folder, f".{name}.{secrets.token_hex(4)}.tmp")
    try:
        with open(temporary, "xb") as file:  # "x": never follows a link planted under this name
            write(file)
            file.flush()
            os.fsync(file.fileno())
        if os.path.exists(out.target):  # keep the mode of the file being replaced
            os.chmod(temporary, stat.S_IMODE(os.stat(out.target).st_mode))
        os.replace(temporary, out.target)
    except OSError as exc:
        _remove(temporary)
        reason = "the disk is full" if exc.errno == errno.ENOSPC else (exc.strerror or str(exc)).lower()
        raise OutputError(f"Cannot write {out.flag} '{out.given}': {reason}.") from exc
    except BaseException:
        _remove(temporary)
        raise


def write_bytes(out: OutputPath, data: bytes) -> None:
    """Write bytes to a checked output file, whole or not at all."""
    def write(file: IO[bytes]) -> None:
        file.write(data)

    write_file(out, write)


def write_text(out: OutputPath, text: str) -> None:
    """Write UTF-8 text to a checked output file, whole or not at all."""
    write_bytes(out, text.encode("utf-8"))


def write_npy(out: OutputPath, array: Any) -> None:
    """Write an array as .npy to a checked output file, whole or not at all."""
    import numpy as np

    write_file(out, lambda file: np.save(file, array))


def write_png(out: OutputPath, image: Any) -> None:
    """Write a PIL image or a uint8 array as PNG to a checked output file, whole or not at all."""
    from PIL import Image

    picture = image if isinstance(image, Image.Image) else Image.fromarray(image)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    write_bytes(out, buffer.getvalue())


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def finite_json(value: Any) -> tuple[Any, list[str]]:
    """`value` with every non-finite float replaced by None, and the JSON paths where that happened."""
    replaced: list[str] = []

    def clean(item: Any, where: str) -> Any:
        if isinstance(item, float) and not math.isfinite(item):
            replaced.append(where or "(top)")
            return None
        if isinstance(item, dict):
            return {key: clean(v, f"{where}.{key}" if where else str(key)) for key, v in item.items()}
        if isinstance(item, (list, tuple)):
            return [clean(v, f"{where}[{i}]") for i, v in enumerate(item)]
        return item

    return clean(value, ""), replaced


def print_json(value: Any) -> None:
    """Print `value` as JSON on stdout; non-finite floats become null, with one note on stderr naming them."""
    cleaned, replaced = finite_json(value)
    text = json.dumps(cleaned, indent=2, allow_nan=False)  # ASCII: any name, even undecodable bytes, prints
    if replaced:
        listed = ", ".join(replaced[:5]) + (f" and {len(replaced) - 5} more" if len(replaced) > 5 else "")
        sys.stderr.write(f"note: not finite, written as null: {listed}\n")
    sys.stdout.write(text + "\n")
