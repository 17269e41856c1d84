"""Throttling failed authentication per client address (a sliding window, in memory).

A client that failed ``max_failures`` times within the last ``per_seconds`` seconds is refused
— :class:`RateLimitedError` with ``retry_after`` — until the oldest of those failures leaves the
window. A success does not clear the count: otherwise a client holding one valid token could
interleave it with guesses at others.

Addresses are grouped as an attacker gets them: an IPv6 address counts for its whole /64, an
IPv4-mapped IPv6 address as the IPv4 address, and a port, if one is given, is dropped; anything
that is not an IP address (a Unix socket name) is used as it is. At most ``max_clients``
addresses are tracked (beyond that the longest-tracked is dropped), so a flood of addresses
cannot exhaust memory.

The state is per process: several API processes each throttle on their own.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable

from strongroom.auth._errors import RateLimitedError
from strongroom.errors import ConfigError

log = logging.getLogger("strongroom.auth")


def _ip(addr: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    a = addr.strip()
    if a.startswith("[") and "]" in a:  # "[2001:db8::1]" or "[2001:db8::1]:443"
        a = a[1 : a.index("]")]
    elif a.count(":") == 1:  # "192.0.2.1:443"
        a = a.partition(":")[0]
    try:
        return ipaddress.ip_address(a)
    except ValueError:
        return None


def client_key(addr: str) -> str:
    """The throttling key of a client address (IPv6 grouped by /64, any port dropped)."""
    ip = _ip(addr)
    if ip is None:
        return addr
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


class FailureLimiter:
    """In-memory, thread-safe failure counter per client address, with an injectable clock."""

    def __init__(
        self,
        max_failures: int = 10,
        per_seconds: float = 60.0,
        *,
        max_clients: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if isinstance(max_failures, bool) or not isinstance(max_failures, int) or max_failures < 1:
            raise ConfigError("max_failures: must be a positive whole number")
        if not per_seconds > 0:
            raise ConfigError("per_seconds: must be positive")
        if max_clients < 1:
            raise ConfigError("max_clients: must be positive")
        self.max_failures = max_failures
        self.per_seconds = float(per_seconds)
        self.max_clients = max_clients
        self._clock = clock
        self._lock = threading.Lock()
        self._failures: dict[str, deque[float]] = {}

    def _window(self, key: str, now: float) -> deque[float] | None:
        times = self._failures.get(key)
        if times is None:
            return None
        while times and times[0] <= now - self.per_seconds:
            times.popleft()
        if not times:
            del self._failures[key]
            return None
        return times

    def check(self, addr: str) -> None:
        """Raise :class:`RateLimitedError` if ``addr`` has used up its failures."""
        key = client_key(addr)
        with self._lock:
            now = self._clock()
            times = self._window(key, now)
            if times is not None and len(times) >= self.max_failures:
                retry = max(1, math.ceil(times[0] + self.per_seconds - now))
                raise RateLimitedError(retry)

    def record_failure(self, addr: str) -> None:
        """Count one failed authentication from ``addr``."""
        key = client_key(addr)
        with self._lock:
            now = self._clock()
            times = self._window(key, now)
            if times is None:
                while len(self._failures) >= self.max_clients:
                    # the longest-tracked client goes first (insertion order)
                    del self._failures[next(iter(self._failures))]
                times = self._failures[key] = deque(maxlen=self.max_failures)
            before = len(times)
            times.append(now)
            if before == self.max_failures - 1:
                log.warning(
                    "authentication throttled: client=%r failures=%d within=%gs",
                    key,
                    len(times),
                    self.per_seconds,
                )

    def failures(self, addr: str) -> int:
        """How many failures of ``addr`` are in the current window."""
        key = client_key(addr)
        with self._lock:
            times = self._window(key, self._clock())
            return 0 if times is None else len(times)
