"""Protected persons and grants: dual control over reading officials, public figures, staff
and protected witnesses.

A supervisor marks a person as protected (with a category and a reason, stored sealed). From
then on the person — and every incident that names them — is ``protected`` for the policy,
which forbids every read (``guard.protected_record``) unless the reader holds a **grant**:

1. the reader requests one, stating the purpose and case ref it will read under and a
   justification (sealed at rest);
2. a second principal with the ``approver`` role approves (or denies) it — never the
   requester;
3. the grant covers that principal, that person, that purpose (and case ref, when it names
   one) until it expires (``[guard] grant_minutes``, default 60).

A grant is checked on every access against the clock, so an expired grant is denied at once.
The grant's id is the audit entry's ``approval_ref``. Break-glass does not bypass it: a
protected person is exactly the case in which one insider's word must not be enough.
"""

from __future__ import annotations

import base64
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from strongroom._ids import ref_of
from strongroom.audit._entry import seal_justification
from strongroom.errors import ConflictError, FieldError, NotFoundError, ValidationError
from strongroom.guard._alerts import from_ms, ms
from strongroom.guard._tables import guard_grants, guard_protected

#: how long a process trusts its copy of the protected marks
CACHE_SECONDS: Final = 2.0
CATEGORIES: Final = ("official", "public_figure", "staff", "witness", "other")
GRANT_STATES: Final = ("pending", "approved", "denied", "revoked")


@dataclass(frozen=True, slots=True)
class Grant:
    id: str
    principal: str
    person: str
    purpose: str
    case_ref: str | None
    state: str
    requested_at: datetime
    approver: str | None = None
    decided_at: datetime | None = None
    expires_at: datetime | None = None

    def active(self, now: datetime) -> bool:
        return self.state == "approved" and self.expires_at is not None and now < self.expires_at

    def to_json(self, now: datetime) -> dict[str, Any]:
        def iso(d: datetime | None) -> str | None:
            return d.isoformat(timespec="seconds") if d else None

        return {
            "id": self.id,
            "principal": self.principal,
            "person": self.person,
            "purpose": self.purpose,
            "case_ref": self.case_ref,
            "state": "expired" if self.state == "approved" and not self.active(now) else self.state,
            "requested_at": iso(self.requested_at),
            "approver": self.approver,
            "decided_at": iso(self.decided_at),
            "expires_at": iso(self.expires_at),
        }


def _grant(row: Any) -> Grant:
    return Grant(
        id=row.id,
        principal=row.principal_id,
        person=ref_of(bytes(row.record_id)),
        purpose=row.purpose,
        case_ref=row.case_ref,
        state=row.state,
        requested_at=from_ms(row.requested_at),
        approver=row.approver_id,
        decided_at=from_ms(row.decided_at) if row.decided_at is not None else None,
        expires_at=from_ms(row.expires_at) if row.expires_at is not None else None,
    )


class Protection:
    """Protected marks and grants in the record database (see the module docstring)."""

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
        self._lock = threading.Lock()
        self._marked: frozenset[bytes] = frozenset()
        self._loaded = -1e9

    def _seal(self, text: str) -> str:
        return base64.b64encode(seal_justification(self._key, text)).decode("ascii")

    # -- marks -----------------------------------------------------------------------------
    def mark(self, record_id: bytes, category: str, reason: str, by: str) -> None:
        if category not in CATEGORIES:
            raise ValidationError.single("category", f"must be one of {', '.join(CATEGORIES)}")
        if not isinstance(reason, str) or not reason.strip() or len(reason) > 500:
            raise ValidationError.single("reason", "give a reason of 1-500 characters")
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    guard_protected.insert().values(
                        record_id=record_id,
                        note=self._seal(f"{category}\n{reason.strip()}"),
                        marked_by=by,
                        marked_at=ms(self._clock()),
                    )
                )
        except IntegrityError:
            raise ConflictError(FieldError("ref", "the person is already protected")) from None
        finally:
            self._forget()

    def unmark(self, record_id: bytes) -> None:
        with self.engine.begin() as conn:
            n = conn.execute(
                guard_protected.delete().where(guard_protected.c.record_id == record_id)
            ).rowcount
        self._forget()
        if not n:
            raise NotFoundError("the person is not protected")

    def protected(
        self, record_ids: Sequence[bytes], conn: sa.Connection | None = None
    ) -> set[bytes]:
        """Those of ``record_ids`` that are protected.

        Checked against a copy of every mark that this process re-reads when it is older than
        :data:`CACHE_SECONDS` (and at once after a mark or unmark here): a person protected
        through another API process is protected here within that time. Reading every mark
        is one small indexed scan; protected persons are few."""
        if not record_ids:
            return set()
        marked = self._marks(conn)
        return {rid for rid in record_ids if rid in marked}

    def _marks(self, conn: sa.Connection | None) -> frozenset[bytes]:
        with self._lock:
            if time.monotonic() - self._loaded < CACHE_SECONDS:
                return self._marked
        q = sa.select(guard_protected.c.record_id)
        if conn is not None:
            marks = frozenset(bytes(r.record_id) for r in conn.execute(q))
        else:
            with self.engine.connect() as own:
                marks = frozenset(bytes(r.record_id) for r in own.execute(q))
        with self._lock:
            self._marked, self._loaded = marks, time.monotonic()
        return marks

    def _forget(self) -> None:
        with self._lock:
            self._loaded = -1e9

    # -- grants ----------------------------------------------------------------------------
    def request(
        self,
        principal: str,
        record_id: bytes,
        purpose: str,
        case_ref: str | None,
        justification: str,
    ) -> Grant:
        if not isinstance(justification, str) or not justification.strip():
            raise ValidationError.single("justification", "a grant request needs a justification")
        if len(justification) > 1000:
            raise ValidationError.single("justification", "at most 1000 characters")
        if not self.protected([record_id]):
            raise ValidationError.single("person", "the person is not protected: no grant needed")
        gid = uuid.uuid4().hex
        with self.engine.begin() as conn:
            conn.execute(
                guard_grants.insert().values(
                    id=gid,
                    principal_id=principal,
                    record_id=record_id,
                    purpose=purpose,
                    case_ref=case_ref,
                    justification=self._seal(justification.strip()),
                    state="pending",
                    requested_at=ms(self._clock()),
                )
            )
        return self.get(gid)

    def get(self, grant_id: str) -> Grant:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(guard_grants).where(guard_grants.c.id == grant_id)).first()
        if row is None:
            raise NotFoundError("no such grant request")
        return _grant(row)

    def decide(self, grant_id: str, approver: str, *, approve: bool, minutes: int) -> Grant:
        """Approve (for ``minutes``) or deny a pending request; the approver is never the
        requester."""
        grant = self.get(grant_id)
        if grant.principal == approver:
            raise ValidationError.single("id", "a grant is approved by a second principal")
        if grant.state != "pending":
            raise ValidationError.single("id", f"the request is already {grant.state}")
        now = self._clock()
        values: dict[str, Any] = {
            "state": "approved" if approve else "denied",
            "approver_id": approver,
            "decided_at": ms(now),
        }
        if approve:
            values["expires_at"] = ms(now + timedelta(minutes=minutes))
        with self.engine.begin() as conn:
            n = conn.execute(
                guard_grants.update()
                .where(guard_grants.c.id == grant_id, guard_grants.c.state == "pending")
                .values(**values)
            ).rowcount
        if n != 1:
            raise ValidationError.single("id", "the request was decided meanwhile")
        return self.get(grant_id)

    def revoke(self, grant_id: str) -> Grant:
        with self.engine.begin() as conn:
            conn.execute(
                guard_grants.update()
                .where(guard_grants.c.id == grant_id, guard_grants.c.state == "approved")
                .values(state="revoked")
            )
        return self.get(grant_id)

    def grant_for(
        self,
        principal: str,
        record_ids: Sequence[bytes],
        purpose: str,
        case_ref: str | None,
        now: datetime,
        conn: sa.Connection | None = None,
    ) -> dict[bytes, str]:
        """record id -> id of an active grant covering ``principal`` reading it under
        ``purpose`` (and ``case_ref``, when the grant names one)."""
        if not record_ids:
            return {}
        t = guard_grants
        q = sa.select(t.c.id, t.c.record_id, t.c.case_ref).where(
            t.c.principal_id == principal,
            t.c.record_id.in_(list(dict.fromkeys(record_ids))),
            t.c.purpose == purpose,
            t.c.state == "approved",
            t.c.expires_at > ms(now),
        )
        out: dict[bytes, str] = {}

        def collect(c: sa.Connection) -> None:
            for row in c.execute(q):
                if row.case_ref is None or row.case_ref == case_ref:
                    out[bytes(row.record_id)] = row.id

        if conn is not None:
            collect(conn)
        else:
            with self.engine.connect() as own:
                collect(own)
        return out

    def list(
        self,
        *,
        state: str | None = None,
        principal: str | None = None,
        limit: int = 50,
    ) -> list[Grant]:
        if state is not None and state not in GRANT_STATES:
            raise ValidationError.single("state", f"must be one of {', '.join(GRANT_STATES)}")
        t = guard_grants
        q = sa.select(t).order_by(t.c.requested_at, t.c.id).limit(limit)
        if state is not None:
            q = q.where(t.c.state == state)
        if principal is not None:
            q = q.where(t.c.principal_id == principal)
        with self.engine.connect() as conn:
            return [_grant(r) for r in conn.execute(q)]
