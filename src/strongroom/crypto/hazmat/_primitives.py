"""Thin, typed wrappers over pyca ``cryptography``. See the package docstring's warning."""

from __future__ import annotations

import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

AEAD_KEY_BYTES = 32
AEAD_NONCE_BYTES = 12
AEAD_TAG_BYTES = 16


def random_bytes(n: int) -> bytes:
    """``n`` bytes from the operating system's CSPRNG."""
    return os.urandom(n)


def aead_for(key: bytes) -> AESGCM:
    """An AES-256-GCM instance for ``key`` (exactly 32 bytes)."""
    if len(key) != AEAD_KEY_BYTES:
        raise ValueError("AES-256-GCM needs a 32-byte key")
    return AESGCM(key)


def aead_encrypt(aead: AESGCM, nonce: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """Ciphertext with the 16-byte tag appended. The nonce must never repeat under a key."""
    return aead.encrypt(nonce, plaintext, aad)


def aead_decrypt(aead: AESGCM, nonce: bytes, ciphertext: bytes, aad: bytes) -> bytes | None:
    """The plaintext, or ``None`` when the tag does not verify (callers raise their own error)."""
    try:
        return aead.decrypt(nonce, ciphertext, aad)
    except InvalidTag:
        return None


def hkdf_sha256(ikm: bytes, info: bytes, length: int = 32, salt: bytes | None = None) -> bytes:
    """RFC 5869 HKDF with SHA-256."""
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


def hmac_sha256(key: bytes, message: bytes) -> bytes:
    """RFC 2104 HMAC-SHA256 (OpenSSL one-shot through the standard library)."""
    return hmac.digest(key, message, "sha256")
