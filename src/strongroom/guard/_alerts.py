"""Alerts: stored, listed, reviewed, written to the log and sent to a webhook.

An alert names a principal, a kind (``quota``, ``honeytoken``, ``break_glass``, or a
detector's name), a severity (``low``, ``medium``, ``high``), a one-line summary and its
evidence (audit entry indices, request ids, quota names — never record contents or personal
data: summaries are built from fixed text and ids only). Every alert, and every break-glass
access, is in the **review queue** (state ``open``) until a supervisor or auditor
acknowledges it with a note or escalates it; the note is free text, stored sealed.

Delivery: :class:`WebhookSender` (a thread in each API process) POSTs each undelivered alert
as JSON to ``[guard] webhook_url``, with up to ``webhook_attempts`` tries backing off 1, 2,
4 … seconds. Several processes share the queue through the database: a sender claims an
alert by moving its ``next_attempt`` forward with a conditional update, so each try is made
by one process.
"""

from __future__ import annotations

import base64
import builtins
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import httpx
import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from strongroom.audit._entry import open_justification, seal_justification
from strongroom.errors import NotFoundError, StoreError, ValidationError
from strongroom.guard._tables import guard_alerts

log = logging.getLogger("strongroom.guard")

SEVERITIES: Final = ("low", "medium", "high")
STATES: Final = ("open", "acknowledged", "escalated")
REVIEW_ACTIONS: Final = {"acknowledge": "acknowledged", "escalate": "escalated"}
#: a claimed delivery is retried by another process after this long
_LEASE_MS: Final = 30_000


def ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def from_ms(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, UTC)


@dataclass(frozen=True, slots=True)
class Alert:
    id: int
    created_at: datetime
    kind: str
    severity: str
    principal: str
    summary: str
    evidence: dict[str, Any]
    state: str
    reviewed_by: str | None = None
    reviewed_at: datetime | None = None
    delivered: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "created_at": self.created_at.isoformat(timespec="milliseconds"),
            "kind": self.kind,
            "severity": self.severity,
            "principal": self.principal,
            "summary": self.summary,
            "evidence": self.evidence,
            "state": self.state,
            "reviewed_by": self.reviewed_by,
            "reviewed_at": (
                self.reviewed_at.isoformat(timespec="milliseconds") if self.reviewed_at else None
            ),
            "delivered": self.delivered,
        }


def _alert(row: Any) -> Alert:
    return Alert(
        id=int(row.id),
        created_at=from_ms(row.created_at),
        kind=row.kind,
        severity=row.severity,
        principal=row.principal_id,
        summary=row.summary,
        evidence=json.loads(row.evidence),
        state=row.state,
        reviewed_by=row.reviewed_by,
        reviewed_at=from_ms(row.reviewed_at) if row.reviewed_at is not None else None,
        delivered=row.delivered_at is not None,
    )


class AlertStore:
    """Alerts in the record database (table ``guard_alerts``)."""

    def __init__(
        self,
        engine: sa.Engine,
        seal_key: bytes,
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.engine = engine
        self._key = seal_key
        self._clock = clock or (lambda: datetime.now(UTC))
        #: called with each new alert (e.g. to wake the webhook sender)
        self.listeners: list[Callable[[Alert], None]] = []

    def raise_alert(
        self,
        kind: str,
        severity: str,
        principal: str,
        summary: str,
        evidence: Mapping[str, Any],
        conn: sa.Connection | None = None,
    ) -> Alert:
        """Store a new alert (state ``open``) and write it to the log."""
        if severity not in SEVERITIES:
            raise ValueError(f"unknown severity {severity!r}")
        now = ms(self._clock())
        values: dict[str, Any] = {
            "created_at": now,
            "kind": kind[:32],
            "severity": severity,
            "principal_id": principal[:128],
            "summary": summary[:256],
            "evidence": json.dumps(dict(evidence), sort_keys=True, separators=(",", ":")),
            "state": "open",
            "attempts": 0,
            "next_attempt": _now_ms(),  # delivery runs on the wall clock
        }
        insert = guard_alerts.insert().values(**values)
        try:
            if conn is not None:
                new_id = conn.execute(insert).inserted_primary_key
            else:
                with self.engine.begin() as own:
                    new_id = own.execute(insert).inserted_primary_key
        except SQLAlchemyError as exc:
            raise StoreError("the alert could not be stored") from exc
        if new_id is None:  # pragma: no cover - every supported dialect returns it
            raise StoreError("the alert could not be stored")
        alert = Alert(
            id=int(new_id[0]),
            created_at=from_ms(now),
            kind=str(values["kind"]),
            severity=severity,
            principal=str(values["principal_id"]),
            summary=str(values["summary"]),
            evidence=dict(evidence),
            state="open",
        )
        log.warning(
            "alert %d %s severity=%s principal=%s: %s",
            alert.id,
            alert.kind,
            alert.severity,
            alert.principal,
            alert.summary,
        )
        for listener in self.listeners:
            listener(alert)
        return alert

    def get(self, alert_id: int) -> Alert:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(guard_alerts).where(guard_alerts.c.id == alert_id)).first()
        if row is None:
            raise NotFoundError(f"no alert {alert_id}")
        return _alert(row)

    def list(
        self,
        *,
        state: str | None = None,
        kind: str | None = None,
        severity: str | None = None,
        principal: str | None = None,
        since: datetime | None = None,
        after: int | None = None,
        limit: int = 50,
    ) -> list[Alert]:
        """Alerts matching every filter given, oldest first, ids greater than ``after``."""
        if state is not None and state not in STATES:
            raise ValidationError.single("state", f"must be one of {', '.join(STATES)}")
        if severity is not None and severity not in SEVERITIES:
            raise ValidationError.single("severity", f"must be one of {', '.join(SEVERITIES)}")
        t = guard_alerts
        q = sa.select(t).order_by(t.c.id).limit(limit)
        if state is not None:
            q = q.where(t.c.state == state)
        if kind is not None:
            q = q.where(t.c.kind == kind)
        if severity is not None:
            q = q.where(t.c.severity == severity)
        if principal is not None:
            q = q.where(t.c.principal_id == principal)
        if since is not None:
            q = q.where(t.c.created_at >= ms(since))
        if after is not None:
            q = q.where(t.c.id > after)
        with self.engine.connect() as conn:
            return [_alert(r) for r in conn.execute(q)]

    def review(self, alert_id: int, action: str, note: str, reviewer: str) -> Alert:
        """Acknowledge (with a note) or escalate an alert; the note is stored sealed."""
        state = REVIEW_ACTIONS.get(action)
        if state is None:
            raise ValidationError.single("action", "must be acknowledge or escalate")
        if not isinstance(note, str) or not note.strip():
            raise ValidationError.single("note", "a review needs a note")
        if len(note) > 2000:
            raise ValidationError.single("note", "at most 2000 characters")
        current = self.get(alert_id)
        if current.principal == reviewer:
            raise ValidationError.single("id", "an alert about you is reviewed by someone else")
        if current.state != "open" and not (
            current.state == "acknowledged" and state == "escalated"
        ):
            raise ValidationError.single("action", f"the alert is already {current.state}")
        sealed = base64.b64encode(seal_justification(self._key, note.strip())).decode("ascii")
        with self.engine.begin() as conn:
            conn.execute(
                guard_alerts.update()
                .where(guard_alerts.c.id == alert_id)
                .values(
                    state=state,
                    reviewed_by=reviewer,
                    reviewed_at=ms(self._clock()),
                    review_note=sealed,
                )
            )
        return self.get(alert_id)

    def note_of(self, alert_id: int) -> str | None:
        """The review note, opened (for the reviewers' own tools; not served)."""
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(guard_alerts.c.review_note).where(guard_alerts.c.id == alert_id)
            ).first()
        if row is None or row.review_note is None:
            return None
        return open_justification(self._key, base64.b64decode(row.review_note))

    # -- delivery ---------------------------------------------------------------------------
    def due(self, now_ms: int, max_attempts: int, limit: int = 20) -> builtins.list[Alert]:
        """Undelivered alerts whose next try is due, each claimed for this process."""
        t = guard_alerts
        out: builtins.list[Alert] = []
        with self.engine.begin() as conn:
            rows = conn.execute(
                sa.select(t)
                .where(
                    t.c.delivered_at.is_(None),
                    t.c.next_attempt <= now_ms,
                    t.c.attempts < max_attempts,
                )
                .order_by(t.c.id)
                .limit(limit)
            ).fetchall()
            for row in rows:
                claimed = conn.execute(
                    t.update()
                    .where(t.c.id == row.id, t.c.next_attempt == row.next_attempt)
                    .values(next_attempt=now_ms + _LEASE_MS)
                ).rowcount
                if claimed == 1:
                    out.append(_alert(row))
        return out

    def delivered(self, alert_id: int, now_ms: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                guard_alerts.update()
                .where(guard_alerts.c.id == alert_id)
                .values(delivered_at=now_ms, attempts=guard_alerts.c.attempts + 1)
            )

    def failed(self, alert_id: int, now_ms: int) -> int:
        """Note a failed try; the next one is due after 1, 2, 4 … seconds. Returns the
        number of tries so far."""
        with self.engine.begin() as conn:
            row = conn.execute(
                sa.select(guard_alerts.c.attempts).where(guard_alerts.c.id == alert_id)
            ).first()
            attempts = (int(row.attempts) if row else 0) + 1
            conn.execute(
                guard_alerts.update()
                .where(guard_alerts.c.id == alert_id)
                .values(attempts=attempts, next_attempt=now_ms + 1000 * 2 ** (attempts - 1))
            )
        return attempts


class WebhookSender:
    """Sends alerts to the webhook from a background thread (see the module docstring)."""

    def __init__(
        self,
        alerts: AlertStore,
        url: str,
        *,
        attempts: int = 6,
        timeout: float = 5.0,
        poll: float = 1.0,
    ) -> None:
        self.alerts = alerts
        self.url = url
        self.attempts = attempts
        self._timeout = timeout
        self._poll = poll
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        alerts.listeners.append(lambda _a: self._wake.set())

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="strongroom-webhook", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(10)

    def send_due(self, client: httpx.Client) -> int:
        """One pass: try every due alert once. Returns how many were delivered."""
        sent = 0
        for alert in self.alerts.due(_now_ms(), self.attempts):
            try:
                r = client.post(self.url, json={"alert": alert.to_json()}, timeout=self._timeout)
                ok = 200 <= r.status_code < 300
            except httpx.HTTPError:
                ok = False
            if ok:
                self.alerts.delivered(alert.id, _now_ms())
                sent += 1
            else:
                tries = self.alerts.failed(alert.id, _now_ms())
                level = logging.ERROR if tries >= self.attempts else logging.WARNING
                log.log(
                    level, "alert %d: webhook try %d of %d failed", alert.id, tries, self.attempts
                )
        return sent

    def _run(self) -> None:
        with httpx.Client() as client:
            while not self._stop.is_set():
                try:
                    self.send_due(client)
                except (SQLAlchemyError, StoreError):  # the store is briefly unavailable
                    log.warning("alert delivery: the store is unavailable; retrying")
                self._wake.wait(self._poll)
                self._wake.clear()


def _now_ms() -> int:
    return int(time.time() * 1000)


def evidence_of(
    *,
    entries: Sequence[int] = (),
    requests: Sequence[str] = (),
    **extra: Any,
) -> dict[str, Any]:
    """An alert's evidence: audit entry indices, request ids, and small non-personal extras."""
    out: dict[str, Any] = {}
    if entries:
        out["entries"] = sorted(set(entries))
    if requests:
        out["requests"] = list(dict.fromkeys(requests))
    out.update(extra)
    return out
