"""Legitimate use passes the guard: a synthetic working day of call-taker and investigator
traffic — more than 10,000 requests through the SDK against a real server, with the server's
clock moving from 08:00 to 18:00 local time — meets no quota and raises no more than a handful
of low-severity alerts (the count is printed)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from strongroom import Client, Vault
from strongroom.api import create_app
from strongroom.guard import GuardConfig, QuotaExceededError
from strongroom.guard._detect import Detectors
from tests._server import serving
from tests._world import REGION, World, build_world, incident
from tests.conftest import ACTOR, PURPOSE
from tests.test_guard_scenarios import persons_in_region

pytestmark = pytest.mark.slow

REQUESTS = 10_000
CALL_TAKERS = 20
INVESTIGATORS = 8
CASES = [f"A110105-2026-{i:06d}" for i in range(1, INVESTIGATORS + 1)]
#: 08:00 at UTC+8
START = datetime(2026, 11, 30, 0, 0, tzinfo=UTC)
#: ten working hours spread over the requests
STEP = timedelta(hours=10) / REQUESTS


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def backend() -> str:  # one backend is enough for a day of traffic
    return "sqlite"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def world(vault: Vault, clock: Clock) -> World:
    return build_world(vault, guard=GuardConfig(), clock=clock)


@pytest.fixture
def url(world: World) -> Iterator[str]:
    with serving(create_app(world.service, sequencer=False)) as base:
        yield base


def _setup(vault: Vault, world: World, url: str) -> tuple[list[Any], dict[str, list[Client]]]:
    people = persons_in_region(vault, 2000, seed=23)
    for i, case in enumerate(CASES):  # each case names five persons
        for p in people[i * 5 : i * 5 + 5]:
            vault.put("incident", incident(p.ref, case), actor=ACTOR, purpose=PURPOSE)
    svc = world.service
    clients: dict[str, list[Client]] = {"call_taker": [], "investigator": []}
    for i in range(CALL_TAKERS):
        pid = f"ct-{i:02d}"
        svc.principals.add(pid, roles=["call_taker"], unit="A110105", home_region=REGION)
        token, _ = svc.tokens.issue(pid, "day", timedelta(days=1))
        clients["call_taker"].append(Client(url, token, purpose="CALL"))
    for i, case in enumerate(CASES):
        pid = f"inv-{i:02d}"
        svc.principals.add(
            pid, roles=["investigator"], unit="A110105", home_region=REGION, case_refs=[case]
        )
        token, _ = svc.tokens.issue(pid, "day", timedelta(days=1))
        clients["investigator"].append(Client(url, token, purpose="CASE", case_ref=case))
    return people, clients


def test_a_normal_day_meets_no_quota_and_few_alerts(
    url: str, world: World, vault: Vault, clock: Clock
) -> None:
    people, clients = _setup(vault, world, url)
    rng = random.Random(5)
    sent = 0
    blocked = 0

    def tick() -> None:
        nonlocal sent
        sent += 1
        clock.now += STEP

    def call(ct: Client) -> None:
        """A call: find the caller (by phone or ID; one in ten is not on file), read the
        record, and log the call as an incident naming them."""
        if rng.random() < 0.1:
            ct.search_persons(phone=f"+86139{rng.randrange(10**8):08d}")
            tick()
            return
        p = rng.choice(people)
        if rng.random() < 0.6:
            page = ct.search_persons(phone=p.fields["phones"][0])
        else:
            page = ct.search_persons(resident_id=p.fields["resident_id"])
        tick()
        for hit in page.items[:1]:
            ct.get_person(hit.ref)
            tick()
            if rng.random() < 0.9:
                ct.create_incident({**incident(hit.ref, f"C{rng.randrange(10**6):06d}")})
                tick()

    def casework(inv: Client) -> None:
        """An investigator works their case: its incidents, then the persons they name."""
        page = inv.incidents_of_case(str(inv.case_ref))
        tick()
        for item in page.items[: rng.randint(1, 3)]:
            for party in item.fields.get("parties") or ():
                inv.get_person(party["person"])
                tick()
            inv.get_incident(item.ref)
            tick()

    while sent < REQUESTS:
        try:
            if rng.random() < 0.7:
                call(rng.choice(clients["call_taker"]))
            else:
                casework(rng.choice(clients["investigator"]))
        except QuotaExceededError:
            blocked += 1
    for group in clients.values():
        for c in group:
            c.close()
    guard = world.service.gate.guard
    assert guard is not None
    vault.audit.sequence()
    detectors = Detectors(
        vault.audit, guard.alerts, guard.config, guard.engine, clock=clock,
        principals=world.service.principals,
    )  # fmt: skip
    while detectors.run_once():
        pass
    # the set-up's own writes (the key custodian, at the real time of the test run) are not
    # part of the day
    alerts = [a for a in guard.alerts.list(limit=1000) if a.principal != ACTOR.id]
    summary = sorted((a.kind, a.severity) for a in alerts)
    print(f"\nnormal day through the API: {sent} requests, {blocked} blocked, alerts {summary}")
    assert sent >= REQUESTS
    assert blocked == 0
    assert not any(a.kind == "quota" for a in alerts)
    assert len(alerts) <= 5
    assert all(a.severity == "low" for a in alerts)
