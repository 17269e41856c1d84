"""Errors of authentication.

Hierarchy (all under :class:`strongroom.errors.StrongroomError`, exit code 10)::

    AuthError                    something about who is asking went wrong
    ├── AuthenticationError      bad, unknown, expired or revoked credentials (one generic message)
    ├── RateLimitedError         too many failed attempts from this client; ``retry_after`` seconds
    └── JwksUnavailableError     the identity provider's signing keys could not be loaded

Unknown principals raise :class:`strongroom.errors.NotFoundError`; bad ids, roles and other
input raise :class:`strongroom.errors.ValidationError` naming the field.

:class:`AuthenticationError` is deliberately opaque, like :class:`~strongroom.errors.OpenError`:
its message is the same for every cause and never contains the credential. The cause is kept in
:attr:`AuthenticationError.reason`, a fixed phrase chosen in this package (never text taken from
the credential), for the log line the :class:`~strongroom.auth.Authenticator` writes.
"""

from __future__ import annotations

from strongroom.errors import StrongroomError


class AuthError(StrongroomError):
    """Base of the authentication errors."""

    exit_code = 10


class AuthenticationError(AuthError):
    """The credentials were missing, malformed, unknown, wrong, expired or revoked.

    ``str(error)`` is ``"authentication failed"`` whatever the cause; ``reason`` says which it
    was, for logs only.
    """

    def __init__(self, reason: str = "invalid credentials") -> None:
        self.reason = reason
        super().__init__("authentication failed")


class RateLimitedError(AuthError):
    """Too many failed authentications from one client address; try again after a while."""

    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(
            f"too many failed authentication attempts; retry after {retry_after} seconds"
        )


class JwksUnavailableError(AuthError):
    """The OIDC issuer's key set (JWKS) could not be fetched or read, and none is cached.

    Not the client's fault: interfaces answer 503, and the failure does not count against the
    client's address.
    """
