"""The HTTP API through the SDK, against a real uvicorn server on a loopback port."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from strongroom import Client, Vault
from strongroom.api import MAX_BODY_BYTES, create_app
from strongroom.auth import AuthenticationError, FailureLimiter, RateLimitedError
from strongroom.errors import ConflictError, NotFoundError, ValidationError
from strongroom.policy import DeniedError, PolicyError
from strongroom.store import blind_index, records
from tests._server import serving
from tests._world import CASE, PERSON, World, build_world, incident


@pytest.fixture
def world(vault: Vault) -> World:
    return build_world(vault)


@pytest.fixture
def url(world: World) -> Iterator[str]:
    with serving(create_app(world.service)) as base:
        yield base


def client(
    url: str, world: World, role: str, purpose: str | None, case: str | None = None
) -> Client:
    return Client(url, world.tokens[role], purpose=purpose, case_ref=case)


def _counts(vault: Vault) -> tuple[int, int]:
    with vault.store.engine.connect() as c:
        n = c.execute(sa.select(sa.func.count()).select_from(records)).scalar_one()
        t = c.execute(sa.select(sa.func.count()).select_from(blind_index)).scalar_one()
    return int(n), int(t)


def test_health_needs_nothing_and_says_nothing(url: str) -> None:
    r = httpx.get(f"{url}/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}


def test_call_taker_search_is_masked(url: str, world: World) -> None:
    with client(url, world, "call_taker", "CALL") as sr:
        page = sr.search_persons(phone="+86 138-1234-5678")
        assert [p.ref for p in page.items] == [world.person] and page.next_cursor is None
        p = page.items[0]
        assert p.fields["resident_id"] == "110105********002X"
        assert p.fields["phones"] == ["+86 138****5678"]
        assert p.fields["name"] == "王*" and p.fields["date_of_birth"] == "1949"
        assert "place_of_birth" not in p.fields
        assert p.levels["place_of_birth"] == "hidden"
        with pytest.raises(DeniedError):
            sr.search_persons(name="王小明", date_of_birth="1949-12-31")
        revealed = sr.reveal_person(world.person, "call dropped, calling back")
        assert revealed.fields["phones"] == ["+8613812345678"]


def test_investigator_full_read_write_on_case(url: str, world: World) -> None:
    with client(url, world, "investigator", "CASE", CASE) as sr:
        p = sr.get_person(world.person)
        assert p.fields["resident_id"] == "11010519491231002X"
        assert [i.ref for i in sr.incidents_of_person(world.person).items] == [world.incident]
        assert [i.ref for i in sr.iter_incidents_of_case(CASE)] == [world.incident]
        new = sr.create_incident(incident(world.person))
        assert new.fields["case_ref"] == CASE
        changed = sr.update_incident(new.ref, {"status": "closed"})
        assert changed.version == 2 and changed.fields["status"] == "closed"
        with pytest.raises(DeniedError):
            sr.with_purpose("CASE", "B-77").get_person(world.person)


def test_supervisor_deletes(url: str, world: World, vault: Vault) -> None:
    with client(url, world, "supervisor", "CASE", CASE) as sr:
        sr.delete_person(world.person)
        with pytest.raises(NotFoundError):
            sr.get_person(world.person)


def test_citizen_reads_own_record_only(url: str, world: World) -> None:
    with client(url, world, "citizen", "SELF") as sr:
        assert sr.get_person(world.person).fields["name"] == "王小明"
        with pytest.raises(DeniedError):
            sr.search_persons(resident_id=PERSON["resident_id"])  # route is not for citizens


def test_analyst_gets_aggregates(url: str, world: World) -> None:
    with client(url, world, "analyst", "STATS") as sr:
        assert sr.statistics() == {"person": 1, "incident": 1}
        with pytest.raises(DeniedError):
            sr.get_person(world.person)


def test_admin_manages_users_and_tokens_not_records(url: str, world: World) -> None:
    with client(url, world, "admin", "ADMIN") as sr:
        sr.add_user("ct-2", ["call_taker"], home_region="110000")
        secret, info = sr.issue_token("ct-2", "intake")
        assert secret.startswith("sr_") and info["principal"] == "ct-2"
        assert any(t["id"] == info["id"] for t in sr.list_tokens("ct-2"))
        users = sr.list_users(limit=2)
        assert len(users["items"]) == 2 and users["next_cursor"]
        with Client(url, secret, purpose="CALL") as ct:
            assert ct.search_persons(resident_id=PERSON["resident_id"]).items
            sr.revoke_token(info["id"])
            with pytest.raises(AuthenticationError):
                ct.search_persons(resident_id=PERSON["resident_id"])
        with pytest.raises(ConflictError):
            sr.add_user("ct-2", ["call_taker"])
        with pytest.raises(DeniedError):
            sr.get_person(world.person)


def test_disabling_a_user_takes_effect_at_once(url: str, world: World) -> None:
    with client(url, world, "call_taker", "CALL") as ct:
        assert ct.search_persons(resident_id=PERSON["resident_id"]).items
        with client(url, world, "admin", "ADMIN") as admin:
            admin.disable_user("call-taker-1")
        with pytest.raises(AuthenticationError):
            ct.search_persons(resident_id=PERSON["resident_id"])


def test_metrics_need_a_token_of_admin_or_auditor(url: str, world: World) -> None:
    assert httpx.get(f"{url}/metrics").status_code == 401
    with client(url, world, "auditor", None) as sr:
        text = sr.metrics()
    assert "strongroom_http_requests" in text
    assert PERSON["resident_id"] not in text
    with client(url, world, "call_taker", None) as sr, pytest.raises(DeniedError):
        sr.metrics()


@pytest.mark.parametrize(
    ("purpose", "case", "match"),
    [(None, None, "purpose"), ("GOSSIP", None, "purpose"), ("CASE", None, "case")],
)
def test_purpose_is_required(
    url: str, world: World, purpose: str | None, case: str | None, match: str
) -> None:
    with (
        client(url, world, "investigator", purpose, case) as sr,
        pytest.raises(PolicyError, match=match),
    ):
        sr.get_person(world.person)


def _raw(url: str, world: World, method: str, path: str, **kw: Any) -> httpx.Response:
    headers = {
        "Authorization": f"Bearer {world.tokens['investigator']}",
        "Strongroom-Purpose": "CASE",
        "Strongroom-Case-Ref": CASE,
        **kw.pop("headers", {}),
    }
    return httpx.request(method, f"{url}{path}", headers=headers, **kw)


BAD_PERSONS: list[tuple[str, dict[str, Any], str]] = [
    ("bad-id", {**PERSON, "resident_id": "110105194912310021"}, "resident_id"),
    ("bad-phone", {**PERSON, "phones": ["12345"]}, "phones"),
    ("wrong-type", {**PERSON, "phones": "13812345678"}, "phones"),
    ("unknown-field", {**PERSON, "religion": "x"}, "religion"),
    ("missing", {k: v for k, v in PERSON.items() if k != "name"}, "name"),
    ("injection", {**PERSON, "name": "'; DROP TABLE records; --"}, "name"),
    ("bad-region", {**PERSON, "region": "../../etc"}, "region"),
    ("bad-date", {**PERSON, "date_of_birth": "1949-02-30"}, "date_of_birth"),
]


@pytest.mark.parametrize(("label", "body", "field"), BAD_PERSONS, ids=[b[0] for b in BAD_PERSONS])
def test_bad_input_is_422_naming_the_field_and_changes_nothing(
    url: str, world: World, vault: Vault, label: str, body: dict[str, Any], field: str
) -> None:
    before = _counts(vault)
    r = _raw(url, world, "POST", "/v1/persons", json=body)
    assert r.status_code in (409, 422), (label, r.status_code)
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert any(field in e["field"] for e in problem["errors"]), problem
    assert PERSON["resident_id"] not in r.text
    assert _counts(vault) == before


def test_duplicate_resident_id_is_409(url: str, world: World, vault: Vault) -> None:
    before = _counts(vault)
    with client(url, world, "investigator", "CASE", CASE) as sr, pytest.raises(ConflictError):
        sr.create_person(PERSON)
    assert _counts(vault) == before


def test_oversized_and_undecodable_bodies(url: str, world: World, vault: Vault) -> None:
    before = _counts(vault)
    big = {**PERSON, "place_of_birth": "x" * (MAX_BODY_BYTES + 10)}
    r = _raw(url, world, "POST", "/v1/persons", json=big)
    assert r.status_code == 413 and r.json()["status"] == 413
    r = _raw(
        url,
        world,
        "POST",
        "/v1/persons",
        content=b'{"name": "\xff\xfe", "resident_id": "x", "region": "110000"}',
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 422 and r.json()["errors"]
    r = _raw(
        url,
        world,
        "POST",
        "/v1/persons",
        content=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 422
    r = _raw(url, world, "GET", "/v1/persons/not-a-uuid")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "ref"
    r = _raw(url, world, "GET", "/v1/incidents", params={"case_ref": CASE, "limit": 101})
    assert r.status_code == 422 and "limit" in r.json()["errors"][0]["field"]
    r = _raw(url, world, "GET", "/v1/incidents", params={"case_ref": CASE, "cursor": "zz"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "cursor"
    assert _counts(vault) == before


def test_patch_with_bad_value_changes_nothing(url: str, world: World, vault: Vault) -> None:
    before = _counts(vault)
    with client(url, world, "investigator", "CASE", CASE) as sr:
        with pytest.raises(ValidationError, match="status"):
            sr.update_incident(world.incident, {"status": "exploded"})
        with pytest.raises(ValidationError, match="body"):
            sr.update_incident(world.incident, {})
        assert sr.get_incident(world.incident).version == 1
    assert _counts(vault) == before


def test_break_glass_header(url: str, world: World) -> None:
    with client(url, world, "investigator", "CASE", "B-77") as sr:
        got = sr.get_person(world.person, break_glass="孩子失踪 需要联系家属")
        assert got.break_glass and got.fields["resident_id"] == PERSON["resident_id"]


def test_several_roles_must_name_the_acting_one(url: str, world: World) -> None:
    svc = world.service
    svc.principals.add("dual-1", roles=["call_taker", "analyst"], home_region="110000")
    from datetime import timedelta

    secret, _ = svc.tokens.issue("dual-1", "t", timedelta(days=1))
    with Client(url, secret, purpose="CALL") as sr:
        with pytest.raises(ValidationError, match="Strongroom-Role"):
            sr.search_persons(resident_id=PERSON["resident_id"])
        assert (
            sr.with_purpose("CALL", role="call_taker")
            .search_persons(resident_id=PERSON["resident_id"])
            .items
        )
        with pytest.raises(DeniedError):
            sr.with_purpose("CALL", role="admin").search_persons(resident_id=PERSON["resident_id"])


def test_failed_authentication_is_rate_limited(vault: Vault) -> None:
    world = build_world(vault, limiter=FailureLimiter(max_failures=3, per_seconds=60))
    token = "sr_aaaaaaaa_" + "a" * 52
    with serving(create_app(world.service)) as url, Client(url, token, purpose="CALL") as bad:
        for _ in range(3):
            with pytest.raises(AuthenticationError):
                bad.search_persons(resident_id=PERSON["resident_id"])
        with pytest.raises(RateLimitedError):
            bad.search_persons(resident_id=PERSON["resident_id"])


def test_admin_erases_a_person_with_a_legal_basis(url: str, world: World, vault: Vault) -> None:
    with client(url, world, "admin", "ADMIN") as admin:
        with pytest.raises(ValidationError, match="legal_basis"):
            admin.request("POST", f"/v1/persons/{world.person}/erase", json={})
        admin.request(
            "POST", f"/v1/persons/{world.person}/erase", json={"legal_basis": "court order 17"}
        )
    with client(url, world, "investigator", "CASE", CASE) as sr:
        with pytest.raises(NotFoundError):
            sr.get_person(world.person)
        assert sr.search_persons(resident_id=PERSON["resident_id"]).items == []
