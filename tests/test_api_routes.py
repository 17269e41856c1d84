"""Every route of the app: 401 without credentials, 403 for a role that may not use it;
and the committed docs/openapi.json is the app's document (which is not served)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from strongroom import Vault
from strongroom.api import create_app, openapi_document, openapi_text
from tests._server import serving
from tests._world import CASE, PERSON, World, build_world, incident

ROOT = Path(__file__).resolve().parents[1]
OPEN = {("GET", "/healthz")}

#: for each route: a role that may not use it, its purpose, and a well-formed request
FORBIDDEN: dict[tuple[str, str], tuple[str, str]] = {
    ("GET", "/metrics"): ("call_taker", "CALL"),
    ("POST", "/v1/persons"): ("analyst", "STATS"),
    ("POST", "/v1/persons/search"): ("citizen", "SELF"),
    ("GET", "/v1/persons/{ref}"): ("analyst", "STATS"),
    ("POST", "/v1/persons/{ref}/reveal"): ("auditor", "AUDIT"),
    ("PATCH", "/v1/persons/{ref}"): ("admin", "ADMIN"),
    ("DELETE", "/v1/persons/{ref}"): ("call_taker", "CALL"),
    ("GET", "/v1/persons/{ref}/incidents"): ("citizen", "SELF"),
    ("POST", "/v1/incidents"): ("analyst", "STATS"),
    ("GET", "/v1/incidents"): ("auditor", "AUDIT"),
    ("GET", "/v1/incidents/{ref}"): ("citizen", "SELF"),
    ("PATCH", "/v1/incidents/{ref}"): ("call_taker", "CALL"),
    ("GET", "/v1/statistics"): ("investigator", "STATS"),
    ("GET", "/v1/users"): ("auditor", "ADMIN"),
    ("POST", "/v1/users"): ("supervisor", "ADMIN"),
    ("POST", "/v1/users/{principal_id}/disable"): ("investigator", "ADMIN"),
    ("POST", "/v1/users/{principal_id}/cases"): ("supervisor", "CASE"),
    ("GET", "/v1/tokens"): ("analyst", "ADMIN"),
    ("POST", "/v1/tokens"): ("call_taker", "ADMIN"),
    ("DELETE", "/v1/tokens/{token_id}"): ("citizen", "ADMIN"),
    ("GET", "/v1/audit/checkpoint"): ("admin", "ADMIN"),
    ("POST", "/v1/persons/{ref}/erase"): ("supervisor", "ADMIN"),
    ("GET", "/v1/audit/consistency"): ("investigator", "AUDIT"),
    ("POST", "/v1/audit/cosignatures"): ("supervisor", "AUDIT"),
    ("POST", "/v1/audit/search"): ("analyst", "AUDIT"),
    ("GET", "/v1/me/accesses"): ("call_taker", "SELF"),
    ("GET", "/v1/me/accesses/{index}/receipt"): ("investigator", "SELF"),
    ("POST", "/v1/persons/{ref}/protect"): ("investigator", "CASE"),
    ("DELETE", "/v1/persons/{ref}/protect"): ("call_taker", "CALL"),
    ("POST", "/v1/grants"): ("approver", "AUDIT"),
    ("GET", "/v1/grants"): ("auditor", "AUDIT"),
    ("POST", "/v1/grants/{grant_id}/approve"): ("supervisor", "AUDIT"),
    ("POST", "/v1/grants/{grant_id}/deny"): ("investigator", "AUDIT"),
    ("GET", "/v1/alerts"): ("call_taker", "AUDIT"),
    ("POST", "/v1/alerts/{alert_id}/review"): ("approver", "AUDIT"),
}


def _routes() -> list[tuple[str, str]]:
    """Every (method, path) of the app, from the OpenAPI document it builds (every route is
    in it: none is excluded from the schema)."""
    doc = openapi_document()
    return sorted((m.upper(), p) for p, ops in doc["paths"].items() for m in ops)


ROUTES = _routes()


def test_every_route_is_in_the_table() -> None:
    data_routes = {r for r in ROUTES if r not in OPEN}
    assert data_routes == set(FORBIDDEN), "add new routes to FORBIDDEN"


def test_committed_openapi_matches_the_app() -> None:
    committed = (ROOT / "docs" / "openapi.json").read_text(encoding="utf-8")
    assert committed == openapi_text(), (
        "docs/openapi.json is stale: regenerate it with "
        "'.venv/bin/python -c \"from strongroom.api import openapi_text; "
        "print(openapi_text(), end=str())\" > docs/openapi.json'"
    )
    doc = json.loads(committed)
    assert "bearer" in doc["components"]["securitySchemes"]


@pytest.fixture
def world(vault: Vault) -> World:
    return build_world(vault)


@pytest.fixture
def url(world: World) -> Iterator[str]:
    with serving(create_app(world.service)) as base:
        yield base


def _request(world: World, method: str, path: str) -> dict[str, Any]:
    concrete = (
        path.replace("{ref}", world.incident if "incidents/{ref}" in path else world.person)
        .replace("{principal_id}", "call-taker-1")
        .replace("{token_id}", "aaaaaaaa")
        .replace("{index}", "0")
        .replace("{grant_id}", "0" * 32)
        .replace("{alert_id}", "1")
    )
    body: dict[str, Any] | None = {
        ("POST", "/v1/persons"): {**PERSON, "resident_id": "110105194912310046"},
        ("POST", "/v1/persons/search"): {"resident_id": PERSON["resident_id"]},
        ("POST", "/v1/persons/{ref}/reveal"): {"justification": "call back"},
        ("PATCH", "/v1/persons/{ref}"): {"place_of_birth": "上海"},
        ("POST", "/v1/incidents"): incident(world.person),
        ("PATCH", "/v1/incidents/{ref}"): {"status": "closed"},
        ("POST", "/v1/users"): {"id": "new-1", "roles": ["analyst"]},
        ("POST", "/v1/users/{principal_id}/cases"): {"case_ref": CASE},
        ("POST", "/v1/tokens"): {"principal": "analyst-1", "name": "x"},
        ("POST", "/v1/audit/cosignatures"): {"size": 1, "signature": "x"},
        ("POST", "/v1/audit/search"): {},
        ("POST", "/v1/persons/{ref}/erase"): {"legal_basis": "court order"},
        ("POST", "/v1/persons/{ref}/protect"): {"category": "witness", "reason": "r"},
        ("POST", "/v1/grants"): {"person": world.person, "justification": "j"},
        ("POST", "/v1/alerts/{alert_id}/review"): {"action": "acknowledge", "note": "n"},
    }.get((method, path))
    params = {
        ("GET", "/v1/incidents"): {"case_ref": CASE},
        ("GET", "/v1/audit/consistency"): {"old": 1},
    }.get((method, path))
    return {"method": method, "url": concrete, "json": body, "params": params}


@pytest.mark.parametrize(("method", "path"), ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
def test_401_without_credentials_and_403_for_a_role_that_may_not(
    url: str, world: World, method: str, path: str
) -> None:
    req = _request(world, method, path)
    with httpx.Client(base_url=url) as http:
        anonymous = http.request(req["method"], req["url"], json=req["json"], params=req["params"])
        if (method, path) in OPEN:
            assert anonymous.status_code == 200
            return
        assert anonymous.status_code == 401, anonymous.text
        assert anonymous.headers["www-authenticate"].startswith("Bearer")
        assert anonymous.headers["content-type"].startswith("application/problem+json")
        role, purpose = FORBIDDEN[(method, path)]
        headers = {
            "Authorization": f"Bearer {world.tokens[role]}",
            "Strongroom-Purpose": purpose,
            "Strongroom-Case-Ref": CASE,
        }
        denied = http.request(
            req["method"], req["url"], json=req["json"], params=req["params"], headers=headers
        )
        assert denied.status_code == 403, (role, denied.text)
        assert denied.json()["code"] == "DeniedError"


def test_only_healthz_answers_without_credentials(url: str) -> None:
    for path in ("/v1/openapi.json", "/openapi.json", "/docs", "/redoc", "/v1/nothing"):
        r = httpx.get(f"{url}{path}")
        assert r.status_code in (401, 404), (path, r.status_code)
        assert r.headers["content-type"].startswith("application/problem+json")
