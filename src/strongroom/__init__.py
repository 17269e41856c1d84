"""Strongroom: a privacy vault for identity and police incident records.

Records are sealed at rest with keys that never sit in the database, found only through
keyed blind indexes, and read or written only through :class:`Vault`, with an actor and a
stated purpose on every call.
"""

from strongroom._access import Actor, Purpose
from strongroom.errors import (
    AccessError,
    ConfigError,
    ConflictError,
    FieldError,
    KeyringError,
    NotFoundError,
    OpenError,
    PassphraseError,
    StoreError,
    StrongroomError,
    ValidationError,
)
from strongroom.vault import RecordView, Vault

TYPE_CHECKING = False
if TYPE_CHECKING:
    from strongroom.client import Client


def __getattr__(name: str) -> object:
    # the SDK pulls in httpx, policy and auth: load it only when asked for
    if name == "Client":
        from strongroom.client import Client

        return Client
    raise AttributeError(f"module 'strongroom' has no attribute {name!r}")


__all__ = [
    "AccessError",
    "Actor",
    "Client",
    "ConfigError",
    "ConflictError",
    "FieldError",
    "KeyringError",
    "NotFoundError",
    "OpenError",
    "PassphraseError",
    "Purpose",
    "RecordView",
    "StoreError",
    "StrongroomError",
    "ValidationError",
    "Vault",
]
