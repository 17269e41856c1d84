"""Behavioural detectors: rules over the audit stream that raise alerts (``docs/guard.md``).

:class:`Detectors` reads the *sequenced* audit log from its saved position, a batch at a time,
and raises an alert (evidence: the audit entry indices) when a principal acting in one of the
watched roles (``[guard.detectors] roles``) crosses a threshold:

================  ========  ==============================================================
kind              severity  rule (windows are local days unless said; see DetectorConfig)
================  ========  ==============================================================
``volume``        medium    records released today above ``volume_factor`` x the reference
                            and above ``volume_minimum``; the reference is the principal's
                            own median over its past active days, else its role's peers'
                            median over past days, else the peers' median today (no
                            reference: ``volume_factor`` x ``volume_minimum``)
``off_hours``     low       ``off_hours_minimum`` accesses outside ``working_hours`` and
                            outside the hours the principal itself worked on
                            ``baseline_min_days`` of the past ``baseline_days`` days
``misses``        medium    ``misses_per_hour`` searches that released nothing, in a clock
                            hour (enumeration of ID or phone numbers)
``browsing``      medium    ``browse_per_day`` persons read without a case ref and with no
                            incident by the same principal naming them within
                            ``browse_window_minutes`` before or after the read
``repeat_reads``  medium    one person read without a case ref in ``repeat_reads`` visits
                            (reads closer than ``repeat_gap_minutes`` are one visit)
``cross_region``  medium    ``cross_region`` accesses denied by ``guard.record_region`` or
                            ``guard.field_region`` (the record is in another region)
================  ========  ==============================================================

"Reads" are allowed ``read``/``reveal`` entries of the person collection and ``search`` entries
that released persons. A region is not in an audit entry; under the shipped guards an access
to another region's record is always *denied*, and the denial's reason names the deciding
policy, so the denial entry is the evidence (no principal store or record lookup needed).

At most one alert per (kind, principal, local day). Summaries hold counts and fixed text.

**State.** Tallies are ``guard_counters`` rows with metrics prefixed ``detect:`` (those ending
``:day`` are kept as baselines); the position and the browse check's replay marks are
``guard_state`` rows. Each batch's tallies, alerts, alert claims (``detect:alerted:<kind>``)
and position commit in one transaction, so a crash repeats a batch but never an alert.
Pending browse checks and per-person visit counts live in memory (bounded): after a restart
the browse check replays the log from ``detect.browse_from`` (about ``browse_window_minutes``
of entries) and visit counts of the current day are re-read from the log's subject index.
**Several processes:** a lease row (``detect.lease``) lets one of them run the detectors; a
conditional update of the position keeps a stale runner from counting a batch twice.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import statistics
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from strongroom._periodic import Periodic
from strongroom.audit._entry import iso_ms, parse_ms
from strongroom.audit._log import AuditLog
from strongroom.audit._tables import audit_entries, audit_subjects
from strongroom.errors import StrongroomError
from strongroom.guard._alerts import Alert, AlertStore, evidence_of
from strongroom.guard._config import GuardConfig
from strongroom.guard._quota import DAY, HOUR, MINUTE, Quotas, _insert
from strongroom.guard._tables import guard_counters, guard_state

log = logging.getLogger("strongroom.guard")

KINDS: Final = ("volume", "off_hours", "misses", "browsing", "repeat_reads", "cross_region")
SEVERITY: Final = {k: "low" if k == "off_hours" else "medium" for k in KINDS}
#: entries read per transaction
BATCH: Final = 5000
#: entry indices in an alert's evidence at most
EVIDENCE_MAX: Final = 50
#: how late an entry may be sequenced: a browse check waits this long past its window
SEQUENCING_LAG_MS: Final = 5 * MINUTE
#: the lease of the one process that runs the detectors
LEASE_MS: Final = 60_000
#: bounds of the in-memory state (beyond them the oldest items are dropped, not alerted)
PENDING_MAX: Final = 100_000
VISITS_MAX: Final = 200_000

_POSITION, _BROWSE_FROM, _BROWSE_DONE, _LEASE = (
    "detect.position",
    "detect.browse_from",
    "detect.browse_done",
    "detect.lease",
)
#: "not yet known": set to the time of the first entry processed after a restore
_UNKNOWN: Final = 2**62
_REGION_POLICIES: Final = ("guard.record_region", "guard.field_region")
_ACCESS: Final = frozenset({"search", "read", "reveal", "create", "update", "delete", "export"})


@dataclass(frozen=True, slots=True)
class _Seen:
    """What the detectors use of one entry (no record contents are in an entry anyway)."""

    index: int
    at: int
    actor: str
    role: str
    action: str
    collection: str
    outcome: str
    case_ref: str | None
    records: int
    subjects: frozenset[str]
    reason: str
    #: records a search matched but did not release (withheld by policy, protected)
    unreleased: int = 0

    @classmethod
    def of(cls, index: int, doc: dict[str, Any]) -> _Seen:
        actor, purpose = doc.get("actor") or {}, doc.get("purpose") or {}
        got = doc.get("detail")
        detail: dict[str, Any] = got if isinstance(got, dict) else {}
        unreleased = 0
        for k in ("withheld", "protected"):
            v = detail.get(k)
            if type(v) is int and v > 0:
                unreleased += v
        return cls(
            index,
            parse_ms(doc.get("time")) or 0,
            str(actor.get("id", "")),
            str(actor.get("role", "")),
            str(doc.get("action", "")),
            str(doc.get("collection", "")),
            str(doc.get("outcome", "")),
            purpose.get("case_ref") or None,
            len(doc.get("records") or ()),
            frozenset(doc.get("subjects") or ()),
            str(detail.get("reason", "")),
            unreleased,
        )

    @property
    def person_read(self) -> bool:
        """Persons released without a case ref (the browse and repeat checks' reads)."""
        return (
            self.outcome == "allowed"
            and self.collection == "person"
            and self.case_ref is None
            and bool(self.subjects)
            and (
                self.action in ("read", "reveal") or (self.action == "search" and self.records > 0)
            )
        )

    @property
    def miss(self) -> bool:
        """A search that matched nothing (not even a withheld or protected record)."""
        return (
            self.action == "search"
            and self.outcome == "allowed"
            and not self.records
            and not self.unreleased
        )

    @property
    def incident_write(self) -> bool:
        return (
            self.outcome == "allowed"
            and self.collection == "incident"
            and self.action in ("create", "update")
        )


@dataclass(slots=True)
class _Pending:
    """A read waiting for an incident that explains it."""

    seen: _Seen
    explained: bool = False


@dataclass(slots=True)
class _Visits:
    """Visits of one person by one principal on one day."""

    day: int
    count: int = 0
    last: int | None = None
    indices: list[int] = field(default_factory=list)


@dataclass
class _Batch:
    """What one batch adds: counter increments, bit masks, alert candidates, evidence."""

    counts: dict[tuple[str, str, int], int] = field(default_factory=dict)
    masks: dict[tuple[str, int], int] = field(default_factory=dict)
    #: alerts found without a counter (repeat reads): (kind, principal, day) -> (count,
    #: evidence)
    direct: dict[tuple[str, str, int], tuple[int, list[int]]] = field(default_factory=dict)

    def bump(self, principal: str, metric: str, window: int, n: int = 1) -> None:
        key = (principal, metric, window)
        self.counts[key] = self.counts.get(key, 0) + n


class Detectors:
    """The behavioural rules (see the module docstring). Not thread-safe: one runner."""

    def __init__(
        self,
        audit: AuditLog,
        alerts: AlertStore,
        config: GuardConfig,
        engine: sa.Engine,
        *,
        clock: Callable[[], datetime] | None = None,
        principals: Any = None,
    ) -> None:
        self.audit = audit
        self.alerts = alerts
        self.config = config
        self.engine = engine
        #: a PrincipalStore: when given, service accounts are exempt from the working hours
        self.principals = principals
        self._clock = clock or (lambda: datetime.now(UTC))
        #: the quotas' windows and counter upsert (day windows start at local midnight)
        self._quotas = Quotas(config.timezone_offset_hours)
        self._offset = config.timezone_offset_hours * HOUR
        self._tag = 1 + int.from_bytes(os.urandom(2), "big") % 1023  # 0: released
        self._reset()

    # -- state ----------------------------------------------------------------------------
    def _reset(self) -> None:
        """Forget everything in memory; the next run restores it from the database and log."""
        self._fresh = True
        self._position = 0
        self._pending: deque[_Pending] = deque()
        self._pending_of: dict[str, deque[_Pending]] = {}
        self._incidents: dict[str, deque[_Seen]] = {}
        self._visits: dict[tuple[str, str], _Visits] = {}
        #: persons already counted as browsed per (principal, day)
        self._browsed: dict[tuple[str, int], set[str]] = {}
        self._evidence: dict[tuple[str, str, int], deque[int]] = {}
        self._hours: dict[tuple[str, int], int] = {}
        self._peers: dict[tuple[str, int], dict[str, list[int]]] = {}
        self._service: dict[str, bool] = {}
        #: memory has seen every entry since this time (ms) and from this index
        self._complete_since = 0
        self._watermark = 0

    def _state(self, conn: sa.Connection) -> dict[str, int]:
        rows = conn.execute(sa.select(guard_state.c.name, guard_state.c.value)).fetchall()
        return {str(n): int(v) for n, v in rows if str(n).startswith("detect.")}

    def _restore(self) -> None:
        """Load the position; replay the browse check's window of the log (no counting)."""
        with self.engine.connect() as conn:
            state = self._state(conn)
        self._position = state.get(_POSITION, 0)
        done = state.get(_BROWSE_DONE, self._position)
        start = min(state.get(_BROWSE_FROM, self._position), done)
        for logged in self.audit.entries(start, self._position):
            seen = _Seen.of(logged.index, logged.json())
            self._watermark = max(self._watermark, seen.at)
            if self._watched(seen):
                self._browse(seen, replay=seen.index < done)
        # visit counts and evidence of days before the next entry are re-read from the log
        self._complete_since = _UNKNOWN if self._position else 0
        self._fresh = False

    # -- time -----------------------------------------------------------------------------
    def _day(self, at: int) -> int:
        return self._quotas.window(at, DAY)

    def _hour_of_day(self, at: int) -> int:
        return (at + self._offset) // HOUR % 24

    def _in_hours(self, hour: int) -> bool:
        start, end = self.config.detectors.working_hours
        return start <= hour < end if start <= end else (hour >= start or hour < end)

    # -- running --------------------------------------------------------------------------
    def run_once(self) -> list[Alert]:
        """Process every entry sequenced since the saved position; return the new alerts."""
        if not self.config.enabled or not self._lease():
            return []
        try:
            if self._fresh:
                self._restore()
            raised: list[Alert] = []
            while True:
                batch = list(self.audit.entries(self._position, self._position + BATCH))
                if not batch:
                    break
                raised += self._process([_Seen.of(lg.index, lg.json()) for lg in batch])
            # the log is drained: once nothing waits to be sequenced either, the clock decides
            now = int(self._clock().timestamp() * 1000) - SEQUENCING_LAG_MS
            if self._pending and now > self._watermark and self.audit.pending() == 0:
                raised += self._process([], decide_at=now)
            return raised
        except _Stale:
            self._reset()  # another runner moved on: restore from its state next time
            return []
        except (StrongroomError, SQLAlchemyError):
            self._reset()  # memory may be ahead of the database: restore on the next run
            raise

    def _lease(self) -> bool:
        """Hold (or take over an expired) lease: one process runs the detectors."""
        now = int(time.time() * 1000)
        value = (now + LEASE_MS) * 1024 + self._tag
        try:
            with self.engine.begin() as conn:
                row = conn.execute(
                    sa.select(guard_state.c.value).where(guard_state.c.name == _LEASE)
                ).first()
                if row is None:
                    conn.execute(guard_state.insert().values(name=_LEASE, value=value))
                    return True
                held = int(row.value)
                if held % 1024 != self._tag and held // 1024 > now:
                    return False
                done = conn.execute(
                    guard_state.update()
                    .where(guard_state.c.name == _LEASE, guard_state.c.value == held)
                    .values(value=value)
                )
                if done.rowcount != 1:
                    return False
        except IntegrityError:
            return False
        if held % 1024 != self._tag:
            self._reset()  # another process ran meanwhile: our memory is stale
        return True

    def release(self) -> None:
        """Give the lease up (at shutdown), so that another process takes over at once."""
        t = guard_state
        with self.engine.begin() as conn:
            row = conn.execute(sa.select(t.c.value).where(t.c.name == _LEASE)).first()
            if row is not None and int(row.value) % 1024 == self._tag:
                conn.execute(
                    t.update().where(t.c.name == _LEASE, t.c.value == row.value).values(value=0)
                )

    def _watched(self, seen: _Seen) -> bool:
        return seen.role in self.config.detectors.roles and bool(seen.actor)

    # -- one batch ------------------------------------------------------------------------
    def _process(self, entries: list[_Seen], decide_at: int | None = None) -> list[Alert]:
        b = _Batch()
        if entries and self._complete_since == _UNKNOWN:
            self._complete_since = entries[0].at
        # an entry stamped in the future (a skewed clock) must not decide browse checks early
        cap = int(self._clock().timestamp() * 1000) + SEQUENCING_LAG_MS
        for seen in entries:
            self._watermark = max(self._watermark, min(seen.at, cap))
            if not self._watched(seen):
                continue
            p, day = seen.actor, self._day(seen.at)
            if seen.outcome == "allowed" and seen.action in ("search", "read", "reveal"):
                if seen.records:
                    b.bump(p, f"detect:rel:{seen.role[:17]}:day", day, seen.records)
                    self._note("volume", p, day, seen.index)
                if seen.miss:
                    b.bump(p, "detect:misses", seen.at // HOUR * HOUR)
                    self._note("misses", p, day, seen.index)
            if seen.action in _ACCESS:
                hour = self._hour_of_day(seen.at)
                if seen.outcome == "allowed":
                    key = (p, day)
                    b.masks[key] = b.masks.get(key, 0) | (1 << hour)
                if not self._in_hours(hour) and not self._usual_hour(p, day, hour):
                    b.bump(p, "detect:off_hours", day)
                    self._note("off_hours", p, day, seen.index)
            if seen.outcome == "denied" and any(x in seen.reason for x in _REGION_POLICIES):
                b.bump(p, "detect:cross_region", day)
                self._note("cross_region", p, day, seen.index)
            if seen.person_read:
                self._visit(seen, b)
            self._browse(seen)
        self._decide(b, decide_at if decide_at is not None else self._watermark)
        position = entries[-1].index + 1 if entries else self._position
        alerts = self._commit(b, position)
        self._position = position
        self._prune()
        return alerts

    def _note(self, kind: str, principal: str, day: int, index: int) -> None:
        key = (kind, principal, day)
        got = self._evidence.get(key)
        if got is None:
            got = self._evidence[key] = deque(maxlen=EVIDENCE_MAX)
        got.append(index)

    def _usual_hour(self, principal: str, day: int, hour: int) -> bool:
        """Whether the principal worked this hour on enough past days, or is a service."""
        if self.principals is not None:
            if principal not in self._service:
                try:
                    self._service[principal] = self.principals.get(principal).kind == "service"
                except StrongroomError:
                    self._service[principal] = False
            if self._service[principal]:
                return True
        cfg = self.config.detectors
        mask = self._hours.get((principal, day))
        if mask is None:
            t = guard_counters
            with self.engine.connect() as conn:
                rows = conn.execute(
                    sa.select(t.c.count).where(
                        t.c.principal_id == principal,
                        t.c.metric == "detect:hours:day",
                        t.c.window >= day - cfg.baseline_days * DAY,
                        t.c.window < day,
                    )
                ).fetchall()
            days = [int(r[0]) for r in rows]
            mask = sum(
                1 << h for h in range(24) if sum(d >> h & 1 for d in days) >= cfg.baseline_min_days
            )
            self._hours[(principal, day)] = mask
        return bool(mask >> hour & 1)

    # -- repeated reads -------------------------------------------------------------------
    def _visit(self, seen: _Seen, b: _Batch) -> None:
        cfg = self.config.detectors
        day, gap = self._day(seen.at), cfg.repeat_gap_minutes * MINUTE
        for subject in seen.subjects:
            key = (seen.actor, subject)
            v = self._visits.get(key)
            if v is None or v.day != day:
                if len(self._visits) >= VISITS_MAX:
                    self._visits.clear()
                    self._complete_since = seen.at
                v = self._visits[key] = _Visits(day)
                if day < self._complete_since:
                    for earlier in self._earlier_reads(seen, subject, day):
                        self._count_visit(v, earlier, gap)
            if self._count_visit(v, seen, gap) and v.count >= cfg.repeat_reads:
                k = ("repeat_reads", seen.actor, day)
                if k not in b.direct or b.direct[k][0] < v.count:
                    b.direct[k] = (v.count, list(v.indices))

    @staticmethod
    def _count_visit(v: _Visits, seen: _Seen, gap: int) -> bool:
        if v.last is not None and seen.at - v.last < gap:
            return False
        v.count += 1
        v.last = seen.at
        if len(v.indices) < EVIDENCE_MAX:
            v.indices.append(seen.index)
        return True

    def _earlier_reads(self, seen: _Seen, subject: str, day: int) -> list[_Seen]:
        """This day's reads of ``subject`` by the same principal before ``seen`` (from the
        log's subject index: memory does not hold them after a restart)."""
        e, s = audit_entries.c, audit_subjects.c
        q = (
            sa.select(e.idx, e.entry)
            .join(audit_subjects, s.idx == e.idx)
            .where(
                s.subject == base64.b64decode(subject),
                e.actor == seen.actor[:80],
                e.at >= day,
                e.idx < seen.index,
            )
            .order_by(e.idx)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(q).fetchall()
        out = [_Seen.of(int(r.idx), json.loads(r.entry)) for r in rows]
        return [x for x in out if x.person_read and x.role == seen.role and x.actor == seen.actor]

    # -- browsing -------------------------------------------------------------------------
    def _browse(self, seen: _Seen, *, replay: bool = False) -> None:
        """Track reads waiting for an explaining incident, and incidents that explain."""
        window = self.config.detectors.browse_window_minutes * MINUTE
        p = seen.actor
        if seen.incident_write and seen.subjects:
            incidents = self._incidents.setdefault(p, deque(maxlen=5000))
            incidents.append(seen)
            for pending in self._pending_of.get(p, ()):
                near = abs(pending.seen.at - seen.at) <= window
                if near and pending.seen.subjects & seen.subjects:
                    pending.explained = True
        elif seen.person_read and not replay:
            explained = any(
                abs(i.at - seen.at) <= window and i.subjects & seen.subjects
                for i in self._incidents.get(p, ())
            )
            if not explained:
                pending = _Pending(seen)
                self._pending.append(pending)
                self._pending_of.setdefault(p, deque()).append(pending)

    def _decide(self, b: _Batch, now: int) -> None:
        """Reads whose window has passed (by the log's time, or the clock once the log is
        drained) without an explaining incident count as browsing; in index order."""
        window = self.config.detectors.browse_window_minutes * MINUTE
        dropped = 0
        while self._pending:
            head = self._pending[0]
            overflow = len(self._pending) > PENDING_MAX
            if not (head.explained or head.seen.at + window < now or overflow):
                break
            self._pending.popleft()
            seen = head.seen
            mine = self._pending_of[seen.actor]
            mine.popleft()
            if not mine:
                del self._pending_of[seen.actor]
            if head.explained or overflow:
                dropped += overflow
                continue
            day = self._day(seen.at)
            browsed = self._browsed.setdefault((seen.actor, day), set())
            new = seen.subjects - browsed
            if new:
                browsed.update(new)
                b.bump(seen.actor, "detect:browse", day, len(new))
                self._note("browsing", seen.actor, day, seen.index)
        if dropped:
            log.warning("browse check: %d pending reads dropped (over %d)", dropped, PENDING_MAX)
        oldest = self._pending[0].seen.at if self._pending else now
        keep = min(oldest, self._watermark) - window
        for p in list(self._incidents):
            incidents = self._incidents[p]
            while incidents and incidents[0].at < keep:
                incidents.popleft()
            if not incidents:
                del self._incidents[p]

    def _browse_marks(self, position: int) -> tuple[int, int]:
        done = self._pending[0].seen.index if self._pending else position
        start = min([done, *(i[0].index for i in self._incidents.values() if i)])
        return start, done

    # -- commit ---------------------------------------------------------------------------
    def _commit(self, b: _Batch, position: int) -> list[Alert]:
        cfg = self.config.detectors
        start, done = self._browse_marks(position)
        raised: list[Alert] = []
        with self.engine.begin() as conn:
            if not self._claim(conn, position):
                raise _Stale()
            bump = self._quotas._bump  # the quotas' counter upsert (same package)
            totals = {key: bump(conn, *key, n) for key, n in sorted(b.counts.items())}
            for (p, day), mask in sorted(b.masks.items()):
                self._or(conn, p, "detect:hours:day", day, mask)
            self._set(conn, _BROWSE_FROM, start)
            self._set(conn, _BROWSE_DONE, done)
            found: dict[tuple[str, str, int], tuple[int, int, dict[str, Any]]] = {}
            for (p, metric, window), total in totals.items():
                kind, threshold, extra = self._threshold(conn, p, metric, window, total)
                if kind is None or total < threshold:
                    continue
                key = (kind, p, self._day(window))
                if key not in found:
                    found[key] = (total, threshold, extra)
            for (kind, p, day), (count, indices) in b.direct.items():
                found.setdefault((kind, p, day), (count, cfg.repeat_reads, {}))
                self._evidence[(kind, p, day)] = deque(indices, maxlen=EVIDENCE_MAX)
            for (kind, p, day), (count, threshold, extra) in sorted(found.items()):
                if not self._claim_alert(conn, kind, p, day):
                    continue
                evidence = evidence_of(
                    entries=self._indices(conn, kind, p, day, position),
                    day=iso_ms(datetime.fromtimestamp(day / 1000, UTC)),
                    count=count,
                    threshold=threshold,
                    **extra,
                )
                raised.append(
                    self.alerts.raise_alert(
                        kind, SEVERITY[kind], p, _summary(kind, count, threshold), evidence, conn
                    )
                )
        return raised

    def _claim(self, conn: sa.Connection, position: int) -> bool:
        """Move the saved position from ours to ``position`` (false: another runner moved
        it; this batch is not counted)."""
        t = guard_state
        done = conn.execute(
            t.update()
            .where(t.c.name == _POSITION, t.c.value == self._position)
            .values(value=position)
        )
        if done.rowcount == 1:
            return True
        if conn.execute(sa.select(t.c.value).where(t.c.name == _POSITION)).first() is not None:
            return False
        conn.execute(t.insert().values(name=_POSITION, value=position))
        return self._position == 0

    @staticmethod
    def _set(conn: sa.Connection, name: str, value: int) -> None:
        t = guard_state
        if conn.execute(t.update().where(t.c.name == name).values(value=value)).rowcount == 0:
            conn.execute(t.insert().values(name=name, value=value))

    @staticmethod
    def _or(conn: sa.Connection, principal: str, metric: str, window: int, mask: int) -> None:
        t = guard_counters
        conn.execute(
            _insert(conn)(t)
            .values(principal_id=principal[:128], metric=metric, window=window, count=mask)
            .on_conflict_do_update(
                index_elements=["principal_id", "metric", "window"],
                set_={"count": t.c.count.op("|")(mask)},
            )
        )

    def _claim_alert(self, conn: sa.Connection, kind: str, principal: str, day: int) -> bool:
        """One alert per (kind, principal, day): the first claim wins."""
        t = guard_counters
        stmt = (
            _insert(conn)(t)
            .values(principal_id=principal[:128], metric=f"detect:alerted:{kind}", window=day)
            .values(count=1)
            .on_conflict_do_nothing()
            .returning(t.c.count)
        )
        return conn.execute(stmt).first() is not None

    def _threshold(
        self, conn: sa.Connection, p: str, metric: str, window: int, total: int
    ) -> tuple[str | None, int, dict[str, Any]]:
        cfg = self.config.detectors
        if metric == "detect:misses":
            return "misses", cfg.misses_per_hour, {"hour": iso_ms(_dt(window))}
        if metric == "detect:off_hours":
            return "off_hours", cfg.off_hours_minimum, {"working_hours": list(cfg.working_hours)}
        if metric == "detect:cross_region":
            return "cross_region", cfg.cross_region, {}
        if metric == "detect:browse":
            return "browsing", cfg.browse_per_day, {}
        if metric.startswith("detect:rel:") and total > cfg.volume_minimum:
            basis, reference = self._reference(conn, p, metric, window)
            if reference is None:
                return "volume", int(cfg.volume_factor * cfg.volume_minimum) + 1, {"basis": basis}
            threshold = max(cfg.volume_minimum, int(cfg.volume_factor * reference)) + 1
            return "volume", threshold, {"basis": basis, "reference": reference}
        return None, 0, {}

    def _reference(
        self, conn: sa.Connection, p: str, metric: str, day: int
    ) -> tuple[str, int | None]:
        """The principal's own daily median, else its peers' (past days, else today)."""
        cfg = self.config.detectors
        t = guard_counters
        past = self._peers.get((metric, day))
        if past is None:
            past = {}
            rows = conn.execute(
                sa.select(t.c.principal_id, t.c.count).where(
                    t.c.metric == metric,
                    t.c.window >= day - cfg.baseline_days * DAY,
                    t.c.window < day,
                )
            )
            for who, count in rows:
                past.setdefault(str(who), []).append(int(count))
            self._peers[(metric, day)] = past
        own = past.get(p, [])
        if len(own) >= cfg.baseline_min_days:
            return "own", int(statistics.median(own))
        peers = [c for who, counts in past.items() if who != p for c in counts]
        if len(peers) >= cfg.baseline_min_days:
            return "peers", int(statistics.median(peers))
        today = [
            int(c)
            for (c,) in conn.execute(
                sa.select(t.c.count).where(
                    t.c.metric == metric, t.c.window == day, t.c.principal_id != p, t.c.count > 0
                )
            )
        ]
        if len(today) >= cfg.baseline_min_days:
            return "peers_today", int(statistics.median(today))
        return "none", None

    def _indices(
        self, conn: sa.Connection, kind: str, p: str, day: int, position: int
    ) -> list[int]:
        """The evidence: entries noted in memory, topped up from the log after a restart."""
        noted = list(self._evidence.get((kind, p, day), ()))
        if len(noted) >= EVIDENCE_MAX or day >= self._complete_since:
            return noted
        if kind not in ("misses", "off_hours", "cross_region", "volume"):
            return noted
        e = audit_entries.c
        rows = conn.execute(
            sa.select(e.idx, e.entry)
            .where(e.actor == p[:80], e.at >= day, e.at < day + DAY, e.idx < position)
            .order_by(e.idx.desc())
            .limit(20 * EVIDENCE_MAX)
        ).fetchall()
        for row in rows:
            if len(noted) >= EVIDENCE_MAX:
                break
            seen = _Seen.of(int(row.idx), json.loads(row.entry))
            if seen.index not in noted and self._matches(kind, seen):
                noted.append(seen.index)
        return noted

    def _matches(self, kind: str, seen: _Seen) -> bool:
        if not self._watched(seen):
            return False
        if kind == "misses":
            return seen.miss
        if kind == "volume":
            return (
                seen.outcome == "allowed"
                and seen.records > 0
                and seen.action in ("search", "read", "reveal")
            )
        if kind == "cross_region":
            return seen.outcome == "denied" and any(x in seen.reason for x in _REGION_POLICIES)
        hour = self._hour_of_day(seen.at)
        return seen.action in _ACCESS and not self._in_hours(hour)

    def _prune(self) -> None:
        """Drop memory of days before yesterday (by the log's time)."""
        cut = self._day(self._watermark) - DAY
        for key in [k for k in self._evidence if k[2] < cut]:
            del self._evidence[key]
        for hkey in [k for k in self._hours if k[1] < cut]:
            del self._hours[hkey]
        for pkey in [k for k in self._peers if k[1] < cut]:
            del self._peers[pkey]
        for vkey in [k for k, v in self._visits.items() if v.day < cut]:
            del self._visits[vkey]
        for bkey in [k for k in self._browsed if k[1] < cut]:
            del self._browsed[bkey]


class _Stale(StrongroomError):
    """Another runner moved the detectors' position: this one's memory is out of date."""


def _dt(at: int) -> datetime:
    return datetime.fromtimestamp(at / 1000, UTC)


def _summary(kind: str, count: int, threshold: int) -> str:
    what = {
        "volume": "records released today, far above the baseline",
        "off_hours": "accesses outside working hours today",
        "misses": "searches without a hit in one hour (enumeration?)",
        "browsing": "persons read today with no case and no follow-up incident",
        "repeat_reads": "reads of one person today without a case",
        "cross_region": "attempts on another region's records today",
    }[kind]
    return f"{count} {what} (threshold {threshold})"


class DetectorRunner(Periodic):
    """Runs :meth:`Detectors.run_once` every ``interval`` seconds in a daemon thread.
    Failures are logged (by type) and retried on the next tick."""

    name = "guard-detectors"
    retried = (StrongroomError, SQLAlchemyError)

    def __init__(
        self,
        detectors: Detectors,
        *,
        interval: float = 5.0,
        maintenance: Callable[[], None] | None = None,
        maintenance_every: float = 3600.0,
    ) -> None:
        super().__init__(interval, log)
        self.detectors = detectors
        #: called at the first tick and then every ``maintenance_every`` seconds (pruning
        #: old quota counters)
        self._maintenance = maintenance
        self._maintenance_every = maintenance_every
        self._last_maintenance = -1e18

    def tick(self) -> None:
        now = time.monotonic()
        if (
            self._maintenance is not None
            and now - self._last_maintenance >= self._maintenance_every
        ):
            self._last_maintenance = now
            self._maintenance()
        self.detectors.run_once()

    def stop(self) -> None:
        super().stop()
        try:
            self.detectors.release()
        except (StrongroomError, SQLAlchemyError) as exc:
            log.warning("guard detectors: the lease was not released (%s)", type(exc).__name__)
