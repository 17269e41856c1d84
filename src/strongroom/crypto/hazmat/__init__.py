"""Cryptographic primitives: AES-256-GCM, HKDF and HMAC glue over pyca ``cryptography``.

.. warning::

   This is a "hazardous materials" module. Everything here is easy to misuse: nonces,
   associated data and key separation are the caller's job. Use the safe top instead —
   :class:`strongroom.crypto.Keyring`, :func:`strongroom.crypto.seal_record` /
   :func:`strongroom.crypto.open_record` and :class:`strongroom.crypto.BlindIndexer` — unless you
   are writing one of those.
"""

from strongroom.crypto.hazmat._primitives import (
    AEAD_KEY_BYTES,
    AEAD_NONCE_BYTES,
    AEAD_TAG_BYTES,
    aead_decrypt,
    aead_encrypt,
    aead_for,
    hkdf_sha256,
    hmac_sha256,
    random_bytes,
)

__all__ = [
    "AEAD_KEY_BYTES",
    "AEAD_NONCE_BYTES",
    "AEAD_TAG_BYTES",
    "aead_decrypt",
    "aead_encrypt",
    "aead_for",
    "hkdf_sha256",
    "hmac_sha256",
    "random_bytes",
]
