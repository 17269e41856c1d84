"""OpenID Connect bearer tokens: JWTs signed by a configured issuer, checked against its JWKS.

What a token must have to be accepted (anything else raises :class:`AuthenticationError`):

* a JWS compact serialization signed with RS256, ES256 or EdDSA (``EdDSA``, or its RFC 9864
  name ``Ed25519``) — the allowed list is fixed here, never read from the token, so ``none``,
  ``HS256`` (including HMAC over the issuer's *public* key) and every other algorithm fail;
* a ``kid`` header naming a key of the issuer's key set (see :mod:`strongroom.auth._jwks`);
  embedded keys (``jwk``, ``jku``, ``x5u`` headers) are never used;
* ``iss`` equal to the configured issuer, ``aud`` equal to (or, as a list, containing) the
  configured audience, a ``sub``, and an ``exp`` — all required;
* ``exp`` in the future and ``nbf`` / ``iat`` not in the future, each with at most
  ``leeway_seconds`` (≤ 60) of clock skew.

The principal: id ``oidc:<sub>``, kind ``user``, roles from ``role_claim`` mapped through
``role_map`` (values without a mapping are ignored; a token may end up with no role, which
policy denies), unit and home region from ``unit_claim`` / ``region_claim`` when configured.
``citizen`` cannot be a mapping target: a citizen must be bound to a resident ID token, which an
identity provider's claims cannot vouch for here. A claim path with dots (``realm_access.roles``)
descends into nested objects when no claim has that exact name.

Signatures and claims are checked by ``joserfc``; key selection, the algorithm list and the
mapping to a principal are ours.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from joserfc import jwt
from joserfc.errors import (
    BadSignatureError,
    ExpiredTokenError,
    InvalidClaimError,
    InvalidKeyCurveError,
    JoseError,
    KeyParameterError,
    MissingClaimError,
    UnsupportedAlgorithmError,
)
from joserfc.jwa import JWSAlgModel
from joserfc.jwk import GuestProtocol, Key
from joserfc.jws import JWSRegistry

from strongroom.auth._errors import AuthenticationError
from strongroom.auth._jwks import JwksCache, UnknownKeyId
from strongroom.auth._principals import ROLES, Principal, check_region, check_unit
from strongroom.auth._time import from_ms, to_ms
from strongroom.errors import ConfigError, ValidationError

#: the JWS algorithms an OIDC token may use
OIDC_ALGORITHMS: Final = ("RS256", "ES256", "EdDSA", "Ed25519")
#: the most clock skew ``leeway_seconds`` may allow
MAX_LEEWAY_SECONDS: Final = 60
MAX_JWT_CHARS: Final = 16 * 1024
_SUB = re.compile(r"[\x21-\x7e]{1,255}")  # OIDC Core 2: at most 255 ASCII characters
_CLAIM_REASON = {
    "iss": "wrong jwt issuer",
    "aud": "wrong jwt audience",
    "nbf": "jwt not yet valid",
    "iat": "jwt issued in the future",
    "exp": "invalid jwt expiry",
    "sub": "invalid jwt subject",
}


class _AllowedAlgorithms(JWSRegistry):
    """Exactly :data:`OIDC_ALGORITHMS`, whatever joserfc recommends.

    joserfc warns (``SecurityWarning``) whenever the name ``EdDSA`` is used, since RFC 9864
    deprecates it for the fully specified ``Ed25519``. Identity providers still sign with it, we
    allow it on purpose, and ``Ed25519`` is accepted too; so the lookup is done here, without the
    warning.
    """

    def get_alg(self, name: str) -> JWSAlgModel:
        if not isinstance(name, str) or name not in OIDC_ALGORITHMS:
            raise UnsupportedAlgorithmError("algorithm not allowed")
        return self.algorithms[name]


def _claim(claims: Mapping[str, Any], path: str) -> Any:
    if path in claims:
        return claims[path]
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


class OidcVerifier:
    """Verifies bearer JWTs of one OIDC issuer and maps their claims to a :class:`Principal`.

    ``jwks_source`` is a file path or a URL (``https://``; ``http://`` only to a loopback host).
    The key set is fetched on first use and cached for ``jwks_ttl_seconds``; an unknown ``kid``
    triggers one refetch, at most every ``jwks_refetch_seconds``.
    """

    def __init__(
        self,
        issuer: str,
        audience: str,
        jwks_source: str | Path,
        *,
        role_claim: str = "roles",
        role_map: Mapping[str, str] | None = None,
        leeway_seconds: int = 30,
        unit_claim: str | None = None,
        region_claim: str | None = None,
        jwks_ttl_seconds: float = 300.0,
        jwks_refetch_seconds: float = 10.0,
        http_timeout_seconds: float = 5.0,
        _clock: Callable[[], float] = time.time,
    ) -> None:
        for name, value in (("issuer", issuer), ("audience", audience), ("role_claim", role_claim)):
            if not isinstance(value, str) or not value.strip():
                raise ConfigError(f"{name}: must be a non-empty string")
        for name, opt in (("unit_claim", unit_claim), ("region_claim", region_claim)):
            if opt is not None and (not isinstance(opt, str) or not opt.strip()):
                raise ConfigError(f"{name}: must be a claim name")
        if (
            isinstance(leeway_seconds, bool)
            or not isinstance(leeway_seconds, int)
            or not 0 <= leeway_seconds <= MAX_LEEWAY_SECONDS
        ):
            raise ConfigError(f"leeway_seconds: must be 0-{MAX_LEEWAY_SECONDS} seconds")
        mapped = dict(role_map or {})
        targets = set(mapped.values())
        if not targets <= ROLES:
            raise ConfigError(
                f"role_map: each value must be one of: {', '.join(sorted(ROLES - {'citizen'}))}"
            )
        if "citizen" in targets:
            raise ConfigError(
                "role_map: 'citizen' cannot come from an identity provider's claims "
                "(a citizen must be bound to their resident ID token)"
            )
        for name, secs in (
            ("jwks_ttl_seconds", jwks_ttl_seconds),
            ("jwks_refetch_seconds", jwks_refetch_seconds),
            ("http_timeout_seconds", http_timeout_seconds),
        ):
            if not secs > 0:
                raise ConfigError(f"{name}: must be positive")
        self.issuer = issuer
        self.audience = audience
        self.role_claim = role_claim
        self.role_map: Mapping[str, str] = mapped
        self.leeway_seconds = leeway_seconds
        self.unit_claim = unit_claim
        self.region_claim = region_claim
        self._clock = _clock
        self._jwks = JwksCache(
            jwks_source,
            ttl=jwks_ttl_seconds,
            refetch_interval=jwks_refetch_seconds,
            timeout=http_timeout_seconds,
            clock=_clock,
        )
        self._registry = _AllowedAlgorithms(strict_check_header=False)

    @property
    def jwks_fetches(self) -> int:
        """How many times the key set has been read from its source."""
        return self._jwks.fetches

    def _key(self, obj: GuestProtocol) -> Key:
        kid = obj.headers().get("kid")
        if not isinstance(kid, str) or not kid:
            raise UnknownKeyId
        return self._jwks.key(kid)

    def verify(self, token: str, now: datetime | None = None) -> Principal:
        """The principal the token speaks for.

        Raises :class:`AuthenticationError` (one generic message) for any token that is not
        acceptable, and :class:`JwksUnavailableError` when the issuer's keys cannot be loaded.
        """
        if not isinstance(token, str) or len(token) > MAX_JWT_CHARS or token.count(".") != 2:
            raise AuthenticationError("malformed jwt")
        ts = to_ms(now) // 1000 if now is not None else int(self._clock())
        try:
            decoded = jwt.decode(token, self._key, registry=self._registry)
        except UnknownKeyId:
            raise AuthenticationError("unknown jwt key id") from None
        except BadSignatureError as exc:
            raise AuthenticationError("bad jwt signature") from exc
        except UnsupportedAlgorithmError as exc:
            raise AuthenticationError("jwt algorithm not allowed") from exc
        except (KeyParameterError, InvalidKeyCurveError) as exc:
            raise AuthenticationError("jwt key does not fit its algorithm") from exc
        except (JoseError, ValueError, TypeError, KeyError, RecursionError) as exc:
            raise AuthenticationError("malformed jwt") from exc
        claims = decoded.claims
        checks = jwt.JWTClaimsRegistry(
            now=ts,
            leeway=self.leeway_seconds,
            iss={"essential": True, "value": self.issuer},
            aud={"essential": True, "value": self.audience},
            sub={"essential": True},
            exp={"essential": True},
        )
        try:
            checks.validate(claims)
        except ExpiredTokenError as exc:
            raise AuthenticationError("expired jwt") from exc
        except MissingClaimError as exc:
            raise AuthenticationError("jwt lacks a required claim") from exc
        except InvalidClaimError as exc:
            reason = _CLAIM_REASON.get(exc.claim, "invalid jwt claim")
            raise AuthenticationError(reason) from exc
        except JoseError as exc:
            raise AuthenticationError("invalid jwt claims") from exc
        return self._principal(claims, ts)

    def _principal(self, claims: Mapping[str, Any], ts: int) -> Principal:
        sub = claims.get("sub")
        if not isinstance(sub, str) or not _SUB.fullmatch(sub):
            raise AuthenticationError("invalid jwt subject")
        raw = _claim(claims, self.role_claim)
        names = raw.split() if isinstance(raw, str) else raw if isinstance(raw, list) else []
        roles = frozenset(
            self.role_map[n] for n in names if isinstance(n, str) and n in self.role_map
        )
        try:
            unit = check_unit(_claim(claims, self.unit_claim)) if self.unit_claim else None
            region = check_region(_claim(claims, self.region_claim)) if self.region_claim else None
        except ValidationError:
            raise AuthenticationError("invalid jwt unit or region claim") from None
        return Principal(
            id=f"oidc:{sub}",
            kind="user",
            roles=roles,
            unit=unit,
            home_region=region,
            created_at=from_ms(ts * 1000),
        )
