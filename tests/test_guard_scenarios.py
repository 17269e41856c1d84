"""The guard's scenarios against a real server, driven through the SDK (SQLite and
PostgreSQL): a rogue call-taker is stopped, a honeytoken read alarms and suspends, a
protected person needs a grant from a second principal, and the review queue works."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from strongroom import Client, Vault
from strongroom.api import create_app
from strongroom.auth import AuthenticationError
from strongroom.errors import ValidationError
from strongroom.guard import GuardConfig, QuotaExceededError, plant
from strongroom.policy import DeniedError
from strongroom.synth import generate_persons
from tests._server import serving
from tests._world import CASE, REGION, World, build_world
from tests.conftest import ACTOR, PURPOSE

#: 10:00 at UTC+8, a working hour
T0 = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def world(vault: Vault, clock: Clock) -> World:
    return build_world(vault, guard=GuardConfig.from_table({"grant_minutes": 30}), clock=clock)


@pytest.fixture
def url(world: World) -> Iterator[str]:
    with serving(create_app(world.service)) as base:
        yield base


def _client(url: str, world: World, role: str, purpose: str, case: str | None = None) -> Client:
    return Client(url, world.tokens[role], purpose=purpose, case_ref=case)


def persons_in_region(vault: Vault, n: int, seed: int) -> list[Any]:
    """``n`` synthetic persons written to the vault, all in the test principals' region."""
    out = []
    for p in generate_persons(n, seed=seed):
        out.append(
            vault.put(
                "person",
                {
                    "name": p.name,
                    "resident_id": p.resident_id,
                    "phones": list(p.phones),
                    "date_of_birth": p.date_of_birth,
                    "sex": p.sex,
                    "region": REGION,
                },
                actor=ACTOR,
                purpose=PURPOSE,
            )
        )
    return out


def _wait_for(find: Any, timeout: float = 1.0) -> Any:
    """Poll ``find`` until it returns something truthy, for at most ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        found = find()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.02)


def test_a_rogue_call_taker_is_stopped(url: str, world: World, vault: Vault) -> None:
    people = persons_in_region(vault, 80, seed=11)
    released = 0

    def enumerate_people(rogue: Client) -> None:
        nonlocal released
        for i, p in enumerate(people):
            # alternate the two indexes, as an enumerator of IDs and phone numbers would
            if i % 2:
                page = rogue.search_persons(resident_id=p.fields["resident_id"])
            else:
                page = rogue.search_persons(phone=p.fields["phones"][0])
            released += len(page.items)
            for hit in page.items:
                rogue.get_person(hit.ref)
                released += 1

    with _client(url, world, "call_taker", "CALL") as rogue:
        with pytest.raises(QuotaExceededError) as err:
            enumerate_people(rogue)
        blocked_at = time.monotonic()
        assert err.value.quota == "released_per_minute"
        assert released <= 50
        # blocked stays blocked: nothing more is released in this window
        with pytest.raises(QuotaExceededError):
            rogue.search_persons(resident_id=people[-1].fields["resident_id"])
    with _client(url, world, "supervisor", "AUDIT") as sup:
        alerts = _wait_for(lambda: sup.alerts(kind="quota", principal="call-taker-1")["items"])
        waited = time.monotonic() - blocked_at
        print(f"\nrogue call taker: blocked after {released} records released; alert seen after "
              f"{waited * 1000:.0f} ms")  # fmt: skip
        assert waited <= 1.0
        assert alerts and alerts[0]["severity"] == "high"
        assert alerts[0]["evidence"]["quota"] == "released_per_minute"
        assert len(alerts) == 1  # one alert per principal, quota and window, not a flood
    # the refusals are in the audit log, as denials naming the quota
    vault.audit.sequence()
    refused = [
        x.json()
        for x in vault.audit.search(actor="call-taker-1", limit=1000)
        if x.json()["outcome"] == "denied"
    ]
    assert refused and all(e["detail"].get("quota") for e in refused)
    assert all(e["fields"] == [] for e in refused)


def test_misses_are_limited_too(url: str, world: World) -> None:
    ids = [p.resident_id for p in generate_persons(40, seed=3)]  # valid, not in the vault
    with _client(url, world, "call_taker", "CALL") as rogue:
        for rid in ids[:30]:  # the call-taker quota: 30 misses an hour
            assert rogue.search_persons(resident_id=rid).items == []
        with pytest.raises(QuotaExceededError) as err:
            rogue.search_persons(resident_id=ids[30])
        assert err.value.quota == "misses_per_hour"


def test_a_honeytoken_read_alarms_and_suspends(url: str, world: World, vault: Vault) -> None:
    guard = world.service.gate.guard
    assert guard is not None
    canaries = plant(
        vault,
        guard.honeytokens,
        2,
        region=REGION,
        phone_range=guard.config.honeytoken_phones,
        actor=ACTOR,
        purpose=PURPOSE,
    )
    assert len(canaries) == 2 and all(c.incident_refs for c in canaries)
    with _client(url, world, "call_taker", "CALL") as reader:
        canary = reader.get_person(canaries[0].person_ref)  # looks like any record
        assert set(canary.fields) >= {"name", "resident_id", "phones", "region"}
        read_at = time.monotonic()
        with _client(url, world, "auditor", "AUDIT") as auditor:
            found = _wait_for(
                lambda: auditor.alerts(kind="honeytoken", principal="call-taker-1")["items"]
            )
            assert time.monotonic() - read_at <= 1.0
        assert found and found[0]["severity"] == "high"
        assert found[0]["evidence"]["records"] == [canaries[0].person_ref]
        with pytest.raises(AuthenticationError):  # tokens suspended at once
            reader.get_person(world.person)
    # other principals carry on
    with _client(url, world, "investigator", "CASE", CASE) as inv:
        assert inv.get_person(world.person).ref == world.person


def test_a_protected_person_needs_a_grant_until_it_expires(
    url: str, world: World, clock: Clock
) -> None:
    with _client(url, world, "supervisor", "CASE", CASE) as sup:
        sup.protect_person(world.person, "witness", "protected witness in case A")
    with _client(url, world, "investigator", "CASE", CASE) as inv:
        with pytest.raises(DeniedError, match="grant"):
            inv.get_person(world.person)
        page = inv.search_persons(resident_id="11010519491231002X")
        assert page.items == [] and page.protected == (world.person,)
        # incidents about the protected person are protected too
        assert inv.incidents_of_case(CASE).protected
        grant = inv.request_grant(world.person, "interview of the witness planned")
        assert grant["state"] == "pending"
        with pytest.raises(DeniedError):
            inv.get_person(world.person)  # pending is not approved
    with _client(url, world, "approver", "AUDIT") as approver:
        assert [g["id"] for g in approver.grants(state="pending")] == [grant["id"]]
        approved = approver.approve_grant(grant["id"])
        assert approved["state"] == "approved"
    with _client(url, world, "investigator", "CASE", CASE) as inv:
        assert inv.get_person(world.person).fields["name"] == "王小明"
        with pytest.raises(DeniedError):  # another purpose is not covered
            inv.with_purpose("CALL").get_person(world.person)
        clock.now += timedelta(minutes=31)
        with pytest.raises(DeniedError, match="grant"):
            inv.get_person(world.person)
        assert inv.grants()[0]["state"] == "expired"
    with _client(url, world, "call_taker", "CALL") as ct, pytest.raises(DeniedError):
        ct.get_person(world.person)


def test_an_approver_cannot_approve_their_own_request_and_break_glass_does_not_bypass(
    url: str, world: World
) -> None:
    with _client(url, world, "supervisor", "CASE", CASE) as sup:
        sup.protect_person(world.person, "official", "city official")
        with pytest.raises(DeniedError):
            sup.get_person(world.person, break_glass="urgent: life at risk")
        grant = sup.request_grant(world.person, "need to read")
    with _client(url, world, "approver", "AUDIT") as approver:
        denied = approver.deny_grant(grant["id"])
        assert denied["state"] == "denied"
        with pytest.raises(ValidationError, match="already"):
            approver.approve_grant(grant["id"])


def test_break_glass_and_alerts_go_to_the_review_queue(
    url: str, world: World, vault: Vault
) -> None:
    with _client(url, world, "investigator", "CASE", CASE) as inv:
        inv.get_person(world.person, break_glass="caller in danger, no case link yet")
    with _client(url, world, "supervisor", "AUDIT") as sup:
        queue = sup.alerts(state="open")["items"]
        assert [a["kind"] for a in queue] == ["break_glass"]
        done = sup.review_alert(queue[0]["id"], "acknowledge", "checked with the duty officer")
        assert done["state"] == "acknowledged" and done["reviewed_by"] == "supervisor-1"
        assert sup.alerts(state="open")["items"] == []
        with pytest.raises(ValidationError, match="state"):
            sup.alerts(state="closed")
    with _client(url, world, "auditor", "AUDIT") as aud:
        assert aud.review_alert(queue[0]["id"], "escalate", "pattern")["state"] == "escalated"
    vault.audit.sequence()
    reviews = [
        x.json()
        for x in vault.audit.search(limit=1000)
        if x.json()["collection"] == "alerts" and x.json()["action"] == "update"
    ]
    assert [r["detail"]["op"] for r in reviews] == ["acknowledge", "escalate"]
    assert all(r["justification"] for r in reviews)  # the note, sealed
    assert "duty officer" not in str(reviews)
