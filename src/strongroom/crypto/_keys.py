"""Key handles: key material behind an object that does not print, pickle or leak."""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from strongroom.crypto.hazmat import aead_for


class DataKey:
    """A data-encryption key (AES-256-GCM) and its public 16-byte id.

    The raw key is not kept as an attribute; only the AEAD instance built from it.
    """

    __slots__ = ("_aead", "key_id")

    def __init__(self, key_id: bytes, material: bytes) -> None:
        if len(key_id) != 16:
            raise ValueError("a data key id is 16 bytes")
        self.key_id = key_id
        self._aead: AESGCM = aead_for(material)

    def __repr__(self) -> str:
        return f"DataKey(key_id={self.key_id.hex()}, material=<redacted>)"

    def __reduce__(self) -> Any:
        raise TypeError("key handles cannot be pickled")


def aead_of(key: DataKey) -> AESGCM:
    """The AEAD behind a handle (for the sealing code in this package only)."""
    return key._aead
