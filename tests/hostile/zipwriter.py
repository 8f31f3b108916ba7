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


ZERO_BLOCK = 1 << 26  # 64 MB of zeros, deflated once and repeated for larger members


def _gf2_times(matrix: list[int], vector: int) -> int:
    total, i = 0, 0
    while vector:
        if vector & 1:
            total ^= matrix[i]
        vector >>= 1
        i += 1
    return total


def _gf2_square(matrix: list[int]) -> list[int]:
    return [_gf2_times(matrix, matrix[n]) for n in range(32)]


def crc32_combine(crc1: int, crc2: int, len2: int) -> int:
    """zlib's crc32_combine: the CRC of A + B from crc(A), crc(B) and len(B), without reading either."""
    if len2 <= 0:
        return crc1
    odd = [0xEDB88320] + [1 << n for n in range(31)]  # the operator for one zero bit
    even = _gf2_square(odd)  # two zero bits
    odd = _gf2_square(even)  # four zero bits
    while True:
        even = _gf2_square(odd)
        if len2 & 1:
            crc1 = _gf2_times(even, crc1)
        len2 >>= 1
        if not len2:
            break
        odd = _gf2_square(even)
        if len2 & 1:
            crc1 = _gf2_times(odd, crc1)
        len2 >>= 1
        if not len2:
            break
    return crc1 ^ crc2


@lru_cache(maxsize=1)
def _zero_block() -> tuple[bytes, int]:
    """ZERO_BLOCK zeros deflated and fully flushed (byte-aligned, no back references): a repeatable piece."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    zeros_mb, crc, parts = bytes(1 << 20), 0, []
    for _ in range(ZERO_BLOCK >> 20):
        parts.append(compressor.compress(zeros_mb))
        crc = zlib.crc32(zeros_mb, crc)
    parts.append(compressor.flush(zlib.Z_FULL_FLUSH))
    return b"".join(parts), crc


@lru_cache(maxsize=8)
def _zeros_stream(size: int) -> tuple[bytes, int]:
    """A raw deflate stream of `size` zero bytes and its CRC, built without holding or compressing them all."""
    whole, rest = divmod(size, ZERO_BLOCK)
    block, block_crc = _zero_block() if whole else (b"", 0)
    crc = 0
    for _ in range(whole):
        crc = crc32_combine(crc, block_crc, ZERO_BLOCK)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    tail, zeros_mb, left = [], bytes(1 << 20), rest
    while left:
        piece = zeros_mb[:min(left, len(zeros_mb))]
        tail.append(compressor.compress(piece))
        crc = zlib.crc32(piece, crc)
        left -= len(piece)
    tail.append(compressor.flush())  # the final block
    return block * whole + b"".join(tail), crc


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
