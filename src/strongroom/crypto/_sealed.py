"""The sealed-record format: one AES-256-GCM call per record version.

Layout (all lengths in bytes)::

    +---------+-------------+-----------+----------------------------------+
    | version | data key id | nonce     | ciphertext ‖ GCM tag             |
    | 1: 0x01 | 16          | 12        | len(plaintext) + 16              |
    +---------+-------------+-----------+----------------------------------+

The plaintext is the canonical serialisation of all protected fields of the record (see
:mod:`strongroom.schema`). The associated data (never stored, rebuilt on open) is::

    b"strongroom/record/v1" ‖ for each of (collection, record id, region,
                                          record version, schema version):
                                  u16 big-endian length ‖ bytes

so a ciphertext copied to another row, another version, another region or another
collection fails to open. Every failure to open — short input, unknown format version,
unknown or destroyed key, bad tag — raises the one opaque :class:`~strongroom.errors.OpenError`.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Callable

from strongroom.crypto._keys import DataKey, aead_of
from strongroom.crypto.hazmat import (
    AEAD_NONCE_BYTES,
    AEAD_TAG_BYTES,
    aead_decrypt,
    aead_encrypt,
    random_bytes,
)
from strongroom.errors import OpenError, StrongroomError

FORMAT_VERSION = 1
_VERSION_BYTE = bytes([FORMAT_VERSION])
KEY_ID_BYTES = 16
HEADER_BYTES = 1 + KEY_ID_BYTES + AEAD_NONCE_BYTES
OVERHEAD_BYTES = HEADER_BYTES + AEAD_TAG_BYTES
_AAD_PREFIX = b"strongroom/record/v1"
_U16 = struct.Struct(">H")


def _part(b: bytes) -> bytes:
    return _U16.pack(len(b)) + b


@functools.lru_cache(maxsize=1024)
def _aad_head(collection: str) -> bytes:
    return _AAD_PREFIX + _part(collection.encode())


@functools.lru_cache(maxsize=4096)
def _aad_tail(region: str, record_version: int, schema_version: int) -> bytes:
    return (
        _part(region.encode())
        + _part(str(record_version).encode())
        + _part(str(schema_version).encode())
    )


def record_aad(
    collection: str, record_id: bytes, region: str, record_version: int, schema_version: int
) -> bytes:
    """The associated data that binds a sealed record to its place."""
    return (
        _aad_head(collection)
        + _U16.pack(len(record_id))
        + record_id
        + _aad_tail(region, record_version, schema_version)
    )


def seal_record(
    key: DataKey, plaintext: bytes, aad: bytes, *, _nonce: bytes | None = None
) -> bytes:
    """Seal ``plaintext`` under ``key``, bound to ``aad``. ``_nonce`` is a test seam only."""
    nonce = random_bytes(AEAD_NONCE_BYTES) if _nonce is None else _nonce
    if len(nonce) != AEAD_NONCE_BYTES:
        raise ValueError("nonce must be 12 bytes")
    return _VERSION_BYTE + key.key_id + nonce + aead_encrypt(aead_of(key), nonce, plaintext, aad)


def sealed_key_id(sealed: bytes) -> bytes:
    """The data key id a sealed record names (raises OpenError if it is not one)."""
    if len(sealed) < OVERHEAD_BYTES or sealed[0] != FORMAT_VERSION:
        raise OpenError()
    return sealed[1 : 1 + KEY_ID_BYTES]


def open_record(resolve: Callable[[bytes], DataKey], sealed: bytes, aad: bytes) -> bytes:
    """Open a sealed record; ``resolve`` maps a key id to its :class:`DataKey`."""
    key_id = sealed_key_id(sealed)
    try:
        key = resolve(key_id)
    except StrongroomError as exc:
        raise OpenError() from exc
    nonce = sealed[1 + KEY_ID_BYTES : HEADER_BYTES]
    out = aead_decrypt(aead_of(key), nonce, sealed[HEADER_BYTES:], aad)
    if out is None:
        raise OpenError()
    return out
