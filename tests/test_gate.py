"""The Gate: policy decides every access by a principal, per field, on real vaults."""

from __future__ import annotations

from typing import Any

import pytest

from strongroom import Vault
from strongroom.errors import NotFoundError, ValidationError
from strongroom.gate import Ask, Gate
from strongroom.policy import DeniedError, PolicyEngine, PolicyError, Principal
from tests._world import CASE, incident
from tests.conftest import ACTOR, PURPOSE
from tests.test_vault import PERSON

KW: dict[str, Any] = {"actor": ACTOR, "purpose": PURPOSE}


@pytest.fixture
def world(vault: Vault) -> tuple[Gate, str, str]:
    p = vault.put("person", PERSON, **KW)
    i = vault.put("incident", incident(p.ref), **KW)
    return Gate(vault), p.ref, i.ref


def who(role: str, region: str = "110000", cases: tuple[str, ...] = (), **kw: Any) -> Principal:
    return Principal(f"{role}-1", role, kw.pop("unit", ""), region, frozenset(cases), **kw)


def test_call_taker_finds_a_person_masked(world: tuple[Gate, str, str]) -> None:
    gate, pref, _ = world
    page = gate.search(Ask(who("call_taker"), "CALL"), "person", {"phone": "13812345678"})
    assert [r.ref for r in page.items] == [pref]
    fields = page.items[0].fields
    assert fields["resident_id"] == "110105********002X"
    assert fields["phones"] == ["+86 138****5678", "+86 139****0000"]
    assert fields["name"] == "王*" and fields["date_of_birth"] == "1949"
    assert "place_of_birth" not in fields and fields["sex"] == "F"


def test_call_taker_may_not_search_by_name(world: tuple[Gate, str, str]) -> None:
    gate, _, _ = world
    with pytest.raises(DeniedError):
        gate.search(Ask(who("call_taker"), "CALL"), "person", {"name": "王 小明"})


def test_investigator_reads_in_full_only_on_an_assigned_case(
    world: tuple[Gate, str, str],
) -> None:
    gate, pref, iref = world
    inv = who("investigator", cases=(CASE,))
    got = gate.get(Ask(inv, "CASE", CASE), "person", pref)
    assert got.fields["resident_id"] == "11010519491231002X"
    assert gate.get(Ask(inv, "CASE", CASE), "incident", iref).fields["case_ref"] == CASE
    other = who("investigator", cases=("B-1",))
    with pytest.raises(DeniedError):
        gate.get(Ask(other, "CASE", "B-1"), "person", pref)
    with pytest.raises(DeniedError):
        gate.get(Ask(other, "CASE", CASE), "incident", iref)
    page = gate.incidents_of_person(Ask(inv, "CASE", CASE), pref)
    assert [r.ref for r in page.items] == [iref]


def test_other_region_sees_nothing(world: tuple[Gate, str, str]) -> None:
    gate, pref, _ = world
    inv = who("investigator", region="310000", cases=(CASE,))
    with pytest.raises(DeniedError):
        gate.get(Ask(inv, "CASE", CASE), "person", pref)
    page = gate.search(Ask(who("call_taker", "310000"), "CALL"), "person", {"phone": "13812345678"})
    assert page.items == []


def test_citizen_reads_only_own_record(world: tuple[Gate, str, str]) -> None:
    gate, pref, _ = world
    mine = gate.subject_token("11010519491231002x").hex()
    got = gate.get(Ask(who("citizen", resident_id_token=mine), "SELF"), "person", pref)
    assert got.fields["name"] == "王 小明"
    theirs = "ab" * 32
    with pytest.raises(DeniedError):
        gate.get(Ask(who("citizen", resident_id_token=theirs), "SELF"), "person", pref)


@pytest.mark.parametrize("role", ["admin", "auditor", "analyst"])
def test_system_roles_never_read_records(world: tuple[Gate, str, str], role: str) -> None:
    gate, pref, _ = world
    for purpose in ("CALL", "CASE"):
        with pytest.raises((DeniedError, PolicyError)):
            gate.get(Ask(who(role, cases=(CASE,)), purpose, CASE), "person", pref)


def test_analyst_gets_counts_only(world: tuple[Gate, str, str]) -> None:
    gate, _, _ = world
    assert gate.statistics(Ask(who("analyst"), "STATS")) == {"person": 1, "incident": 1}
    with pytest.raises(DeniedError):
        gate.statistics(Ask(who("call_taker"), "STATS"))


def test_purpose_is_required_and_must_be_registered(world: tuple[Gate, str, str]) -> None:
    gate, pref, _ = world
    with pytest.raises(PolicyError, match="purpose"):
        gate.get(Ask(who("call_taker"), ""), "person", pref)
    with pytest.raises(PolicyError, match="purpose"):
        gate.get(Ask(who("call_taker"), "GOSSIP"), "person", pref)
    with pytest.raises(PolicyError, match="case"):
        gate.get(Ask(who("investigator", cases=(CASE,)), "CASE"), "person", pref)


def test_writes_are_decided_before_anything_is_written(world: tuple[Gate, str, str]) -> None:
    gate, pref, iref = world
    before = gate.vault.counts()
    with pytest.raises(DeniedError):  # a call taker creates incidents, not persons
        gate.create(
            Ask(who("call_taker"), "CALL"),
            "person",
            {**PERSON, "resident_id": "110105194912310046"},
        )
    with pytest.raises(DeniedError):
        gate.delete(Ask(who("investigator", cases=(CASE,)), "CASE", CASE), "incident", iref)
    assert gate.vault.counts() == before
    made = gate.create(Ask(who("call_taker"), "CALL"), "incident", incident(pref, "C-2"))
    assert made.fields == {} and not made.decision.allowed  # may create, may not read C-2
    sup = who("supervisor", cases=(CASE,))
    gate.delete(Ask(sup, "CASE", CASE), "incident", iref)
    with pytest.raises(NotFoundError):
        gate.get(Ask(sup, "CASE", CASE), "incident", iref)


def test_update_needs_the_case_before_and_after(world: tuple[Gate, str, str]) -> None:
    gate, _, iref = world
    inv = Ask(who("investigator", cases=(CASE,)), "CASE", CASE)
    with pytest.raises(DeniedError):  # moving the incident out of the case
        gate.update(inv, "incident", iref, {"case_ref": "B-9"})
    out = gate.update(inv, "incident", iref, {"status": "closed"})
    assert out.version == 2 and out.fields["status"] == "closed"


def test_break_glass_is_marked(world: tuple[Gate, str, str]) -> None:
    gate, pref, _ = world
    inv = who("investigator", cases=("B-1",))
    got = gate.get(Ask(inv, "CASE", "B-1", True, "imminent danger to life"), "person", pref)
    assert got.decision.break_glass and got.fields["name"] == "王 小明"
    with pytest.raises(DeniedError):
        gate.get(Ask(inv, "CASE", "B-1", True, ""), "person", pref)


def test_pages_and_bad_cursors(world: tuple[Gate, str, str]) -> None:
    gate, pref, _ = world
    for _ in range(3):
        gate.vault.put("incident", incident(pref), **KW)
    inv = Ask(who("investigator", cases=(CASE,)), "CASE", CASE)
    seen: list[str] = []
    cursor = None
    while True:
        page = gate.incidents_of_case(inv, CASE, limit=3, cursor=cursor)
        seen += [r.ref for r in page.items]
        cursor = page.cursor
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 4
    with pytest.raises(ValidationError, match="cursor"):
        gate.incidents_of_case(inv, CASE, cursor="nonsense")
    with pytest.raises(ValidationError, match="limit"):
        gate.incidents_of_case(inv, CASE, limit=101)


def test_an_empty_policy_set_denies_everything(world: tuple[Gate, str, str]) -> None:
    gate, pref, _ = world
    empty = Gate(gate.vault, policy=PolicyEngine.from_text(""))
    inv = who("investigator", cases=(CASE,))
    with pytest.raises(DeniedError):
        empty.get(Ask(inv, "CASE", CASE), "person", pref)
