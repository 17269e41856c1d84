"""The one protocol every root-key provider implements."""

from __future__ import annotations

from typing import Protocol


class RootKeyProvider(Protocol):
    """Wraps and unwraps key material under a root key that never leaves the provider."""

    @property
    def key_id(self) -> str:
        """A stable, public identifier of the root key (stored beside everything it wraps)."""
        ...

    def wrap(self, plaintext: bytes, aad: bytes) -> bytes:
        """Seal ``plaintext`` (key material) bound to ``aad``."""
        ...

    def unwrap(self, wrapped: bytes, aad: bytes) -> bytes:
        """Open what :meth:`wrap` produced; raises :class:`~strongroom.errors.KeyringError`."""
        ...
