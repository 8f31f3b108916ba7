"""Reading an untrusted zip in memory: nothing is extracted to disk, every size is bounded.

Python's zipfile already stops at a member's declared size and checks its CRC; on top of that we
refuse archives that declare too many members or bytes, skip members whose names could escape a folder
(../, absolute paths, drive letters), symlinks, encrypted members and members compressed beyond
ZIP_COMPRESSION_RATIO, and count the bytes really read (never more than declared). Bounds: interpret.limits.
"""
from __future__ import annotations

import io
import stat
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import PurePosixPath

from ..errors import ImageSetError
from ..files import printable
from ..limits import SET_BYTES, SET_MEMBER_BYTES, SET_MEMBERS, ZIP_COMPRESSION_RATIO, ZIP_RATIO_MIN_BYTES

CHUNK = 1 << 20


@dataclass(frozen=True)
class ZipLimits:
    """Bounds for one archive: member count, bytes per member, declared bytes in all, compression ratio."""

    max_members: int = SET_MEMBERS
    max_file_bytes: int = SET_MEMBER_BYTES
    max_total_bytes: int = SET_BYTES
    max_ratio: int = ZIP_COMPRESSION_RATIO  # inflated / compressed, for members above ratio_min_bytes
    ratio_min_bytes: int = ZIP_RATIO_MIN_BYTES


DEFAULT_LIMITS = ZipLimits()


@dataclass(frozen=True)
class ZipMember:
    path: str  # normalised, relative, '/'-separated
    info: zipfile.ZipInfo


def safe_member_path(name: str) -> str | None:
    """The member's relative path, or None where it could land outside the folder it is read into."""
    name = name.replace("\\", "/")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return None
    parts = [p for p in PurePosixPath(name).parts if p not in ("", ".")]
    if not parts or ".." in parts:
        return None
    return "/".join(parts)


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    return info.create_system == 3 and stat.S_ISLNK(info.external_attr >> 16)


def open_archive(data: bytes, name: str = "archive.zip") -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, struct.error) as exc:
        raise ImageSetError(f"'{printable(name)}' is not a readable zip file ({str(exc)[:120]}).") from exc


def scan_zip(archive: zipfile.ZipFile, name: str, limits: ZipLimits) -> tuple[list[ZipMember], dict[str, list[str]]]:
    """The members that may be read, and the skipped ones by reason; refuse archives over the limits."""
    infos = [i for i in archive.infolist() if not i.is_dir()]
    if len(infos) > limits.max_members:
        raise ImageSetError(f"'{printable(name)}' holds {len(infos)} files; archives of up to {limits.max_members} files "
                         "are accepted (limit SET_MEMBERS).")
    assert archive.fp is not None
    size = archive.fp.seek(0, io.SEEK_END)  # zipfile seeks before each read
    for info in infos:  # zipfile shifts offsets by where it found the directory: a lying end record shows here
        if not 0 <= info.header_offset <= size - 30 or info.compress_size > size:
            raise ImageSetError(f"'{printable(name)}' has a damaged central directory (member "
                             f"'{printable(info.filename)}' lies outside the file).")
    declared = sum(i.file_size for i in infos)
    if declared > limits.max_total_bytes:
        raise ImageSetError(f"'{printable(name)}' unpacks to {declared / 2**20:.0f} MB; archives up to "
                         f"{limits.max_total_bytes / 2**20:.0f} MB unpacked are accepted (a zip bomb? limit SET_BYTES).")
    members: list[ZipMember] = []
    skipped: dict[str, list[str]] = {}
    for info in infos:
        path = safe_member_path(info.filename)
        if path is None or _is_symlink(info):
            reason = "unsafe path" if path is None else "symbolic link"
        elif info.flag_bits & 0x1:
            reason = "encrypted"
        elif info.file_size > limits.max_file_bytes:
            reason = "too large"
        elif info.file_size > limits.ratio_min_bytes and info.file_size > limits.max_ratio * max(info.compress_size, 1):
            reason = f"compressed over {limits.max_ratio}:1"
        else:
            members.append(ZipMember(path, info))
            continue
        skipped.setdefault(reason, []).append(info.filename)
    return members, skipped


def read_member(archive: zipfile.ZipFile, member: ZipMember, limits: ZipLimits, prefix: int | None = None) -> bytes:
    """A member's bytes, counted while reading: never more than its declared size or the per-file limit
    (inflating beyond them refuses the member). With `prefix`, only its first `prefix` bytes (a header)."""
    cap = min(member.info.file_size, limits.max_file_bytes)
    buffer = bytearray()
    try:
        with archive.open(member.info) as stream:
            if prefix is not None:
                return stream.read(min(prefix, cap))
            while True:
                chunk = stream.read(min(CHUNK, cap + 1 - len(buffer)))
                if not chunk:
                    break
                buffer += chunk
                if len(buffer) > cap:
                    raise ImageSetError(f"'{printable(member.path)}' unpacks to more than its declared {cap} bytes "
                                        "and was refused.")
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError, RuntimeError, zlib.error,
            MemoryError) as exc:
        raise ImageSetError(f"'{printable(member.path)}' is damaged inside the archive ({str(exc)[:120]}).") from exc
    return bytes(buffer)
