"""Reading a file a user named: regular files only, up to a stated size, every failure one clear message.

A FIFO would block the reader forever and a device would be read without end, so only regular files are
read (the check is made on the opened descriptor, and the open itself does not wait for a FIFO's writer).
At most `limit` bytes (+1, to see that there are more) are ever read. `printable` is how every message
shows a user's file name: one line, control characters and undecodable bytes escaped.
"""
from __future__ import annotations

import os
import stat
import unicodedata

from .errors import InterpretError


def printable(name: object) -> str:
    """A name (text or path) as one printable line for a message: control characters (a newline, a
    terminal's ESC) and undecodable bytes of a file name escaped."""
    return "".join(c if unicodedata.category(c) not in ("Cc", "Cs") else repr(c)[1:-1] for c in str(name))


def read_regular_file(path: str | os.PathLike[str], limit: int, limit_name: str, error: type[InterpretError],
                      noun: str = "a file") -> bytes:
    """The bytes of the regular file `path`, at most `limit` of them (`limit_name` in interpret/limits.py).

    A missing file, a folder, a pipe, a device, a NUL in the name, an unreadable or larger file each raise
    `error` with one line naming the file; `noun` says what the file should have been ("an image file").
    """
    shown = printable(os.fsdecode(path))
    try:
        # O_NONBLOCK: opening a FIFO does not wait for a writer (it has no effect on a regular file's reads)
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except ValueError:  # a NUL in the name
        raise error("A file name cannot contain a NUL character.") from None
    except FileNotFoundError:
        raise error(f"'{shown}' does not exist.") from None
    except OSError as exc:
        raise error(f"Cannot read '{shown}': {exc.strerror or exc}.") from exc
    try:
        info = os.fstat(descriptor)  # before fdopen, which refuses a folder with its own error
        mode = info.st_mode
    except OSError as exc:
        os.close(descriptor)
        raise error(f"Cannot read '{shown}': {exc.strerror or exc}.") from exc
    if not stat.S_ISREG(mode):
        os.close(descriptor)
        raise error(f"'{shown}' is a folder, not {noun}." if stat.S_ISDIR(mode) else
                    f"'{shown}' is not a regular file (a device, pipe or socket): only regular files are read.")
    too_large = error(f"'{shown}' is larger than {limit // 2**20} MB; up to {limit // 2**20} MB is accepted "
                      f"(interpret/limits.py, {limit_name}).")
    if info.st_size > limit:  # refused unread
        os.close(descriptor)
        raise too_large
    try:
        with os.fdopen(descriptor, "rb") as file:
            data = file.read(limit + 1)  # + 1: a file that grew while being read is seen
    except OSError as exc:
        raise error(f"Cannot read '{shown}': {exc.strerror or exc}.") from exc
    if len(data) > limit:
        raise too_large
    return data
