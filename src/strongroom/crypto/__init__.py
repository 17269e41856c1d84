"""Sealing, keys and blind indexes — the safe top of Strongroom's cryptography.

Use :class:`Keyring` for keys, :func:`seal_record` / :func:`open_record` for records and
:class:`BlindIndexer` for search tokens. The primitives under :mod:`strongroom.crypto.hazmat`
are for those three only.
"""

from strongroom.crypto._blind import TOKEN_BYTES, BlindIndexer
from strongroom.crypto._keyring import Keyring
from strongroom.crypto._keys import DataKey
from strongroom.crypto._keystore import KeyStore, keys_metadata
from strongroom.crypto._sealed import (
    OVERHEAD_BYTES,
    open_record,
    record_aad,
    seal_record,
    sealed_key_id,
)

__all__ = [
    "OVERHEAD_BYTES",
    "TOKEN_BYTES",
    "BlindIndexer",
    "DataKey",
    "KeyStore",
    "Keyring",
    "keys_metadata",
    "open_record",
    "record_aad",
    "seal_record",
    "sealed_key_id",
]
