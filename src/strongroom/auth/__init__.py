"""Who is asking: principals, API tokens, OIDC bearer JWTs, and a failed-authentication throttle.

* :class:`PrincipalStore` keeps users and service accounts (:class:`Principal`) in the record
  database (tables from migration ``r0002``).
* :class:`TokenStore` issues API tokens ``sr_<prefix>_<secret>`` — 256-bit secrets, shown once,
  stored only as a keyed hash with a lookup prefix — and verifies, lists and revokes them.
* :class:`OidcVerifier` checks bearer JWTs of one OpenID Connect issuer against its JWKS.
* :class:`FailureLimiter` throttles failed authentication per client address.
* :class:`Authenticator` puts them together behind one call:
  ``authenticate(authorization_header, client_addr) -> Principal``.

Errors: :class:`AuthError` (exit code 10) and its subclasses; unknown principals and tokens raise
:class:`strongroom.errors.NotFoundError`, bad input :class:`strongroom.errors.ValidationError`.
See ``docs/auth.md``.
"""

from strongroom.auth._authenticator import Authenticator
from strongroom.auth._errors import (
    AuthenticationError,
    AuthError,
    JwksUnavailableError,
    RateLimitedError,
)
from strongroom.auth._limiter import FailureLimiter
from strongroom.auth._oidc import MAX_LEEWAY_SECONDS, OIDC_ALGORITHMS, OidcVerifier
from strongroom.auth._principals import PRINCIPAL_KINDS, ROLES, Principal, PrincipalStore
from strongroom.auth._tables import api_tokens, auth_metadata, principal_cases, principals
from strongroom.auth._tokens import MAX_TOKEN_TTL, TokenInfo, TokenStore

__all__ = [
    "MAX_LEEWAY_SECONDS",
    "MAX_TOKEN_TTL",
    "OIDC_ALGORITHMS",
    "PRINCIPAL_KINDS",
    "ROLES",
    "AuthError",
    "AuthenticationError",
    "Authenticator",
    "FailureLimiter",
    "JwksUnavailableError",
    "OidcVerifier",
    "Principal",
    "PrincipalStore",
    "RateLimitedError",
    "TokenInfo",
    "TokenStore",
    "api_tokens",
    "auth_metadata",
    "principal_cases",
    "principals",
]
