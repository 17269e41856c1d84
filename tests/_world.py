"""A small vault world for API tests: principals of every role with tokens, and records."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from strongroom import Vault
from strongroom.api import Service, build_service
from strongroom.auth import FailureLimiter
from tests.conftest import ACTOR, PURPOSE

REGION = "110000"
CASE = "A110105-2020-000001"
PERSON: dict[str, Any] = {
    "name": "王小明",
    "resident_id": "11010519491231002X",
    "phones": ["+8613812345678"],
    "date_of_birth": "1949-12-31",
    "place_of_birth": "北京市朝阳区",
    "sex": "F",
    "region": REGION,
}


def incident(person_ref: str, case_ref: str = CASE) -> dict[str, Any]:
    return {
        "received_at": "2020-01-02T03:04:05+08:00",
        "channel": "call",
        "category": "fraud",
        "narrative": "报警人称被骗。",
        "case_ref": case_ref,
        "parties": [{"person": person_ref, "role": "victim"}],
        "status": "open",
        "region": REGION,
    }


@dataclass
class World:
    service: Service
    tokens: dict[str, str] = field(default_factory=dict)
    person: str = ""
    incident: str = ""


ROLE_CASES = {"investigator": (CASE,), "supervisor": (CASE,), "call_taker": (CASE,)}


def build_world(vault: Vault, *, limiter: FailureLimiter | None = None, **options: Any) -> World:
    """Principals ``<role>-1`` of every role (region 110000), a token each, and one person
    named in one incident of ``CASE``. ``options`` pass on to ``build_service`` (``guard``
    settings, ``clock``)."""
    service = build_service(
        vault, limiter=limiter or FailureLimiter(max_failures=10_000), **options
    )
    world = World(service)
    for role in (
        "call_taker",
        "investigator",
        "supervisor",
        "auditor",
        "admin",
        "citizen",
        "analyst",
        "approver",
    ):
        pid = f"{role.replace('_', '-')}-1"
        subject = service.gate.subject_token(PERSON["resident_id"]) if role == "citizen" else None
        service.principals.add(
            pid,
            roles=[role],
            unit="A110105",
            home_region=REGION,
            case_refs=ROLE_CASES.get(role, ()),
            citizen_subject=subject,
        )
        world.tokens[role], _ = service.tokens.issue(pid, "tests", timedelta(days=1))
    p = vault.put("person", PERSON, actor=ACTOR, purpose=PURPOSE)
    i = vault.put("incident", incident(p.ref), actor=ACTOR, purpose=PURPOSE)
    world.person, world.incident = p.ref, i.ref
    return world
