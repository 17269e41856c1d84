"""Errors raised by Strongroom.

Every error a caller can see derives from :class:`StrongroomError`, which carries a
user-facing :meth:`~StrongroomError.diagnostics` text. Errors from dependencies (SQLAlchemy,
cryptography, argon2, the filesystem) are mapped at the boundary with ``raise ... from exc``.
No error message ever contains a personal value: errors name the *field* and the *reason*,
never the value that was given.

Hierarchy::

    StrongroomError
    ├── ValidationError          bad input; names each failing field and why
    │   └── ConflictError        a unique value (a resident ID) is already held
    ├── ConfigError              settings, paths, permissions
    ├── KeyringError             key files, passphrases, key store
    │   └── PassphraseError      the passphrase does not open the root key
    ├── OpenError                a sealed record failed to open (one opaque error, always)
    ├── NotFoundError            no record with that reference
    ├── AccessError              missing actor or purpose
    └── StoreError               the database failed or is not initialised
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "AccessError",
    "ConfigError",
    "ConflictError",
    "FieldError",
    "KeyringError",
    "NotFoundError",
    "OpenError",
    "PassphraseError",
    "StoreError",
    "StrongroomError",
    "ValidationError",
]


class StrongroomError(Exception):
    """Base of every error Strongroom raises on purpose."""

    #: process exit code the CLI uses for this kind of error
    exit_code: int = 1

    def diagnostics(self) -> str:
        """A message fit to show a user: what went wrong and, where known, what to do."""
        return str(self)


@dataclass(frozen=True)
class FieldError:
    """One field that failed validation: the field's path and the reason, never its value."""

    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}"


class ValidationError(StrongroomError):
    """Input failed validation. ``errors`` names every failing field and the reason."""

    exit_code = 2

    def __init__(self, errors: list[FieldError] | FieldError) -> None:
        self.errors: list[FieldError] = [errors] if isinstance(errors, FieldError) else errors
        super().__init__("; ".join(str(e) for e in self.errors))

    @classmethod
    def single(cls, field: str, reason: str) -> ValidationError:
        return cls(FieldError(field, reason))


class ConflictError(ValidationError):
    """A value that must be unique (a person's resident ID) belongs to another record."""


class ConfigError(StrongroomError):
    """A setting, path or file permission is wrong."""

    exit_code = 3


class KeyringError(StrongroomError):
    """A key file, key store or key could not be used."""

    exit_code = 4


class PassphraseError(KeyringError):
    """The passphrase does not open the root key file."""


class OpenError(StrongroomError):
    """A sealed record could not be opened.

    Deliberately opaque: a bad tag, a wrong key id, a moved row, a truncated or altered
    ciphertext and a destroyed key all raise this same error with the same message.
    """

    exit_code = 5

    def __init__(self) -> None:
        super().__init__("sealed record could not be opened")


class NotFoundError(StrongroomError):
    """No record with the given reference."""

    exit_code = 6


class AccessError(StrongroomError):
    """The call lacks an actor or a purpose, or they are malformed."""

    exit_code = 7


class StoreError(StrongroomError):
    """The record database failed, or the vault is not initialised."""

    exit_code = 8
