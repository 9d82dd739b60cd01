"""Checksums OSS attaches to objects: the MD5 ETag and the CRC-64/ECMA-182 `x-oss-hash-crc64ecma`.

The CRC is the reflected ECMA-182 polynomial with all-ones initial value and final XOR (the variant
also called CRC-64/XZ), which is what `oss2.utils.Crc64` computes; oss2 compares it with the header
after every upload and download when `enable_crc` is on, so it must be exact.
"""

from __future__ import annotations

import base64
import hashlib

__all__ = ["content_md5", "crc64_ecma", "etag"]

_POLY_REFLECTED = 0xC96C5795D7870F42
_MASK = 0xFFFFFFFFFFFFFFFF


def _table() -> tuple[int, ...]:
    entries = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ _POLY_REFLECTED if crc & 1 else crc >> 1
        entries.append(crc)
    return tuple(entries)


_TABLE = _table()


def crc64_ecma(data: bytes, crc: int = 0) -> int:
    """CRC-64/ECMA of `data`, continuing from a previous result `crc` (0 to start)."""
    value = crc ^ _MASK
    table = _TABLE
    for byte in data:
        value = table[(value ^ byte) & 0xFF] ^ (value >> 8)
    return value ^ _MASK


def etag(data: bytes) -> str:
    """The ETag OSS gives a simple upload: the MD5 in upper-case hex (without the quotes)."""
    return hashlib.md5(data, usedforsecurity=False).hexdigest().upper()


def content_md5(data: bytes) -> str:
    """The base64 MD5 digest, as in a `Content-MD5` header."""
    return base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()
