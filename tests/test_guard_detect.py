"""The guard's behavioural detectors over real audit logs (SQLite and PostgreSQL).

Synthetic entries are appended with chosen times and actors, sequenced, and the detectors run
with a fixed clock; a few tests go through the real Gate to check what it writes.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa

from strongroom import Vault
from strongroom._ids import ref_of
from strongroom.audit._entry import Entry
from strongroom.auth import PrincipalStore
from strongroom.errors import ConfigError, StoreError
from strongroom.gate import Ask, Gate
from strongroom.guard import Alert, AlertStore, DetectorConfig, GuardConfig
from strongroom.guard._detect import EVIDENCE_MAX, DetectorRunner, Detectors
from strongroom.guard._tables import guard_counters, guard_state
from strongroom.policy import DeniedError, Principal
from tests._world import incident
from tests.conftest import ACTOR, PURPOSE
from tests.test_vault import PERSON

LOCAL = timezone(timedelta(hours=8))  # the default [guard] timezone_offset_hours
DAY0 = datetime(2026, 11, 24, tzinfo=LOCAL)  # a Tuesday, local midnight


def at(hour: float, minute: float = 0, day: int = 0) -> datetime:
    return DAY0 + timedelta(days=day, hours=hour, minutes=minute)


def person() -> tuple[str, bytes]:
    return ref_of(os.urandom(16)), os.urandom(32)


def entry(
    when: datetime,
    actor: str,
    action: str = "read",
    collection: str = "person",
    *,
    role: str = "call_taker",
    records: Sequence[str] = (),
    subjects: Sequence[bytes] = (),
    case_ref: str | None = None,
    outcome: str = "allowed",
    detail: dict[str, Any] | None = None,
) -> Entry:
    return Entry(
        time=when,
        actor_id=actor,
        actor_role=role,
        actor_unit="CC-1",
        action=action,
        collection=collection,
        purpose_code="CASE" if case_ref else "CALL",
        case_ref=case_ref,
        outcome=outcome,
        records=records,
        subjects=subjects,
        detail=detail or {},
    )


def read(when: datetime, actor: str, who: tuple[str, bytes], **kw: Any) -> Entry:
    return entry(when, actor, "read", records=[who[0]], subjects=[who[1]], **kw)


def miss(when: datetime, actor: str, **kw: Any) -> Entry:
    return entry(when, actor, "search", detail={"index": "phone", "withheld": 0}, **kw)


def hit(when: datetime, actor: str, who: tuple[str, bytes], **kw: Any) -> Entry:
    return entry(
        when,
        actor,
        "search",
        records=[who[0]],
        subjects=[who[1]],
        detail={"index": "phone", "withheld": 0},
        **kw,
    )


def new_incident(when: datetime, actor: str, parties: Sequence[bytes], **kw: Any) -> Entry:
    return entry(
        when,
        actor,
        "create",
        "incident",
        records=[ref_of(os.urandom(16))],
        subjects=parties,
        detail={"version": 1},
        **kw,
    )


@dataclass
class Env:
    vault: Vault
    clock: list[datetime] = field(default_factory=lambda: [at(23, 59)])
    config: GuardConfig = field(default_factory=GuardConfig)
    running: list[Detectors] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.vault.audit.sequence()
        self.alerts = AlertStore(self.engine, self.vault.audit.seal_key, clock=self.now)

    @property
    def engine(self) -> sa.Engine:
        return self.vault.audit.engine

    def now(self) -> datetime:
        return self.clock[0]

    def detectors(
        self, *, concurrent: bool = False, principals: Any = None, **detect: Any
    ) -> Detectors:
        """A new instance; the earlier ones stop (a restart) unless ``concurrent``."""
        if not concurrent:
            for old in self.running:
                old.release()
        config = self.config
        if detect:
            config = replace(config, detectors=replace(config.detectors, **detect))
        det = Detectors(
            self.vault.audit,
            self.alerts,
            config,
            self.engine,
            clock=self.now,
            principals=principals,
        )
        self.running.append(det)
        return det

    def log(self, entries: Sequence[Entry]) -> list[int]:
        """Append and sequence ``entries``; their indices, in order."""
        audit = self.vault.audit
        first = audit.size()
        audit.append_many(sorted(entries, key=lambda e: e.time))
        audit.sequence()
        assert audit.size() == first + len(entries)
        return list(range(first, first + len(entries)))

    def stored(self) -> list[Alert]:
        return self.alerts.list(limit=10_000)


@pytest.fixture
def env(vault: Vault) -> Env:
    return Env(vault)


# -- enumeration ---------------------------------------------------------------------------
def test_searches_that_miss_raise_one_alert_with_the_searches(env: Env) -> None:
    misses = env.log([miss(at(10, m), "ct-1") for m in range(0, 40, 2)])
    someone = person()
    hits = env.log([hit(at(10, m), "ct-1", someone) for m in range(1, 10, 2)])
    normal = env.log([miss(at(10, m), "ct-2") for m in range(0, 50, 5)])
    raised = env.detectors().run_once()
    assert [(a.kind, a.principal, a.severity) for a in raised] == [("misses", "ct-1", "medium")]
    evidence = raised[0].evidence
    assert evidence["entries"] == misses  # the hits and ct-2's searches are not evidence
    assert evidence["count"] == 20 and evidence["threshold"] == 15
    assert not set(evidence["entries"]) & set(hits + normal)
    assert "ct-1" not in raised[0].summary and raised[0].summary.startswith("20 searches")
    # stored as returned, and never twice: not on a second run, not for a second burst today
    assert [a.id for a in env.stored()] == [raised[0].id]
    det = env.detectors()
    assert det.run_once() == []
    env.log([miss(at(14, m), "ct-1") for m in range(0, 40, 2)])
    assert det.run_once() == []
    # the next day is a new window
    env.log([miss(at(10, m, day=1), "ct-1") for m in range(0, 40, 2)])
    assert [a.kind for a in det.run_once()] == ["misses"]


def test_withheld_or_protected_hits_are_not_misses(env: Env) -> None:
    env.log(
        [
            entry(at(10, m), "ct-1", "search", detail={"index": "phone", "withheld": 1})
            for m in range(20)
        ]
        + [
            entry(at(11, m), "ct-1", "search", detail={"index": "phone", "protected": 1})
            for m in range(20)
        ]
    )
    assert env.detectors().run_once() == []


def test_enumeration_through_the_gate(env: Env) -> None:
    """What the Gate writes for a search that finds nothing is a miss."""
    gate = Gate(env.vault, clock=lambda: at(10).astimezone(UTC))
    ct = Principal("ct-9", "call_taker", "CC-1", "110000", frozenset())
    for n in range(16):
        page = gate.search(Ask(ct, "CALL"), "person", {"phone": f"139{n:08d}"})
        assert page.items == []
    env.vault.audit.sequence()
    raised = env.detectors().run_once()
    assert [(a.kind, a.principal) for a in raised] == [("misses", "ct-9")]
    assert len(raised[0].evidence["entries"]) == 16


# -- working hours -------------------------------------------------------------------------
def test_access_outside_working_hours_is_a_low_alert(env: Env) -> None:
    who = person()
    night = env.log([read(at(2, m), "inv-1", who, role="investigator") for m in range(4)])
    env.log([read(at(20, 5), "ct-2", who), read(at(6, 50), "ct-2", who)])  # two: below 3
    env.log([read(at(10, m), "ct-3", who) for m in range(10)])
    raised = env.detectors().run_once()
    assert [(a.kind, a.principal, a.severity) for a in raised] == [("off_hours", "inv-1", "low")]
    assert raised[0].evidence["entries"] == night
    assert raised[0].evidence["working_hours"] == [7, 20]


def test_hours_a_principal_usually_works_are_learned(env: Env) -> None:
    who = person()
    # a night-shift worker: 21:00-23:00 on three past days (alerted then), and tonight
    for day in (-3, -2, -1):
        env.log([read(at(21, m * 30, day=day), "ct-n", who) for m in range(4)])
    assert len(env.detectors().run_once()) == 3
    env.log([read(at(21, m * 20), "ct-n", person()) for m in range(6)])
    env.log([read(at(3, m), "ct-n", who) for m in range(3)])  # but not at 3 am
    raised = env.detectors().run_once()
    assert [(a.kind, a.evidence["count"]) for a in raised] == [("off_hours", 3)]


def test_service_accounts_work_around_the_clock(env: Env) -> None:
    store = PrincipalStore(env.engine)
    store.add("svc-cad", roles=["call_taker"], kind="service", unit="CC-1", home_region="110000")
    store.add("ct-1", roles=["call_taker"], unit="CC-1", home_region="110000")
    env.log([read(at(3, m), p, person()) for m in range(5) for p in ("svc-cad", "ct-1", "ct-x")])
    raised = env.detectors(principals=store).run_once()
    assert sorted(a.principal for a in raised) == ["ct-1", "ct-x"]  # ct-x: not in the store


def test_wrapping_working_hours(env: Env) -> None:
    who = person()
    env.log([read(at(23, m), "ct-1", who) for m in range(5)])
    env.log([read(at(12, m), "ct-2", who) for m in range(5)])
    raised = env.detectors(working_hours=(22, 6)).run_once()
    assert [(a.kind, a.principal) for a in raised] == [("off_hours", "ct-2")]


# -- browsing ------------------------------------------------------------------------------
def test_reading_persons_with_no_case_and_no_incident_is_browsing(env: Env) -> None:
    browsing, explained, on_case = [], [], []
    for n in range(30):
        when = at(10, n * 2)
        a, b, c = person(), person(), person()
        browsing.append(hit(when, "ct-1", a))
        browsing.append(read(when + timedelta(seconds=20), "ct-1", a))
        explained += [
            read(when, "ct-2", b),
            new_incident(when + timedelta(minutes=5), "ct-2", [b[1]]),
        ]
        on_case.append(read(when, "inv-3", c, role="investigator", case_ref="K-1"))
    # an incident *before* the read explains it too
    d = person()
    explained += [new_incident(at(9, 50), "ct-2", [d[1]]), read(at(10, 5), "ct-2", d)]
    indices = env.log(browsing + explained + on_case)
    # the window (60 min) has not passed for the last reads: nothing yet
    env.clock[0] = at(11, 30)
    det = env.detectors()
    assert det.run_once() == []
    env.clock[0] = at(12, 30)
    raised = det.run_once()
    assert [(a.kind, a.principal, a.severity) for a in raised] == [("browsing", "ct-1", "medium")]
    ev = raised[0].evidence
    assert ev["count"] == 30 and ev["threshold"] == 25  # persons, not entries
    assert set(ev["entries"]) <= set(indices) and len(ev["entries"]) == 30
    assert det.run_once() == []


def test_an_incident_by_someone_else_does_not_explain_a_read(env: Env) -> None:
    reads = []
    for n in range(26):
        who = person()
        reads += [read(at(10, n), "ct-1", who), new_incident(at(10, n + 1), "ct-2", [who[1]])]
    env.log(reads)
    raised = env.detectors().run_once()
    assert [(a.kind, a.principal) for a in raised] == [("browsing", "ct-1")]


def test_pending_browse_checks_survive_a_restart(env: Env) -> None:
    people = [person() for _ in range(30)]
    env.log([read(at(10, n), "ct-1", p) for n, p in enumerate(people)])
    env.clock[0] = at(10, 30)
    assert env.detectors().run_once() == []  # pending in memory, then "restart":
    env.log([new_incident(at(10, 40), "ct-1", [p[1] for p in people[:20]])])
    env.clock[0] = at(23)
    assert env.detectors().run_once() == []  # 20 explained after the restart, 10 browsed
    # counted browsing is not counted again after another restart: 10 + 15 = 25
    env.log([read(at(15, n), "ct-1", person()) for n in range(14)])
    assert env.detectors().run_once() == []
    env.log([read(at(16), "ct-1", person())])
    raised = env.detectors().run_once()
    assert [(a.kind, a.evidence["count"]) for a in raised] == [("browsing", 25)]


def test_the_clock_waits_for_entries_not_yet_sequenced(env: Env) -> None:
    people = [person() for _ in range(30)]
    env.log([read(at(10, n), "ct-1", p) for n, p in enumerate(people)])
    env.vault.audit.append(new_incident(at(10, 45), "ct-1", [p[1] for p in people]))
    env.clock[0] = at(23)
    det = env.detectors()
    assert det.run_once() == []  # the incident is still pending: nothing is decided
    env.vault.audit.sequence()
    assert det.run_once() == []  # ... and it explains every read


# -- repeated reads ------------------------------------------------------------------------
def test_repeated_reads_of_one_person_without_a_case(env: Env) -> None:
    target, other = person(), person()
    stalking = env.log([read(at(9 + n), "inv-1", target, role="investigator") for n in range(5)])
    env.log(
        # hit-then-read within the gap counts once: 3 visits
        [hit(at(9 + n), "ct-2", other) for n in range(3)]
        + [read(at(9 + n, 1), "ct-2", other) for n in range(3)]
        # on a case: not counted
        + [read(at(9 + n), "inv-3", target, role="investigator", case_ref="K") for n in range(8)]
    )
    raised = env.detectors().run_once()
    assert [(a.kind, a.principal) for a in raised] == [("repeat_reads", "inv-1")]
    assert raised[0].evidence["entries"] == stalking
    assert raised[0].evidence["count"] == 5


def test_repeat_counts_survive_a_restart(env: Env) -> None:
    target = person()
    first = env.log([read(at(9 + n), "ct-1", target) for n in range(3)])
    assert env.detectors().run_once() == []
    second = env.log([read(at(13 + n), "ct-1", target) for n in range(2)])
    raised = env.detectors().run_once()  # a new instance re-reads the morning from the log
    assert [(a.kind, a.evidence["entries"]) for a in raised] == [("repeat_reads", first + second)]


# -- regions -------------------------------------------------------------------------------
def test_denied_access_to_another_region_through_the_gate(env: Env) -> None:
    vault = env.vault
    p = vault.put("person", PERSON, actor=ACTOR, purpose=PURPOSE)
    vault.put("incident", incident(p.ref), actor=ACTOR, purpose=PURPOSE)
    gate = Gate(vault, clock=lambda: at(11).astimezone(UTC))
    outsider = Principal("ct-sh", "call_taker", "CC-9", "310000", frozenset())
    with pytest.raises(DeniedError, match=r"guard\.record_region"):
        gate.get(Ask(outsider, "CALL"), "person", p.ref)
    vault.audit.sequence()
    denied = vault.audit.size() - 1
    raised = env.detectors().run_once()
    assert [(a.kind, a.principal, a.severity) for a in raised] == [
        ("cross_region", "ct-sh", "medium")
    ]
    assert raised[0].evidence["entries"] == [denied]


def test_other_denials_are_not_cross_region(env: Env) -> None:
    who = person()
    reason = "denied: read on person (guard.protected_record)"
    env.log([read(at(11), "ct-1", who, outcome="denied", detail={"reason": reason})])
    assert env.detectors().run_once() == []


# -- volume --------------------------------------------------------------------------------
def releases(actor: str, n: int, hour: float = 9, role: str = "call_taker") -> list[Entry]:
    """``n`` records released to ``actor`` in searches of 5 (within hours)."""
    out = []
    for k in range(0, n, 5):
        refs = [ref_of(os.urandom(16)) for _ in range(min(5, n - k))]
        out.append(
            entry(
                at(hour, k / 60),
                actor,
                "search",
                "incident",
                role=role,
                records=refs,
                case_ref="K-7",
                detail={"index": "case_ref", "withheld": 0},
            )
        )
    return out


def test_volume_far_above_the_peers(env: Env) -> None:
    entries = [e for n in range(5) for e in releases(f"ct-{n}", 60)]
    heavy = releases("ct-x", 400)
    env.log(entries)
    indices = env.log(heavy)
    raised = env.detectors().run_once()
    assert [(a.kind, a.principal) for a in raised] == [("volume", "ct-x")]
    ev = raised[0].evidence
    assert ev["basis"] == "peers_today" and ev["reference"] == 60 and ev["count"] == 400
    assert ev["threshold"] == 241 and len(ev["entries"]) == EVIDENCE_MAX
    assert set(ev["entries"]) <= set(indices)


def test_volume_against_the_principals_own_baseline(env: Env) -> None:
    with env.engine.begin() as conn:
        for d in range(1, 6):
            day_ms = int((DAY0 - timedelta(days=d)).timestamp() * 1000)
            for who, n in (("inv-busy", 500), ("inv-a", 40), ("inv-b", 50), ("inv-c", 45)):
                conn.execute(
                    guard_counters.insert().values(
                        principal_id=who,
                        metric="detect:rel:investigator:day",
                        window=day_ms,
                        count=n,
                    )
                )
    role = "investigator"
    env.log(releases("inv-busy", 600, role=role) + releases("inv-new", 300, role=role))
    raised = env.detectors().run_once()
    # inv-busy is within 4x its own median (500); inv-new is compared with its peers' (50)
    assert [(a.kind, a.principal, a.evidence["basis"]) for a in raised] == [
        ("volume", "inv-new", "peers")
    ]
    assert raised[0].evidence["reference"] == 47  # median of 40, 45, 50 and 500 (x5)


def test_volume_with_no_reference_needs_factor_times_minimum(env: Env) -> None:
    env.log(releases("ct-alone", 600))
    assert env.detectors().run_once() == []
    env.log(releases("ct-alone", 205, hour=10))
    raised = env.detectors().run_once()
    assert [(a.kind, a.evidence["basis"], a.evidence["threshold"]) for a in raised] == [
        ("volume", "none", 801)
    ]


# -- running -------------------------------------------------------------------------------
def test_roles_not_watched_are_left_alone(env: Env) -> None:
    env.log([miss(at(3, m), "batch-import", role="system") for m in range(40)])
    env.log([miss(at(3, m), "cit-1", role="citizen") for m in range(40)])
    assert env.detectors().run_once() == []


def test_a_disabled_guard_runs_no_detectors(env: Env) -> None:
    env.log([miss(at(3, m), "ct-1") for m in range(40)])
    env.config = GuardConfig(enabled=False)
    assert env.detectors().run_once() == []


def test_a_crash_in_the_transaction_repeats_the_batch_but_no_alert(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    env.log([miss(at(10, m), "ct-1") for m in range(20)])
    env.log([read(at(3, m), "ct-2", person()) for m in range(5)])
    det = env.detectors()
    real = env.alerts.raise_alert
    calls = []

    def flaky(*args: Any, **kw: Any) -> Alert:
        alert = real(*args, **kw)  # stored in the batch's transaction ...
        calls.append(alert.kind)
        if len(calls) == 2:
            raise StoreError("the connection dropped")  # ... which then rolls back
        return alert

    monkeypatch.setattr(env.alerts, "raise_alert", flaky)
    with pytest.raises(StoreError):
        det.run_once()
    assert env.stored() == []
    monkeypatch.setattr(env.alerts, "raise_alert", real)
    raised = det.run_once()
    assert sorted(a.kind for a in raised) == ["misses", "off_hours"]
    assert sorted(a.kind for a in env.stored()) == ["misses", "off_hours"]
    assert env.detectors().run_once() == []


def test_batches_and_a_restart_between_them(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("strongroom.guard._detect.BATCH", 7)
    env.log([miss(at(10, m), "ct-1") for m in range(10)])
    assert env.detectors().run_once() == []
    env.log([miss(at(10, 30 + m), "ct-1") for m in range(10)])
    raised = env.detectors().run_once()
    # raised at the end of the batch that crossed 15: 10 + 7
    assert [(a.kind, a.evidence["count"]) for a in raised] == [("misses", 17)]
    assert len(raised[0].evidence["entries"]) == 17  # the first 10 topped up from the log


def test_one_process_runs_the_detectors(env: Env) -> None:
    env.log([miss(at(10, m), "ct-1") for m in range(20)])
    first, second = env.detectors(), env.detectors(concurrent=True)
    assert len(first.run_once()) == 1
    env.log([miss(at(10, m), "ct-2") for m in range(20)])
    assert second.run_once() == []  # the first holds the lease
    assert len(first.run_once()) == 1


def test_a_stale_runner_counts_nothing(env: Env) -> None:
    env.log([miss(at(10, m), "ct-1") for m in range(10)])
    det = env.detectors()
    assert det.run_once() == []
    env.log([miss(at(10, 20 + m), "ct-1") for m in range(10)])
    with env.engine.begin() as conn:  # another runner took these (and counted them)
        conn.execute(
            guard_state.update()
            .where(guard_state.c.name == "detect.position")
            .values(value=env.vault.audit.size())
        )
    assert det.run_once() == []  # its batch is not counted: the position moved under it
    env.log([miss(at(10, 40 + m), "ct-1") for m in range(5)])
    raised = det.run_once()  # restored from the database, it goes on from there
    assert [(a.kind, a.evidence["count"]) for a in raised] == [("misses", 15)]


def test_the_runner_raises_alerts_in_the_background(env: Env) -> None:
    runner = DetectorRunner(env.detectors(), interval=0.02)
    runner.start()
    try:
        env.log([miss(at(10, m), "ct-1") for m in range(20)])
        deadline = time.monotonic() + 10
        while not env.stored() and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        runner.stop()
    assert [a.kind for a in env.stored()] == ["misses"]


def test_detector_settings() -> None:
    got = DetectorConfig.from_table(
        {"roles": ["call_taker"], "baseline_days": 7, "repeat_gap_minutes": 5}
    )
    assert got.roles == ("call_taker",) and got.baseline_days == 7
    assert GuardConfig.from_table({"detectors": {"off_hours_minimum": 1}}).detectors == (
        DetectorConfig(off_hours_minimum=1)
    )
    for bad in ({"roles": []}, {"roles": "call_taker"}, {"baseline_min_days": 0}, {"x": 1}):
        with pytest.raises(ConfigError):
            DetectorConfig.from_table(bad)


# -- a normal day ----------------------------------------------------------------------------
@dataclass
class Day:
    """A synthetic day of call-taker, investigator and supervisor traffic (local time)."""

    rng: random.Random
    entries: list[Entry] = field(default_factory=list)
    people: list[tuple[str, bytes]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.people = [person() for _ in range(4000)]
        self.regulars = self.people[:12]  # people who call the police often

    def caller(self) -> tuple[str, bytes]:
        return self.rng.choice(self.regulars if self.rng.random() < 0.04 else self.people)

    def call_taker(self, who: str, start: float, end: float) -> None:
        t = at(start, self.rng.uniform(0, 10))
        while t < at(end):
            p = self.caller()
            if self.rng.random() < 0.22:
                self.entries.append(miss(t, who))
                if self.rng.random() < 0.8:  # an incident with an unregistered caller
                    self.entries.append(new_incident(t + timedelta(minutes=3), who, []))
            else:
                self.entries.append(hit(t, who, p))
                if self.rng.random() < 0.55:
                    self.entries.append(read(t + timedelta(seconds=40), who, p))
                if self.rng.random() < 0.9:
                    later = t + timedelta(minutes=self.rng.uniform(2, 6))
                    self.entries.append(new_incident(later, who, [p[1]]))
            t += timedelta(minutes=self.rng.uniform(3, 7))

    def investigator(self, who: str, role: str, start: float, end: float) -> None:
        cases = {f"K-{who}-{n}": self.rng.sample(self.people, 6) for n in range(4)}
        t = at(start, self.rng.uniform(0, 20))
        while t < at(end):
            case, parties = self.rng.choice(list(cases.items()))
            p = self.rng.choice(parties)
            r = self.rng.random()
            if r < 0.3:
                refs = [ref_of(os.urandom(16)) for _ in range(self.rng.randint(2, 8))]
                self.entries.append(
                    entry(
                        t,
                        who,
                        "search",
                        "incident",
                        role=role,
                        records=refs,
                        subjects=[x[1] for x in parties],
                        case_ref=case,
                        detail={"index": "case_ref", "withheld": 0},
                    )
                )
            elif r < 0.65:
                self.entries.append(read(t, who, p, role=role, case_ref=case))
            elif r < 0.95:  # read an incident of the case, or update one
                action, named = ("read", parties[:2]) if r < 0.85 else ("update", [p])
                self.entries.append(
                    entry(
                        t,
                        who,
                        action,
                        "incident",
                        role=role,
                        records=[ref_of(os.urandom(16))],
                        subjects=[x[1] for x in named],
                        case_ref=case,
                    )
                )
            else:  # a quick check without a case, usually written up
                q = self.caller()
                self.entries.append(read(t, who, q, role=role))
                if self.rng.random() < 0.6:
                    self.entries.append(
                        new_incident(t + timedelta(minutes=10), who, [q[1]], role=role)
                    )
            t += timedelta(minutes=self.rng.uniform(2, 5))


def normal_day(seed: int = 6) -> list[Entry]:
    day = Day(random.Random(seed))
    for n in range(32):
        start, end = (7.5, 15.5) if n % 2 else (11.75, 19.85)
        day.call_taker(f"ct-{n:02d}", start, end)
    for n in range(16):
        day.investigator(f"inv-{n:02d}", "investigator", 8.25 + n % 3 * 0.5, 18)
    for n in range(4):
        day.investigator(f"sup-{n}", "supervisor", 9, 18.5)
    # stragglers: a call taker finishing calls after 20:00, an investigator in before 7:00
    day.call_taker("ct-00", 19.85, 20.25)
    day.investigator("inv-00", "investigator", 6.5, 6.95)
    return day.entries


def test_a_normal_day_raises_at_most_a_handful_of_low_alerts(
    env: Env, backend: str, capsys: pytest.CaptureFixture[str]
) -> None:
    entries = normal_day()
    assert len(entries) >= 10_000
    env.log(entries)
    env.clock[0] = at(8, day=1)
    started = time.perf_counter()
    raised = env.detectors().run_once()
    took = time.perf_counter() - started
    with capsys.disabled():
        print(
            f"\nnormal day ({backend}): {len(entries)} entries, {len(raised)} alerts "
            f"{sorted((a.kind, a.severity) for a in raised)}, detectors {took:.2f} s"
        )
    assert all(a.severity == "low" for a in raised), [(a.kind, a.principal) for a in raised]
    assert len(raised) <= 5
    # ... while one abuser on the same day is caught
    abuser = [miss(at(14, m), "ct-07") for m in range(0, 40, 2)]
    abuser += [hit(at(15, m), "ct-07", person()) for m in range(30)]
    env.log(abuser)
    kinds = {a.kind for a in env.detectors().run_once() if a.principal == "ct-07"}
    assert kinds == {"misses", "browsing"}
