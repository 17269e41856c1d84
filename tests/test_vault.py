"""The Vault facade on SQLite and PostgreSQL: put, get, find, update, delete, bad input."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from strongroom import (
    AccessError,
    Actor,
    ConflictError,
    NotFoundError,
    OpenError,
    Purpose,
    ValidationError,
    Vault,
)
from strongroom.store import blind_index, records
from tests.conftest import ACTOR, PURPOSE

PERSON = {
    "name": " 王  小明 ",
    "resident_id": "11010519491231002x",
    "phones": ["138 1234 5678", "+86 139-0000-0000"],
    "date_of_birth": "1949-12-31",
    "place_of_birth": "北京市朝阳区",
    "sex": "F",
    "region": "110000",
}
KW: dict[str, Any] = {"actor": ACTOR, "purpose": PURPOSE}


def _rows(v: Vault) -> tuple[int, int]:
    with v.store.engine.connect() as c:
        n = c.execute(sa.select(sa.func.count()).select_from(records)).scalar_one()
        t = c.execute(sa.select(sa.func.count()).select_from(blind_index)).scalar_one()
    return int(n), int(t)


def test_put_normalises_and_get_returns_it(vault: Vault) -> None:
    r = vault.put("person", PERSON, **KW)
    assert r.fields["name"] == "王 小明"
    assert r.fields["resident_id"] == "11010519491231002X"
    assert r.fields["phones"] == ["+8613812345678", "+8613900000000"]
    got = vault.get("person", r.ref, **KW)
    assert got.fields == r.fields and got.version == 1 and got.region == "110000"


@pytest.mark.parametrize(
    "criteria",
    [
        {"resident_id": "11010519491231002X"},
        {"resident_id": "１１０１０５１９４９１２３１００２ｘ"},  # noqa: RUF001 - full-width on purpose
        {"phones": "13812345678"},
        {"phone": "+86 139 0000 0000"},
        {"name": "王 小明"},
        {"name": "王  小明", "date_of_birth": "1949-12-31"},
    ],
    ids=["id", "id-fullwidth", "phone", "phone-alias", "name", "name+dob"],
)
def test_find_by_each_index(vault: Vault, criteria: dict[str, str]) -> None:
    r = vault.put("person", PERSON, **KW)
    vault.put(
        "person",
        {
            **PERSON,
            "resident_id": "440524188001010014",
            "name": "李四",
            "phones": ["13700000000"],
            "date_of_birth": None,
            "sex": None,
        },
        **KW,
    )
    found = vault.find("person", criteria, **KW)
    assert [f.ref for f in found] == [r.ref]


def test_find_misses_and_bad_criteria(vault: Vault) -> None:
    vault.put("person", PERSON, **KW)
    assert vault.find("person", {"resident_id": "440524188001010014"}, **KW) == []
    assert vault.find("person", {"name": "王 小明", "date_of_birth": "1950-01-01"}, **KW) == []
    with pytest.raises(ValidationError, match="no index covers"):
        vault.find("person", {"place_of_birth": "北京"}, **KW)
    with pytest.raises(ValidationError, match="resident_id"):
        vault.find("person", {"resident_id": "110105194912310021"}, **KW)


def test_incidents_of_a_person_and_by_case_ref(vault: Vault) -> None:
    p = vault.put("person", PERSON, **KW)
    inc = {
        "received_at": "2020-01-02T03:04:05+08:00",
        "channel": "call",
        "category": "fraud",
        "location": "朝阳区",
        "narrative": "报警人称被骗。",
        "case_ref": "A110105-2020-000001",
        "parties": [{"person": p.ref, "role": "victim"}],
        "status": "open",
        "region": "110000",
    }
    i1 = vault.put("incident", inc, **KW)
    i2 = vault.put("incident", {**inc, "received_at": "2021-05-01T00:00:00Z"}, **KW)
    assert {x.ref for x in vault.incidents_of(p.ref, **KW)} == {i1.ref, i2.ref}
    assert len(vault.find("incident", {"case_ref": "A110105-2020-000001"}, **KW)) == 2


def test_incident_with_unknown_person_is_rejected(vault: Vault) -> None:
    inc = {
        "received_at": "2020-01-02T03:04:05+08:00",
        "channel": "call",
        "category": "fraud",
        "parties": [{"person": "01a22758-1ea3-7ddd-951f-1819bda37d38", "role": "victim"}],
        "status": "open",
        "region": "110000",
    }
    with pytest.raises(ValidationError, match=r"parties\[0\]\.person: no such record"):
        vault.put("incident", inc, **KW)
    assert _rows(vault) == (0, 0)


def test_update_keeps_old_version_and_moves_index(vault: Vault) -> None:
    r = vault.put("person", PERSON, **KW)
    u = vault.update("person", r.ref, {"phones": ["13700000001"], "place_of_birth": None}, **KW)
    assert u.version == 2 and "place_of_birth" not in u.fields
    assert vault.find("person", {"phones": "13812345678"}, **KW) == []
    assert [x.ref for x in vault.find("person", {"phones": "13700000001"}, **KW)] == [r.ref]
    assert vault.get("person", r.ref, **KW).version == 2
    hist = vault.history("person", r.ref, **KW)
    assert [h.version for h in hist] == [1, 2]
    assert hist[0].fields["phones"] == ["+8613812345678", "+8613900000000"]


def test_update_cannot_change_region(vault: Vault) -> None:
    r = vault.put("person", PERSON, **KW)
    with pytest.raises(ValidationError, match="region"):
        vault.update("person", r.ref, {"region": "310000"}, **KW)


def test_delete_drops_from_indexes(vault: Vault) -> None:
    r = vault.put("person", PERSON, **KW)
    vault.delete("person", r.ref, **KW)
    assert vault.find("person", {"resident_id": PERSON["resident_id"]}, **KW) == []
    with pytest.raises(NotFoundError):
        vault.get("person", r.ref, **KW)
    assert _rows(vault) == (1, 0)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"resident_id": "11010519491231002"}, "resident_id"),
        ({"resident_id": "110105194912310021"}, "resident_id"),
        ({"phones": ["12345"]}, "phones[0]"),
        ({"phones": "13812345678"}, "phones"),
        ({"date_of_birth": "1950-01-01"}, "date_of_birth"),
        ({"sex": "M"}, "sex"),
        ({"sex": "unknown"}, "sex"),
        ({"name": ""}, "name"),
        ({"name": "x" * 65}, "name"),
        ({"region": None}, "region"),
        ({"region": "not a region!"}, "region"),
        ({"place_of_birth": "a" * 129}, "place_of_birth"),
        ({"nickname": "x"}, "nickname"),
    ],
)
def test_bad_input_names_the_field_and_changes_nothing(
    vault: Vault, change: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as err:
        vault.put("person", {**PERSON, **change}, **KW)
    assert field in [e.field for e in err.value.errors]
    for v in change.values():
        if isinstance(v, str) and len(v) > 3:
            assert v not in str(err.value)
    assert _rows(vault) == (0, 0)


def _keys(v: Vault) -> int:
    from strongroom.crypto._keystore import dek_table

    with v.engines()[1].connect() as c:
        return int(c.execute(sa.select(sa.func.count()).select_from(dek_table)).scalar_one())


def test_duplicate_resident_id_is_a_conflict_and_writes_nothing(vault: Vault) -> None:
    vault.put("person", PERSON, **KW)
    before = _rows(vault), _keys(vault)
    with pytest.raises(ConflictError, match="resident_id"):
        vault.put("person", {**PERSON, "name": "别人", "phones": []}, **KW)
    assert (_rows(vault), _keys(vault)) == before


@pytest.mark.parametrize(
    ("actor", "purpose"),
    [(Actor(""), PURPOSE), (ACTOR, Purpose("")), (ACTOR, None), (None, PURPOSE)],
    ids=["no-actor-id", "empty-purpose", "no-purpose", "no-actor"],
)
def test_every_call_needs_actor_and_purpose(vault: Vault, actor: Any, purpose: Any) -> None:
    with pytest.raises(AccessError):
        vault.put("person", PERSON, actor=actor, purpose=purpose)
    with pytest.raises(AccessError):
        vault.find("person", {"resident_id": "11010519491231002X"}, actor=actor, purpose=purpose)
    assert _rows(vault) == (0, 0)


def test_ciphertext_moved_between_rows_does_not_open(vault: Vault) -> None:
    a = vault.put("person", PERSON, **KW)
    b = vault.put(
        "person",
        {
            **PERSON,
            "resident_id": "440524188001010014",
            "phones": [],
            "date_of_birth": None,
            "sex": None,
        },
        **KW,
    )
    with vault.store.engine.begin() as c:
        sealed_a = c.execute(
            sa.select(records.c.sealed).where(records.c.id == bytes.fromhex(a.ref.replace("-", "")))
        ).scalar_one()
        c.execute(
            records.update()
            .where(records.c.id == bytes.fromhex(b.ref.replace("-", "")))
            .values(sealed=sealed_a)
        )
    with pytest.raises(OpenError):
        vault.get("person", b.ref, **KW)


def test_unknown_collection_and_bad_ref(vault: Vault) -> None:
    with pytest.raises(ValidationError, match="collection"):
        vault.get("vehicle", "x", **KW)
    with pytest.raises(ValidationError, match="ref"):
        vault.get("person", "not-a-uuid", **KW)
    with pytest.raises(NotFoundError):
        vault.get("person", "01a22758-1ea3-7ddd-951f-1819bda37d38", **KW)


def test_reopen_with_passphrase(vault: Vault, vault_dirs: tuple[Any, Any]) -> None:
    r = vault.put("person", PERSON, **KW)
    vault.close()
    from tests.conftest import PASSPHRASE

    with Vault.open(*vault_dirs, PASSPHRASE) as again:
        assert again.get("person", r.ref, **KW).fields["resident_id"] == "11010519491231002X"


def test_service_keys_are_stable_and_separate(vault: Vault) -> None:
    a = vault.keyring.service_key("api-token-hash")
    assert len(a) == 32
    assert vault.keyring.service_key("api-token-hash") == a
    assert vault.keyring.service_key("audit-subject") != a


def test_find_never_scans_sealed_records(vault: Vault) -> None:
    """The find query is index probes only: no full scan of records or of the index."""
    from strongroom.store._records import _BY_TOKENS

    vault.put("person", PERSON, **KW)
    engine = vault.engines()[0]
    stmt = _BY_TOKENS.params(tokens=[1, 2, 3], collection="person")
    sql = str(stmt.compile(engine, compile_kwargs={"literal_binds": True}))
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            plan = " | ".join(str(r[-1]) for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql))
            assert "SCAN" not in plan, plan
        else:
            conn.exec_driver_sql("SET enable_seqscan = off")  # tiny tables: ask what it can do
            plan = " | ".join(str(r[0]) for r in conn.exec_driver_sql("EXPLAIN " + sql))
            assert "Seq Scan" not in plan, plan


def test_month_keys_made_by_two_writers_agree(vault: Vault, vault_dirs: tuple[Any, Any]) -> None:
    from tests.conftest import PASSPHRASE

    with Vault.open(*vault_dirs, PASSPHRASE) as other:
        # this keyring reads nothing yet; the other creates 2020-01 first
        vault.keyring.month_key("110000", "incident", "2020-01")
        other.keyring.ensure_month_keys(
            {("110000", "incident", "2020-01"), ("110000", "incident", "2020-02")}
        )
        for month in ("2020-01", "2020-02"):
            mine = vault.keyring.month_key("110000", "incident", month)
            theirs = other.keyring.month_key("110000", "incident", month)
            assert mine.key_id == theirs.key_id


def test_month_keys_race_on_insert_falls_back(vault: Vault, vault_dirs: tuple[Any, Any]) -> None:
    from tests.conftest import PASSPHRASE

    with Vault.open(*vault_dirs, PASSPHRASE) as other:
        wanted = {("110000", "incident", "2021-03")}
        real = other.keyring._store.month_deks
        # the other writer reads before this one creates: its bulk insert then collides
        other.keyring._store.month_deks = lambda ids: []  # type: ignore[method-assign]
        vault.keyring.ensure_month_keys(wanted)
        other.keyring.ensure_month_keys(wanted)
        other.keyring._store.month_deks = real  # type: ignore[method-assign]
        a = vault.keyring.month_key("110000", "incident", "2021-03")
        b = other.keyring.month_key("110000", "incident", "2021-03")
        assert a.key_id == b.key_id
