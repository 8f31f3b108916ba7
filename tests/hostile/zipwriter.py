"""Zip archives written byte by byte, so that a case can lie: declared sizes, names, modes, a broken directory.

Python's zipfile refuses to write most of what an attacker would send (a member named '../x', a symlink
mode, a size that does not match its data), and compressing gigabytes of zeros with it takes seconds; here
a member is its raw (already compressed) bytes plus the header fields to claim about them.
"""
from __future__ import annotations

import stat
import struct
import zlib
from dataclasses import dataclass
from functools import lru_cache

STORED, DEFLATED = 0, 8
UNIX = 3  # "made by" system whose external attributes carry a Unix mode


@dataclass(frozen=True)
class Member:
    """One entry: its name, raw bytes as stored, and what the headers claim about them."""

    name: str
    raw: bytes
    crc: int
    size: int  # the uncompressed size the headers declare
    method: int = STORED
    mode: int = stat.S_IFREG | 0o644
    flags: int = 0  # bit 0: encrypted


def stored(name: str, data: bytes, mode: int = stat.S_IFREG | 0o644) -> Member:
    """A member kept as is (the usual way to put already compressed images in a zip)."""
    return Member(name, data, zlib.crc32(data), len(data), STORED, mode)


def deflated(name: str, data: bytes) -> Member:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return Member(name, compressor.compress(data) + compressor.flush(), zlib.crc32(data), len(data), DEFLATED)


@lru_cache(maxsize=8)
def _zeros_stream(size: int) -> tuple[bytes, int]:
    """Deflate `size` zero bytes chunk by chunk (never holding them all): raw stream and CRC."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk, crc, parts, left = bytes(1 << 20), 0, [], size
    while left:
        piece = chunk[:min(left, len(chunk))]
        parts.append(compressor.compress(piece))
        crc = zlib.crc32(piece, crc)
        left -= len(piece)
    parts.append(compressor.flush())
    return b"".join(parts), crc


def zeros(name: str, size: int) -> Member:
    """A member that inflates to `size` zero bytes from about size / 1000 bytes of archive."""
    raw, crc = _zeros_stream(size)
    return Member(name, raw, crc, size, DEFLATED)


def build_zip(members: list[Member], comment: bytes = b"") -> bytes:
    """The archive: local headers and data, then the central directory and its end record."""
    out, central = bytearray(), bytearray()
    for m in members:
        name = m.name.encode("utf-8", "surrogateescape")
        flags = m.flags | 0x800  # names are UTF-8
        offset = len(out)
        out += struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, flags, m.method, 0, 0x21, m.crc, len(m.raw), m.size,
                           len(name), 0) + name + m.raw
        central += struct.pack("<4sBBHHHHHIIIHHHHHII", b"PK\x01\x02", 20, UNIX, 20, flags, m.method, 0, 0x21, m.crc,
                               len(m.raw), m.size, len(name), 0, 0, 0, 0, (m.mode & 0xFFFF) << 16, offset) + name
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(members), len(members), len(central), len(out), len(comment))
    return bytes(out + central + end + comment)
