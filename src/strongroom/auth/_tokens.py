"""API tokens: 256-bit random secrets, shown once, stored only as a keyed hash.

Token string, returned once by :meth:`TokenStore.issue` and never again::

    sr_<prefix>_<secret>                                   64 characters in all
    prefix  8 characters, lower-case RFC 4648 base32 of 5 random bytes: the token's public
            id (``TokenInfo.id``), the lookup key; safe to log, list and revoke by
    secret  52 characters, lower-case RFC 4648 base32 without padding of 32 random bytes
            (256 bits); only its canonical encoding is accepted

Stored (table ``api_tokens``): prefix, ``HMAC-SHA256(hash_key, secret bytes)`` (32 bytes),
principal id, name, created_at, expires_at, revoked_at. ``hash_key`` (32 bytes) is not in the
record database, so a copy of the database yields neither the tokens nor a way to test guesses
offline. A keyed hash rather than a password hash (argon2): the secret has 256 bits of entropy,
so there is nothing for a slow hash to protect, and verification stays in the microseconds.

Verification reads the database on every call (no cache): revocation and disabling a principal
take effect at once. The hashes are compared with :func:`hmac.compare_digest`.
"""

from __future__ import annotations

import base64
import binascii
import builtins
import hmac
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, NoReturn

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from strongroom.auth._errors import AuthenticationError
from strongroom.auth._principals import Principal, check_principal_id, load_principal
from strongroom.auth._tables import api_tokens
from strongroom.auth._time import from_ms, to_ms, utc_now
from strongroom.crypto.hazmat import hmac_sha256, random_bytes
from strongroom.errors import KeyringError, NotFoundError, StoreError, ValidationError

#: the longest an API token may live
MAX_TOKEN_TTL: Final = timedelta(days=366)

HASH_KEY_BYTES: Final = 32
_SECRET_BYTES = 32
_PREFIX_BYTES = 5
_SCHEME = "sr_"
_FORMAT = re.compile(r"sr_([a-z2-7]{8})_([a-z2-7]{52})")
_PREFIX = re.compile(r"[a-z2-7]{8}")
_NAME = re.compile(r"[^\W_][\w .:/@-]{0,63}")
_ISSUE_ATTEMPTS = 5

log = logging.getLogger("strongroom.auth")


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """What is known about an API token after it was issued: never its secret or hash."""

    #: the token's lookup prefix: its public id (``sr_<id>_...``), used to revoke it
    id: str
    principal_id: str
    name: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None

    def is_active(self, now: datetime) -> bool:
        return self.revoked_at is None and now < self.expires_at


def _b32(data: bytes) -> str:
    return base64.b32encode(data).decode("ascii").rstrip("=").lower()


def _decode_secret(encoded: str) -> bytes | None:
    """The 32 secret bytes, or ``None`` unless ``encoded`` is their canonical encoding."""
    try:
        secret = base64.b32decode(encoded.upper() + "====")
    except (binascii.Error, ValueError):
        return None
    if len(secret) != _SECRET_BYTES or _b32(secret) != encoded:
        return None
    return secret


def api_token_prefix(credential: str) -> str | None:
    """The lookup prefix of a well-formed API token (safe to log), else ``None``."""
    m = _FORMAT.fullmatch(credential)
    return m.group(1) if m else None


def looks_like_api_token(credential: str) -> bool:
    return credential.startswith(_SCHEME)


def _info(row: Any) -> TokenInfo:
    return TokenInfo(
        id=row.prefix,
        principal_id=row.principal_id,
        name=row.name,
        created_at=from_ms(int(row.created_at)),
        expires_at=from_ms(int(row.expires_at)),
        revoked_at=from_ms(int(row.revoked_at)) if row.revoked_at is not None else None,
    )


_INFO_COLUMNS = (
    api_tokens.c.prefix,
    api_tokens.c.principal_id,
    api_tokens.c.name,
    api_tokens.c.created_at,
    api_tokens.c.expires_at,
    api_tokens.c.revoked_at,
)


class TokenStore:
    """Issue, verify, list and revoke API tokens.

    ``hash_key`` is the 32-byte key of the tokens' keyed hash. It must not be kept in the record
    database. The store cannot be pickled and its ``repr`` does not show the key.
    """

    def __init__(
        self,
        engine: sa.Engine,
        hash_key: bytes,
        *,
        _clock: Callable[[], datetime] = utc_now,
        _random: Callable[[int], bytes] = random_bytes,
    ) -> None:
        if not isinstance(hash_key, bytes) or len(hash_key) != HASH_KEY_BYTES:
            raise KeyringError(f"the API token hash key must be {HASH_KEY_BYTES} bytes")
        self.engine = engine
        self._hash_key = hash_key
        self._clock = _clock
        self._random = _random

    def __repr__(self) -> str:
        return f"TokenStore({self.engine!r}, hash_key=<redacted>)"

    def __reduce__(self) -> NoReturn:
        raise TypeError("a TokenStore holds a key and cannot be pickled")

    # -- issue ---------------------------------------------------------------------------
    def issue(self, principal_id: str, name: str, ttl: timedelta) -> tuple[str, TokenInfo]:
        """A new token for the principal, valid for ``ttl``.

        Returns ``(token_string, info)``. The token string is shown this once: only its prefix
        and keyed hash are stored, so it cannot be recovered, only revoked and reissued.
        """
        pid = check_principal_id(principal_id, "principal_id")
        label = _check_name(name)
        _check_ttl(ttl)
        created = to_ms(self._clock())
        expires = created + ttl // timedelta(milliseconds=1)
        for _ in range(_ISSUE_ATTEMPTS):
            prefix = _b32(self._random(_PREFIX_BYTES))
            secret = self._random(_SECRET_BYTES)
            if len(secret) != _SECRET_BYTES or not _PREFIX.fullmatch(prefix):
                raise ValueError("the random source returned the wrong number of bytes")
            try:
                with self.engine.begin() as conn:
                    principal = load_principal(conn, pid)
                    if principal is None:
                        raise NotFoundError("no principal with this id")
                    if principal.disabled:
                        raise ValidationError.single("principal_id", "the principal is disabled")
                    if conn.execute(
                        sa.select(api_tokens.c.prefix).where(api_tokens.c.prefix == prefix)
                    ).first():
                        continue  # a prefix already in use: draw again
                    conn.execute(
                        api_tokens.insert().values(
                            prefix=prefix,
                            principal_id=pid,
                            name=label,
                            token_hash=hmac_sha256(self._hash_key, secret),
                            created_at=created,
                            expires_at=expires,
                            revoked_at=None,
                        )
                    )
            except IntegrityError:
                continue  # the same prefix drawn concurrently: draw again
            except SQLAlchemyError as exc:
                raise StoreError(f"issuing the token failed ({exc.__class__.__name__})") from exc
            info = TokenInfo(prefix, pid, label, from_ms(created), from_ms(expires))
            log.info(
                "api token issued: id=%s principal=%s expires=%s",
                prefix,
                pid,
                info.expires_at.isoformat(),
            )
            return f"{_SCHEME}{prefix}_{_b32(secret)}", info
        raise StoreError("could not draw an unused token prefix; try again")

    # -- verify --------------------------------------------------------------------------
    def verify(self, token: str, now: datetime | None = None) -> Principal:
        """The principal the token belongs to.

        Raises :class:`AuthenticationError` (one generic message) when the token is malformed,
        unknown, wrong, expired or revoked, or its principal is disabled.
        """
        m = _FORMAT.fullmatch(token) if isinstance(token, str) else None
        secret = _decode_secret(m.group(2)) if m else None
        if m is None or secret is None:
            raise AuthenticationError("malformed api token")
        when = to_ms(now if now is not None else self._clock())
        candidate = hmac_sha256(self._hash_key, secret)
        try:
            with self.engine.connect() as conn:
                row = conn.execute(
                    sa.select(
                        api_tokens.c.token_hash,
                        api_tokens.c.principal_id,
                        api_tokens.c.expires_at,
                        api_tokens.c.revoked_at,
                    ).where(api_tokens.c.prefix == m.group(1))
                ).first()
                if row is None:
                    raise AuthenticationError("unknown api token")
                if not hmac.compare_digest(candidate, bytes(row.token_hash)):
                    raise AuthenticationError("wrong api token secret")
                if row.revoked_at is not None:
                    raise AuthenticationError("revoked api token")
                if int(row.expires_at) <= when:
                    raise AuthenticationError("expired api token")
                principal = load_principal(conn, row.principal_id)
        except SQLAlchemyError as exc:
            raise StoreError(f"verifying the token failed ({exc.__class__.__name__})") from exc
        if principal is None:
            raise AuthenticationError("api token of an unknown principal")
        if principal.disabled:
            raise AuthenticationError("api token of a disabled principal")
        return principal

    # -- list and revoke -----------------------------------------------------------------
    def list(self, principal_id: str | None = None) -> builtins.list[TokenInfo]:
        """Tokens (all, or the principal's), oldest first. Never secrets or hashes."""
        query = sa.select(*_INFO_COLUMNS).order_by(api_tokens.c.created_at, api_tokens.c.prefix)
        if principal_id is not None:
            pid = check_principal_id(principal_id, "principal_id")
            query = query.where(api_tokens.c.principal_id == pid)
        try:
            with self.engine.connect() as conn:
                return [_info(r) for r in conn.execute(query)]
        except SQLAlchemyError as exc:
            raise StoreError(f"listing tokens failed ({exc.__class__.__name__})") from exc

    def revoke(self, token_id: str) -> TokenInfo:
        """Revoke the token with this id (its prefix). Takes effect at once. Idempotent."""
        if not isinstance(token_id, str) or not _PREFIX.fullmatch(token_id):
            raise ValidationError.single(
                "token_id", "must be a token id: the 8 characters after 'sr_'"
            )
        now = to_ms(self._clock())
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    api_tokens.update()
                    .where(api_tokens.c.prefix == token_id, api_tokens.c.revoked_at.is_(None))
                    .values(revoked_at=now)
                )
                row = conn.execute(
                    sa.select(*_INFO_COLUMNS).where(api_tokens.c.prefix == token_id)
                ).first()
        except SQLAlchemyError as exc:
            raise StoreError(f"revoking the token failed ({exc.__class__.__name__})") from exc
        if row is None:
            raise NotFoundError("no token with this id")
        log.info("api token revoked: id=%s principal=%s", token_id, row.principal_id)
        return _info(row)


def _check_name(value: Any) -> str:
    if not isinstance(value, str) or not _NAME.fullmatch(value.strip()):
        raise ValidationError.single(
            "name", "must be a label of 1-64 letters, digits, spaces and _ . : / @ -"
        )
    return value.strip()


def _check_ttl(value: Any) -> None:
    if not isinstance(value, timedelta):
        raise ValidationError.single("ttl", "must be a duration (timedelta)")
    if value <= timedelta(0):
        raise ValidationError.single("ttl", "must be positive")
    if value > MAX_TOKEN_TTL:
        raise ValidationError.single("ttl", f"must be at most {MAX_TOKEN_TTL.days} days")
