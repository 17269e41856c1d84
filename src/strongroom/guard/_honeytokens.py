"""Honeytoken records: canary persons (with incidents) that no legitimate work ever touches.

:func:`plant` creates realistic persons — valid resident IDs with real address codes (the
synthetic generator's, from a fresh random seed, never a published one), plausible names,
phones from the vault's owned range (``[guard] honeytoken_phones``) — each named in one or
two synthetic incidents, written through the vault like any other record. Through the API
they cannot be told from real records: same collections, same fields, same indexes.

Which records are canaries is **not in the record database**. The key store holds, per
canary, HMAC-SHA256(service key ``honeytoken``, kind ‖ value) "marks" for its record id, its
resident ID and each phone (table ``honeytoken_marks``, migration ``k0002``). A database
administrator of the record database sees nothing; one of the key store sees 32-byte MACs
that cannot be matched to records without the root key. The resident-ID and phone marks let
leak tracing (``strongroom scan --vault``) recognise a canary in a leaked file.

Each canary is written with the same custodian ``create`` entry as any record the key
custodian writes (an import, a CLI ``put``), and there is no separate "honeytokens planted"
entry: the audit log shares the record database, and such an entry's time would let whoever
reads both list the canaries. The key store's marks carry the planting time for the custodian.
Residual risk, documented in docs/guard.md: someone who reads the record database *and* knows
when canaries were planted can still correlate creation times; plant them alongside an import.
"""

from __future__ import annotations

import hashlib
import hmac
import random
import secrets
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from strongroom.errors import StoreError, ValidationError
from strongroom.guard._tables import honeytoken_marks

#: the keyring service key the marks are keyed with
HONEYTOKEN_KEY: Final = "honeytoken"
KINDS: Final = ("record", "resident_id", "phone")
#: how long a process trusts its copy of the record marks (a canary planted by another
#: process is recognised within this)
CACHE_SECONDS: Final = 2.0


@dataclass(frozen=True, slots=True)
class Canary:
    """One planted canary person (what the planter learns; never stored in the clear)."""

    person_ref: str
    incident_refs: tuple[str, ...]


class Honeytokens:
    """The registry of canary marks in the key store (see the module docstring)."""

    def __init__(self, keys_engine: sa.Engine, key: bytes) -> None:
        self.engine = keys_engine
        self._key = key
        self._lock = threading.Lock()
        self._records: frozenset[bytes] = frozenset()
        self._loaded = -1e9

    def mark(self, kind: str, value: bytes | str) -> bytes:
        if kind not in KINDS:
            raise ValueError(f"unknown mark kind {kind!r}")
        data = value.encode("utf-8") if isinstance(value, str) else value
        return hmac.new(self._key, kind.encode() + b"\x00" + data, hashlib.sha256).digest()

    def register(self, marks: Iterable[tuple[str, bytes | str]], conn: sa.Connection) -> None:
        now = int(time.time() * 1000)
        rows = [
            {"mark": self.mark(kind, value), "kind": kind, "planted_at": now}
            for kind, value in marks
        ]
        if rows:
            conn.execute(honeytoken_marks.insert(), rows)
        with self._lock:
            self._loaded = -1e9  # re-read on next use

    def _record_marks(self) -> frozenset[bytes]:
        with self._lock:
            if time.monotonic() - self._loaded < CACHE_SECONDS:
                return self._records
        try:
            with self.engine.connect() as conn:
                rows = conn.execute(
                    sa.select(honeytoken_marks.c.mark).where(honeytoken_marks.c.kind == "record")
                ).fetchall()
        except SQLAlchemyError as exc:
            raise StoreError("the key store is unavailable") from exc
        marks = frozenset(bytes(r.mark) for r in rows)
        with self._lock:
            self._records, self._loaded = marks, time.monotonic()
        return marks

    def canaries(self, record_ids: Sequence[bytes]) -> list[bytes]:
        """Those of ``record_ids`` that are canaries."""
        marks = self._record_marks()
        if not marks:
            return []
        return [rid for rid in record_ids if self.mark("record", rid) in marks]

    def known(self, kind: str, values: Sequence[str]) -> list[str]:
        """Those of ``values`` (normalised resident IDs, or E.164 phones) that belong to a
        canary — for leak tracing."""
        if not values:
            return []
        by_mark = {self.mark(kind, v): v for v in values}
        found: list[str] = []
        keys = list(by_mark)
        with self.engine.connect() as conn:
            for i in range(0, len(keys), 500):
                rows = conn.execute(
                    sa.select(honeytoken_marks.c.mark).where(
                        honeytoken_marks.c.kind == kind,
                        honeytoken_marks.c.mark.in_(keys[i : i + 500]),
                    )
                ).fetchall()
                found += [by_mark[bytes(r.mark)] for r in rows]
        return found

    def count(self) -> int:
        with self.engine.connect() as conn:
            n = conn.execute(
                sa.select(sa.func.count())
                .select_from(honeytoken_marks)
                .where(honeytoken_marks.c.kind == "record")
            ).scalar_one()
        return int(n)  # persons and incidents both carry a record mark


def owned_phone(phone_range: tuple[str, str], rng: random.Random) -> str:
    """A number from the owned range, in E.164."""
    lo, hi = int(phone_range[0]), int(phone_range[1])
    return f"+86{rng.randint(lo, hi)}"


def plant(
    vault: Any,
    registry: Honeytokens,
    n: int,
    *,
    region: str | None,
    phone_range: tuple[str, str],
    actor: Any,
    purpose: Any,
    on_progress: Any = None,
) -> list[Canary]:
    """Plant ``n`` canary persons, each named in one or two incidents (see the module
    docstring). ``region`` limits them to one province-level region code."""
    from strongroom.synth import generate_incidents, generate_persons

    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 10_000:
        raise ValidationError.single("n", "plant from 1 to 10,000 canaries at a time")
    if region is not None and not (
        len(region) == 6 and region.isdigit() and region.endswith("0000")
    ):
        raise ValidationError.single("region", "must be a province-level region code (110000)")
    seed = secrets.randbits(62)  # never a published seed: canaries must not be regenerable
    rng = secrets.SystemRandom()
    people = []
    for p in generate_persons(max(n * 40, 2000) if region else n, seed=seed):
        if region is None or p.region == region:
            people.append(p)
            if len(people) == n:
                break
    if len(people) < n:
        raise ValidationError.single("region", "no synthetic identities for that region")
    now = datetime.now(UTC)
    out: list[Canary] = []
    incidents = list(generate_incidents(n + n // 2, people, seed=seed ^ 0x5A5A))
    by_party: dict[str, list[Any]] = {}
    for inc in incidents:
        by_party.setdefault(inc.parties[0][0], []).append(inc)
    for i, p in enumerate(people):
        phones = [owned_phone(phone_range, rng) for _ in range(rng.choice((1, 1, 2)))]
        person = vault.put(
            "person",
            {
                "name": p.name,
                "resident_id": p.resident_id,
                "phones": phones,
                "date_of_birth": p.date_of_birth,
                "place_of_birth": p.place_of_birth,
                "sex": p.sex,
                "region": p.region,
            },
            actor=actor,
            purpose=purpose,
        )
        refs = []
        for inc in by_party.get(p.resident_id, [])[:2] or [incidents[i % len(incidents)]]:
            received = inc.received_at
            if received > now.isoformat():  # keep every canary incident in the past
                received = now.replace(microsecond=0).isoformat()
            view = vault.put(
                "incident",
                {
                    "received_at": received,
                    "channel": inc.channel,
                    "category": inc.category,
                    "location": inc.location,
                    "narrative": inc.narrative,
                    "parties": [{"person": person.ref, "role": inc.parties[0][1]}],
                    "case_ref": inc.case_ref,
                    "status": inc.status,
                    "region": p.region,
                },
                actor=actor,
                purpose=purpose,
            )
            refs.append(view.ref)
        marks: list[tuple[str, bytes | str]] = [("record", _rid(person.ref))]
        marks += [("record", _rid(r)) for r in refs]
        marks.append(("resident_id", person.fields["resident_id"]))
        marks += [("phone", ph) for ph in person.fields.get("phones") or ()]
        with registry.engine.begin() as conn:
            registry.register(marks, conn)
        out.append(Canary(person.ref, tuple(refs)))
        if on_progress is not None:
            on_progress(1)
    return out


def _rid(ref: str) -> bytes:
    from strongroom._ids import id_of

    return id_of(ref)
