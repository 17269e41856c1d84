"""One entry point for interfaces: an ``Authorization`` header in, a :class:`Principal` out.

``Bearer sr_...`` is an API token (:class:`TokenStore`); any other ``Bearer`` credential shaped
like a JWT goes to the :class:`OidcVerifier`, when one is configured. Order of events:

1. a client over its failure budget is refused at once (:class:`RateLimitedError`), before the
   credential is looked at;
2. no header: :class:`AuthenticationError` (not counted as a failure: nothing was guessed);
3. anything else that does not verify: the failure is counted against the client address, a
   WARNING goes to the ``strongroom.auth`` logger — client, credential kind, reason, and for a
   well-formed API token its public prefix; never the credential — and
   :class:`AuthenticationError` is raised with its one generic message.

:class:`JwksUnavailableError` (the issuer's keys could not be loaded) passes through uncounted.
"""

from __future__ import annotations

import logging

from strongroom.auth._errors import AuthenticationError
from strongroom.auth._limiter import FailureLimiter
from strongroom.auth._oidc import MAX_JWT_CHARS, OidcVerifier
from strongroom.auth._principals import Principal
from strongroom.auth._tokens import TokenStore, api_token_prefix, looks_like_api_token

log = logging.getLogger("strongroom.auth")


class Authenticator:
    """API tokens and, optionally, OIDC bearer JWTs, behind a per-address failure throttle."""

    def __init__(
        self,
        tokens: TokenStore,
        *,
        oidc: OidcVerifier | None = None,
        limiter: FailureLimiter | None = None,
    ) -> None:
        self.tokens = tokens
        self.oidc = oidc
        self.limiter = limiter if limiter is not None else FailureLimiter()

    def authenticate(self, authorization_header: str | None, client_addr: str) -> Principal:
        """The principal behind ``authorization_header`` (the raw ``Authorization`` value)."""
        self.limiter.check(client_addr)
        if authorization_header is None or not authorization_header.strip():
            raise AuthenticationError("no credentials")
        kind, prefix = "unknown", None
        try:
            credential = _bearer(authorization_header)
            if looks_like_api_token(credential):
                kind, prefix = "api-token", api_token_prefix(credential)
                return self.tokens.verify(credential)
            if self.oidc is not None and credential.count(".") == 2:
                kind = "jwt"
                return self.oidc.verify(credential)
            raise AuthenticationError("unrecognised credential")
        except AuthenticationError as exc:
            self.limiter.record_failure(client_addr)
            log.warning(
                "authentication failed: client=%r kind=%s reason=%s token_id=%s",
                client_addr,
                kind,
                exc.reason,
                prefix or "-",
            )
            raise AuthenticationError(exc.reason) from None


def _bearer(header: str) -> str:
    scheme, _, credential = header.strip().partition(" ")
    credential = credential.strip()
    if scheme.lower() != "bearer":
        raise AuthenticationError("not a bearer credential")
    if not credential or len(credential) > MAX_JWT_CHARS or any(c.isspace() for c in credential):
        raise AuthenticationError("malformed bearer credential")
    return credential
