"""Quotas: how much one principal may be released, counted in the database.

Counters are rows of ``guard_counters`` — (principal, metric, window start) → count — so they
survive a restart and every API process sees the same numbers. Each release is counted
*inside the transaction that writes its audit entry*: the counter update and the check are one
atomic step per row (``INSERT … ON CONFLICT DO UPDATE … RETURNING``, SQLite and PostgreSQL),
so two processes cannot both slip under a limit, and a refused request's increments roll back
with it. Metrics:

=========================  =======================================================
``released:minute|hour|day``  records released (a read: 1; a search page: its items)
``subjects:day``              distinct subjects released (``guard_subjects`` rows)
``misses:hour``               searches that found nothing
=========================  =======================================================

Day windows start at local midnight (``[guard] timezone_offset_hours``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import sqlalchemy as sa

from strongroom.audit._log import _driver_sql
from strongroom.errors import StrongroomError
from strongroom.guard._tables import guard_counters, guard_subjects

MINUTE: Final = 60_000
HOUR: Final = 3_600_000
DAY: Final = 86_400_000

#: quota name -> (metric, window length)
METRICS: Final[dict[str, tuple[str, int]]] = {
    "released_per_minute": ("released:minute", MINUTE),
    "released_per_hour": ("released:hour", HOUR),
    "released_per_day": ("released:day", DAY),
    "subjects_per_day": ("subjects:day", DAY),
    "misses_per_hour": ("misses:hour", HOUR),
}


class QuotaExceededError(StrongroomError):
    """A principal's quota is spent: nothing was released (HTTP 429)."""

    exit_code = 9

    def __init__(self, quota: str, limit: int, retry_after: int) -> None:
        self.quota = quota
        self.limit = limit
        self.retry_after = retry_after
        super().__init__(
            f"quota {quota} ({limit}) is spent; nothing was released. It renews in "
            f"{retry_after} seconds; a supervisor has been alerted"
        )


@dataclass(frozen=True, slots=True)
class Usage:
    """What one request would be released."""

    released: int = 0
    subjects: Sequence[bytes] = ()
    miss: bool = False


def _insert(conn: sa.Connection) -> Any:
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert


class Quotas:
    """Counting and checking (see the module docstring)."""

    def __init__(self, tz_offset_hours: int = 8) -> None:
        self._offset = tz_offset_hours * HOUR

    def window(self, now_ms: int, length: int) -> int:
        """The start of the window of ``length`` that holds ``now_ms``."""
        if length == DAY:
            return (now_ms + self._offset) // DAY * DAY - self._offset
        return now_ms // length * length

    def _bump(self, conn: sa.Connection, principal: str, metric: str, window: int, n: int) -> int:
        """Add ``n`` to one counter; its new value."""
        return self._bump_many(conn, principal, [(metric, window, n)])[(metric, window)]

    @staticmethod
    def _bump_many(
        conn: sa.Connection, principal: str, rows: Sequence[tuple[str, int, int]]
    ) -> dict[tuple[str, int], int]:
        """Add to several counters in one statement (constant SQL straight to the driver: this
        runs in every read's transaction); their new values by (metric, window)."""
        values = ", ".join(["(?, ?, ?, ?)"] * len(rows))
        params: list[Any] = []
        for metric, window, n in rows:
            params += [principal, metric, window, n]
        found = _driver_sql(
            conn,
            # only "(?, ?, ?, ?)" placeholders are joined into the text
            f'INSERT INTO guard_counters (principal_id, metric, "window", count) VALUES {values}'  # noqa: S608
            ' ON CONFLICT (principal_id, metric, "window") DO UPDATE'
            " SET count = guard_counters.count + excluded.count"
            ' RETURNING metric, "window", count',
            tuple(params),
        ).fetchall()
        return {(str(m), int(w)): int(c) for m, w, c in found}

    @staticmethod
    def _new_subjects(
        conn: sa.Connection, principal: str, day: int, subjects: Sequence[bytes]
    ) -> int:
        """Note the subjects released today; how many were new."""
        unique = list(dict.fromkeys(subjects))
        if not unique:
            return 0
        values = ", ".join(["(?, ?, ?)"] * len(unique))
        params: list[Any] = []
        for s in unique:
            params += [principal, day, s]
        return len(
            _driver_sql(
                conn,
                f"INSERT INTO guard_subjects (principal_id, day, subject) VALUES {values}"  # noqa: S608
                " ON CONFLICT DO NOTHING RETURNING subject",
                tuple(params),
            ).fetchall()
        )

    def count(
        self,
        conn: sa.Connection,
        principal: str,
        limits: dict[str, int],
        usage: Usage,
        now: datetime,
    ) -> None:
        """Count ``usage`` for ``principal`` in ``conn``'s transaction; raise
        :class:`QuotaExceededError` (the caller rolls back) when a limit is passed — or when
        a quota this request does not add to is already spent, so that a principal who spent
        one gets nothing more (not even a search that misses) until its window renews. (The
        distinct-persons quota is the exception: persons already released today may be
        released again.)

        Every limited counter is in the one upsert (those this request does not add to with
        0), so its RETURNING clause is also the check of spent quotas: one statement."""
        if not limits:
            return
        now_ms = int(now.timestamp() * 1000)
        adds = {
            "released_per_minute": usage.released,
            "released_per_hour": usage.released,
            "released_per_day": usage.released,
            "misses_per_hour": 1 if usage.miss else 0,
            "subjects_per_day": 0,
        }
        if usage.subjects and "subjects_per_day" in limits:
            day = self.window(now_ms, DAY)
            adds["subjects_per_day"] = self._new_subjects(conn, principal, day, usage.subjects)
        wanted = [q for q in METRICS if q in limits]
        rows = []
        for quota in wanted:
            metric, length = METRICS[quota]
            rows.append((metric, self.window(now_ms, length), adds[quota]))
        counts = self._bump_many(conn, principal, rows)
        for quota, (metric, start, n) in zip(wanted, rows, strict=True):
            count, limit = counts[(metric, start)], limits[quota]
            # distinct persons: someone already released today may be read again
            spent = n == 0 and count >= limit and quota != "subjects_per_day"
            if count > limit or spent:
                length = METRICS[quota][1]
                raise QuotaExceededError(quota, limit, max(1, (start + length - now_ms) // 1000))

    def prune(self, conn: sa.Connection, now: datetime, keep_days: int = 35) -> None:
        """Forget counters and subject rows older than ``keep_days`` (day counters are kept
        that long as the detectors' baseline)."""
        cutoff = int(now.timestamp() * 1000) - keep_days * DAY
        short = int(now.timestamp() * 1000) - 2 * DAY
        conn.execute(
            guard_counters.delete().where(
                guard_counters.c.window < short, ~guard_counters.c.metric.like("%:day")
            )
        )
        conn.execute(guard_counters.delete().where(guard_counters.c.window < cutoff))
        conn.execute(guard_subjects.delete().where(guard_subjects.c.day < short))
