"""An OIDC issuer's JSON Web Key Set (RFC 7517), loaded from a file or URL and cached.

* Loaded lazily, on the first token to verify, then kept for ``ttl`` seconds.
* A ``kid`` not in the cached set triggers one refetch — at most one per ``refetch_interval``
  seconds, so tokens with made-up key ids cannot make us hammer the issuer.
* When a refresh fails the keys already held stay in use (the failure is logged) and the next
  attempt waits ``refetch_interval``; with no keys at all :class:`JwksUnavailableError` is raised.
* Only signature keys of asymmetric types are kept: ``oct`` (shared-secret) keys, keys whose
  ``use`` is not ``sig`` and RSA keys under 2048 bits are dropped, so a token can never be
  checked with an HMAC over a key that is public.
* URLs: ``https://`` anywhere; plain ``http://`` only to a loopback host. Redirects are not
  followed; the response is capped at 1 MiB; the timeout is bounded.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import logging
import math
import threading
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from joserfc.errors import JoseError
from joserfc.jwk import JWKRegistry, Key

from strongroom.auth._errors import JwksUnavailableError
from strongroom.errors import ConfigError

MAX_JWKS_BYTES = 1 << 20
MIN_RSA_BITS = 2048
_ASYMMETRIC = frozenset({"RSA", "EC", "OKP"})

log = logging.getLogger("strongroom.auth")


class _FetchError(Exception):
    """Why loading the key set failed (a phrase of ours, for the log)."""


class UnknownKeyId(Exception):
    """No key with the token's ``kid``, even after a refetch."""


def check_jwks_source(source: str | Path) -> str | Path:
    """A URL (``https://``, or ``http://`` to a loopback host) or an existing file path."""
    if isinstance(source, str) and source.startswith(("http://", "https://")):
        parts = urlsplit(source)
        if not parts.hostname:
            raise ConfigError("jwks_source: the URL has no host")
        if parts.scheme == "http" and not is_loopback(parts.hostname):
            raise ConfigError(
                "jwks_source: plain http is allowed only to a loopback host; use https"
            )
        return source
    path = Path(source)
    if not path.is_file():
        raise ConfigError("jwks_source: not a file, nor an http(s) URL")
    return path


def is_loopback(host: str) -> bool:
    """``localhost`` or a loopback IP address (plain HTTP is allowed only to those)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _rsa_bits(entry: dict[str, object]) -> int:
    n = entry.get("n")
    if not isinstance(n, str):
        return 0
    try:
        return int.from_bytes(base64.urlsafe_b64decode(n + "=" * (-len(n) % 4))).bit_length()
    except ValueError:
        return 0


def parse_jwks(raw: bytes) -> dict[str, Key]:
    """The usable signature keys of a JWKS document, by ``kid``."""
    try:
        doc = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise _FetchError("the key set is not JSON") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("keys"), list):
        raise _FetchError("the key set has no 'keys' list")
    keys: dict[str, Key] = {}
    for entry in doc["keys"]:
        if not isinstance(entry, dict) or entry.get("kty") not in _ASYMMETRIC:
            continue
        if entry.get("use", "sig") != "sig":
            continue
        if entry["kty"] == "RSA" and _rsa_bits(entry) < MIN_RSA_BITS:
            # checked before import: joserfc would warn about it, and we never use it anyway
            log.warning("jwks: skipped an RSA key shorter than %d bits", MIN_RSA_BITS)
            continue
        try:
            key = JWKRegistry.import_key(entry)
            key.ensure_kid()  # a key without "kid" is known by its RFC 7638 thumbprint
        except (JoseError, ValueError, TypeError, KeyError):
            log.warning("jwks: skipped a key that could not be imported")
            continue
        if key.kid is not None and key.kid not in keys:
            keys[key.kid] = key
    if not keys:
        raise _FetchError("the key set holds no usable signature key")
    return keys


class JwksCache:
    """Thread-safe cache of one issuer's signature keys."""

    def __init__(
        self,
        source: str | Path,
        *,
        ttl: float,
        refetch_interval: float,
        timeout: float,
        clock: Callable[[], float],
    ) -> None:
        self.source = check_jwks_source(source)
        self.ttl = ttl
        self.refetch_interval = refetch_interval
        self.timeout = timeout
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: dict[str, Key] = {}
        self._next_refresh = -math.inf
        self._last_miss_refetch = -math.inf
        #: how many times the source was read (for tests and metrics)
        self.fetches = 0

    def key(self, kid: str) -> Key:
        """The key with this ``kid``; refetches once on a miss (rate-limited)."""
        with self._lock:
            now = self._clock()
            refreshed = False
            if now >= self._next_refresh:
                self._refresh(now)
                refreshed = True
            found = self._keys.get(kid)
            may_refetch = now - self._last_miss_refetch >= self.refetch_interval
            if found is None and not refreshed and may_refetch:
                self._last_miss_refetch = now
                self._refresh(now)
                found = self._keys.get(kid)
            if found is None:
                raise UnknownKeyId
            return found

    def _refresh(self, now: float) -> None:
        self.fetches += 1
        try:
            self._keys = parse_jwks(self._read())
            self._next_refresh = now + self.ttl
        except _FetchError as exc:
            self._next_refresh = now + self.refetch_interval
            if not self._keys:
                log.error("jwks: cannot load the issuer's keys: %s", exc)
                raise JwksUnavailableError(
                    "the identity provider's signing keys could not be loaded"
                ) from exc
            log.warning("jwks: refresh failed, keeping the keys held: %s", exc)

    def _read(self) -> bytes:
        if isinstance(self.source, Path):
            try:
                with self.source.open("rb") as f:
                    raw = f.read(MAX_JWKS_BYTES + 1)
            except OSError as exc:
                raise _FetchError(
                    f"cannot read the key set file ({exc.__class__.__name__})"
                ) from exc
            if len(raw) > MAX_JWKS_BYTES:
                raise _FetchError("the key set file is larger than 1 MiB")
            return raw
        return _fetch(self.source, self.timeout)


def _fetch(url: str, timeout: float) -> bytes:
    try:
        with (
            httpx.Client(timeout=timeout, follow_redirects=False) as client,
            client.stream("GET", url, headers={"Accept": "application/json"}) as resp,
        ):
            if resp.status_code != httpx.codes.OK:
                raise _FetchError(f"the key set URL answered HTTP {resp.status_code}")
            body = bytearray()
            for chunk in resp.iter_bytes():
                body += chunk
                if len(body) > MAX_JWKS_BYTES:
                    raise _FetchError("the key set is larger than 1 MiB")
            return bytes(body)
    except httpx.HTTPError as exc:
        raise _FetchError(f"fetching the key set failed ({exc.__class__.__name__})") from exc
