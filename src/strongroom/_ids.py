"""Record ids: UUIDv7 (RFC 9562) — time-ordered, so inserts append to the B-trees."""

from __future__ import annotations

import os
import time
import uuid


def new_record_id(*, _ms: int | None = None, _rand: bytes | None = None) -> bytes:
    """16 bytes: 48-bit Unix ms, version 7, 74 random bits, RFC 9562 variant."""
    ms = time.time_ns() // 1_000_000 if _ms is None else _ms
    r = os.urandom(10) if _rand is None else _rand
    b = bytearray(ms.to_bytes(6, "big") + r)
    b[6] = 0x70 | (b[6] & 0x0F)
    b[8] = 0x80 | (b[8] & 0x3F)
    return bytes(b)


def ref_of(record_id: bytes) -> str:
    """The printed form of a record id (a UUID string)."""
    return str(uuid.UUID(bytes=record_id))


def id_of(ref: str) -> bytes:
    """Parse a printed reference; raises ValueError if it is not one."""
    return uuid.UUID(ref.strip()).bytes
