"""Where a labelled set's files come from: a zip in memory, a local folder, or bytes in memory.

Each tree lists relative '/'-separated paths with an identity (for the set's fingerprint) and opens a
reader that returns one file's bytes at a time, so that images are decoded batch by batch. Every reader
counts the pixels its images declare and stops the set at SET_PIXELS; `peek` reads a file's first bytes,
enough for most image headers. A folder is walked without following symbolic links, and only regular
files are listed and read (a FIFO would block, a device would be read without end).
"""
from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ImageError, ImageSetError
from ..files import printable
from ..images import declared_size
from ..limits import FOLDER_DEPTH, FOLDER_DIRECTORIES, SET_BYTES, SET_MEMBER_BYTES, SET_PIXELS
from .safezip import DEFAULT_LIMITS, ZipLimits, open_archive, read_member, scan_zip

Reader = Callable[[str], bytes]

PEEK_BYTES = 64 * 2**10  # an image header (PNG, GIF, BMP, most JPEGs and TIFFs) lies in the first 64 KB


class PixelBudget:
    """The pixels a set's images declare, summed as they are counted; refuses the set above SET_PIXELS."""

    def __init__(self, name: str, limit: int = SET_PIXELS):
        self.name, self.limit, self.pixels, self.seen = name, limit, 0, set[str]()

    def count(self, path: str, data: bytes) -> None:
        if path in self.seen:
            return
        size = declared_size(data)
        if size is None:
            return  # not an image header (or not within these bytes): the decoder judges the file itself
        self.seen.add(path)
        self.pixels += size[0] * size[1]
        if self.pixels > self.limit:
            raise ImageSetError(f"'{printable(self.name)}' holds more than {self.limit / 1e6:,.0f} megapixels of images "
                             f"('{printable(path)}' is {size[0]}x{size[1]}); sets of up to that many are accepted "
                             "(limit SET_PIXELS). Use fewer or smaller images.")


@dataclass
class FileTree:
    """Files by relative path (path -> identity), files refused on the way (reason -> names).

    `name` is what the user gave (for messages); `identity` names the tree in fingerprints (a folder's
    resolved path, a zip's sha256)."""

    name: str
    files: dict[str, str]
    skipped: dict[str, list[str]] = field(default_factory=dict)
    identity: str = ""

    @contextmanager
    def reader(self) -> Iterator[Reader]:
        """A reader of whole files that stops the set once its images declare more than SET_PIXELS."""
        budget = PixelBudget(self.name)
        with self._raw_reader() as raw:
            def read(path: str) -> bytes:
                data = raw(path)
                budget.count(path, data)
                return data

            yield read

    def peek(self, paths: list[str]) -> Iterator[tuple[str, bytes]]:
        """The first PEEK_BYTES of each file (its header), without inflating or reading the rest; b"" for a
        file that cannot be read (reading it whole later gives the reason)."""
        with self._raw_reader(PEEK_BYTES) as raw:
            for path in paths:
                try:
                    yield path, raw(path)
                except ImageError:
                    yield path, b""

    def check_pixels(self, paths: list[str]) -> None:
        """Refuse the set before decoding anything when the headers already declare more than SET_PIXELS."""
        budget = PixelBudget(self.name)
        for path, head in self.peek(paths):
            budget.count(path, head)

    @contextmanager
    def _raw_reader(self, limit: int | None = None) -> Iterator[Reader]:
        raise NotImplementedError
        yield  # pragma: no cover


class ZipTree(FileTree):
    def __init__(self, data: bytes, name: str = "archive.zip", limits: ZipLimits = DEFAULT_LIMITS):
        self.data, self.limits = data, limits
        members, skipped = scan_zip(open_archive(data, name), name, limits)
        self.members = {m.path: m for m in members}
        digest = hashlib.sha256(data).hexdigest()
        super().__init__(name, {m.path: f"{m.info.CRC:08x}:{m.info.file_size}" for m in members}, skipped,
                         identity=f"zip:{digest}")

    @contextmanager
    def _raw_reader(self, limit: int | None = None) -> Iterator[Reader]:
        with open_archive(self.data, self.name) as archive:
            yield lambda path: read_member(archive, self.members[path], self.limits, limit)


def read_regular(path: Path, shown: str, limit: int = SET_MEMBER_BYTES, whole: bool = True) -> bytes:
    """A regular file's bytes (its first `limit` when not `whole`); a FIFO, device, socket or symbolic link is
    refused unread, and a file that grows past `limit` while being read is refused."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    except OSError as exc:
        raise ImageSetError(f"Cannot read '{printable(shown)}': {exc.strerror or exc}.") from exc
    chunks: list[bytes] = []
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ImageSetError(f"'{printable(shown)}' is not a regular file (a device, pipe or socket) and was not read.")
        left = limit + 1 if whole else limit
        while left > 0:
            chunk = os.read(fd, min(left, 2**20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    except OSError as exc:
        raise ImageSetError(f"Cannot read '{printable(shown)}': {exc.strerror or exc}.") from exc
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > limit:
        raise ImageSetError(f"'{printable(shown)}' grew beyond {limit // 2**20} MB while being read and was refused.")
    return data


def walk(root: Path, skipped: dict[str, list[str]]) -> Iterator[tuple[Path, list[str]]]:
    """(folder, its non-folder entries' names) for `root` and every folder below it, depth first in name order, as
    os.walk lists them top-down, without following symbolic links. The walk keeps its own stack: os.walk recurses
    once per level (Python 3.11) and a tree 1 100 folders deep raised RecursionError. Folders more than FOLDER_DEPTH
    levels below `root` are not entered (listed in `skipped`), nor unreadable ones."""
    stack = [(root, 0)]
    while stack:
        folder, depth = stack.pop()
        try:
            with os.scandir(folder) as entries:
                listed = [_kind(entry) for entry in entries]
        except OSError as error:
            skipped.setdefault("unreadable folder", []).append(str(error.filename))
            continue
        yield folder, sorted(name for name, is_folder, _ in listed if not is_folder)
        below = sorted(name for name, is_folder, link in listed if is_folder and not link)
        if below and depth >= FOLDER_DEPTH:
            skipped.setdefault(f"folder more than {FOLDER_DEPTH} levels deep", []).extend(
                (folder / name).relative_to(root).as_posix() for name in below)
            continue
        stack.extend((folder / name, depth + 1) for name in reversed(below))


def _kind(entry: os.DirEntry) -> tuple[str, bool, bool]:
    """(name, a folder or a link to one, a symbolic link), as os.walk sorts entries: links to folders are neither
    entered nor listed; an entry that cannot be examined is listed as a file (reading it gives the reason)."""
    try:
        return entry.name, entry.is_dir(), entry.is_symlink()
    except OSError:
        return entry.name, False, False


class FolderTree(FileTree):
    """A local folder, walked without following symbolic links (they are skipped and counted); only regular
    files are listed. The walk stops at SET_MEMBERS entries and FOLDER_DIRECTORIES folders, and does not enter
    folders deeper than FOLDER_DEPTH."""

    def __init__(self, root: str | Path, max_files: int = DEFAULT_LIMITS.max_members):
        given = Path(root).expanduser()
        try:
            mode = os.stat(given).st_mode
        except OSError:
            raise ImageSetError(f"The folder '{printable(root)}' does not exist.") from None
        if not stat.S_ISDIR(mode):
            raise ImageSetError(f"'{printable(root)}' is not a folder.")
        self.root = given.resolve()
        files: dict[str, str] = {}
        skipped: dict[str, list[str]] = {}
        entries, folders, total = 0, 0, 0

        for folder, names in walk(self.root, skipped):  # never follows links
            folders += 1
            if folders > FOLDER_DIRECTORIES:
                raise ImageSetError(f"'{printable(root)}' holds more than {FOLDER_DIRECTORIES} folders; choose a smaller folder "
                                 "(limit FOLDER_DIRECTORIES).")
            for name in names:
                entries += 1
                if entries > max_files:
                    raise ImageSetError(f"'{printable(root)}' holds more than {max_files} files; choose a smaller folder "
                                     "(limit SET_MEMBERS).")
                path = Path(folder) / name
                relative = path.relative_to(self.root).as_posix()
                try:
                    info = os.lstat(path)
                except OSError:
                    skipped.setdefault("unreadable", []).append(relative)
                    continue
                if stat.S_ISLNK(info.st_mode):
                    skipped.setdefault("symbolic link", []).append(relative)
                elif not stat.S_ISREG(info.st_mode):
                    skipped.setdefault("not a regular file", []).append(relative)
                elif info.st_size > SET_MEMBER_BYTES:
                    skipped.setdefault("too large", []).append(relative)
                else:
                    files[relative] = f"{info.st_size}:{info.st_mtime_ns}"
                    total += info.st_size
                    if total > SET_BYTES:
                        raise ImageSetError(f"'{printable(root)}' holds more than {SET_BYTES // 2**20} MB of files; choose a "
                                         "smaller folder (limit SET_BYTES).")
        super().__init__(str(self.root), files, skipped, identity=f"folder:{self.root}")

    @contextmanager
    def _raw_reader(self, limit: int | None = None) -> Iterator[Reader]:
        if limit is None:
            yield lambda path: read_regular(self.root / path, path)
        else:
            yield lambda path: read_regular(self.root / path, path, limit, whole=False)


class MemoryTree(FileTree):
    """Files already in memory (the demo set)."""

    def __init__(self, name: str, contents: dict[str, bytes]):
        self.contents = contents
        files = {p: hashlib.sha256(d).hexdigest() for p, d in contents.items()}
        super().__init__(name, files, identity=f"memory:{name}")

    @contextmanager
    def _raw_reader(self, limit: int | None = None) -> Iterator[Reader]:
        yield lambda path: self.contents[path] if limit is None else self.contents[path][:limit]
