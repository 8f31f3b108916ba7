"""Where a labelled set's files come from: a zip in memory, a local folder, or bytes in memory.

Each tree lists relative '/'-separated paths with a cheap identity (for the set's fingerprint) and
opens a reader that returns one file's bytes at a time, so that images are decoded batch by batch.
"""
from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ImageError
from ..images import MAX_BYTES
from .safezip import DEFAULT_LIMITS, ZipLimits, open_archive, read_member, scan_zip

Reader = Callable[[str], bytes]


@dataclass
class FileTree:
    """Files by relative path (path -> identity), files refused on the way (reason -> names)."""

    name: str
    files: dict[str, str]
    skipped: dict[str, list[str]] = field(default_factory=dict)

    @contextmanager
    def reader(self) -> Iterator[Reader]:
        raise NotImplementedError
        yield  # pragma: no cover


class ZipTree(FileTree):
    def __init__(self, data: bytes, name: str = "archive.zip", limits: ZipLimits = DEFAULT_LIMITS):
        self.data, self.limits = data, limits
        members, skipped = scan_zip(open_archive(data, name), name, limits)
        self.members = {m.path: m for m in members}
        digest = hashlib.sha256(data).hexdigest()[:16]
        super().__init__(name, {m.path: f"{digest}:{m.info.CRC:08x}:{m.info.file_size}" for m in members}, skipped)

    @contextmanager
    def reader(self) -> Iterator[Reader]:
        with open_archive(self.data, self.name) as archive:
            yield lambda path: read_member(archive, self.members[path], self.limits)


class FolderTree(FileTree):
    """A local folder, walked without following symbolic links (they are skipped and counted)."""

    def __init__(self, root: str | Path, max_files: int = DEFAULT_LIMITS.max_members):
        self.root = Path(root).expanduser()
        if not self.root.is_dir():
            raise ImageError(f"The folder '{root}' does not exist.")
        files: dict[str, str] = {}
        skipped: dict[str, list[str]] = {}
        for folder, dirs, names in os.walk(self.root):
            dirs[:] = sorted(d for d in dirs if not (Path(folder) / d).is_symlink())
            for name in sorted(names):
                path = Path(folder) / name
                relative = path.relative_to(self.root).as_posix()
                if path.is_symlink():
                    skipped.setdefault("symbolic link", []).append(relative)
                    continue
                info = path.stat()
                if info.st_size > MAX_BYTES:
                    skipped.setdefault("too large", []).append(relative)
                    continue
                files[relative] = f"{info.st_size}:{info.st_mtime_ns}"
                if len(files) > max_files:
                    raise ImageError(f"'{root}' holds more than {max_files} files; choose a smaller folder.")
        super().__init__(str(self.root), files, skipped)

    @contextmanager
    def reader(self) -> Iterator[Reader]:
        def read(path: str) -> bytes:
            try:
                return (self.root / path).read_bytes()
            except OSError as exc:
                raise ImageError(f"Cannot read '{path}': {exc.strerror or exc}.") from exc

        yield read


class MemoryTree(FileTree):
    """Files already in memory (the demo set)."""

    def __init__(self, name: str, contents: dict[str, bytes]):
        self.contents = contents
        super().__init__(name, {p: hashlib.sha256(d).hexdigest()[:16] for p, d in contents.items()})

    @contextmanager
    def reader(self) -> Iterator[Reader]:
        yield self.contents.__getitem__
