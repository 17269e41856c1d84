"""The audit log on real vaults: entries for every access, sequencing, proofs, tampering
(direct SQL on SQLite and PostgreSQL), fail-closed reads, citizens' receipts, witnesses."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from strongroom import Vault
from strongroom.audit import verify_consistency, verify_inclusion
from strongroom.audit._log import leaf_hash
from strongroom.audit._note import generate_cosigner, signature_for, signer_from_key
from strongroom.audit._receipt import make_receipt, verify_receipt
from strongroom.audit._tables import audit_entries, audit_pending
from strongroom.errors import StoreError, ValidationError
from strongroom.gate import Ask, Gate
from strongroom.policy import DeniedError, Principal
from tests._world import CASE, PERSON, REGION, incident
from tests.conftest import ACTOR, PURPOSE

KW: dict[str, Any] = {"actor": ACTOR, "purpose": PURPOSE}


def who(role: str, cases: tuple[str, ...] = (), **kw: Any) -> Principal:
    return Principal(f"{role}-1", role, "A110105", REGION, frozenset(cases), **kw)


@pytest.fixture
def world(vault: Vault) -> tuple[Gate, str, str]:
    p = vault.put("person", PERSON, **KW)
    i = vault.put("incident", incident(p.ref), **KW)
    return Gate(vault), p.ref, i.ref


def _docs(vault: Vault) -> list[dict[str, Any]]:
    vault.audit.sequence()
    return [x.json() for x in vault.audit.entries()]


def test_every_access_is_an_entry_without_contents(world: tuple[Gate, str, str]) -> None:
    gate, pref, iref = world
    vault = gate.vault
    inv = Ask(who("investigator", (CASE,)), "CASE", CASE, request_id="req-1")
    gate.get(inv, "person", pref)
    gate.search(Ask(who("call_taker"), "CALL"), "person", {"phone": PERSON["phones"][0]})
    with pytest.raises(DeniedError):
        gate.get(Ask(who("investigator", ("B-1",)), "CASE", "B-1"), "person", pref)
    gate.update(inv, "incident", iref, {"status": "closed"})
    docs = _docs(vault)
    assert [d["action"] for d in docs] == [
        "create", "create", "read", "search", "read", "update",
    ]  # fmt: skip
    assert [d["outcome"] for d in docs][-4:] == ["allowed", "allowed", "denied", "allowed"]
    read = docs[2]
    mine = vault.subject(PERSON["resident_id"])
    assert read["records"] == [pref] and read["subjects"] == [base64.b64encode(mine).decode()]
    assert read["actor"] == {"id": "investigator-1", "role": "investigator", "unit": "A110105"}
    assert read["purpose"]["code"] == "CASE" and read["purpose"]["legal_basis"]
    assert "resident_id" in read["fields"] and read["request_id"] == "req-1"
    # the incident names the person: its update is about them too
    assert docs[-1]["subjects"] == read["subjects"]
    raw = b"".join(x.entry for x in vault.audit.entries())
    for value in (PERSON["name"], PERSON["resident_id"], "13812345678", PERSON["place_of_birth"]):
        assert value.encode() not in raw
    assert [x.index for x in vault.audit.entries()] == list(range(len(docs)))


def test_break_glass_justification_is_sealed(world: tuple[Gate, str, str]) -> None:
    gate, pref, _ = world
    why = "child missing, calling the family"
    gate.get(Ask(who("investigator", ("B-1",)), "CASE", "B-1", True, why), "person", pref)
    doc = _docs(gate.vault)[-1]
    assert doc["break_glass"] is True and why not in json.dumps(doc)
    from strongroom.audit._entry import open_justification

    sealed = base64.b64decode(doc["justification"])
    assert open_justification(gate.vault.audit.seal_key, sealed) == why


def test_proofs_verify(world: tuple[Gate, str, str]) -> None:
    gate, pref, _ = world
    audit = gate.vault.audit
    for _ in range(40):
        gate.get(Ask(who("investigator", (CASE,)), "CASE", CASE), "person", pref)
    audit.checkpoint()
    size, root = audit.state()
    assert size == 42
    for index in (0, 17, 41):
        s, r, proof = audit.inclusion(index)
        assert (s, r) == (size, root)
        verify_inclusion(index, size, leaf_hash(audit.entry(index)), proof, root)
    old, old_root, new, new_root, proof = audit.consistency(5)
    verify_consistency(old, new, proof, old_root, new_root)
    assert audit.verify().ok


def _corrupt(vault: Vault, how: str) -> None:
    e = audit_entries
    with vault.store.engine.begin() as conn:
        if how == "byte":
            row = conn.execute(sa.select(e.c.entry).where(e.c.idx == 3)).one()
            data = bytearray(row.entry)
            data[10] ^= 0x01
            conn.execute(e.update().where(e.c.idx == 3).values(entry=bytes(data)))
        elif how == "delete":
            conn.execute(e.delete().where(e.c.idx == 3))
        elif how == "insert":
            row = conn.execute(sa.select(e).where(e.c.idx == 3)).one()
            conn.execute(e.update().where(e.c.idx >= 3).values(idx=e.c.idx + 100))
            conn.execute(e.update().where(e.c.idx >= 103).values(idx=e.c.idx - 99))
            conn.execute(e.insert().values({**row._mapping, "idx": 3, "entry": b'{"forged":1}'}))
        elif how == "swap":
            a = conn.execute(sa.select(e.c.entry).where(e.c.idx == 3)).one().entry
            b = conn.execute(sa.select(e.c.entry).where(e.c.idx == 4)).one().entry
            conn.execute(e.update().where(e.c.idx == 3).values(entry=b))
            conn.execute(e.update().where(e.c.idx == 4).values(entry=a))
        elif how == "truncate":
            conn.execute(e.delete().where(e.c.idx >= 6))


@pytest.mark.parametrize(
    ("how", "index"),
    [("byte", 3), ("delete", 3), ("insert", 3), ("swap", 3), ("truncate", 6)],
)
def test_tampering_is_found_and_named(world: tuple[Gate, str, str], how: str, index: int) -> None:
    gate, pref, _ = world
    audit = gate.vault.audit
    for _ in range(8):
        gate.get(Ask(who("investigator", (CASE,)), "CASE", CASE), "person", pref)
    audit.checkpoint()
    assert audit.verify().ok
    _corrupt(gate.vault, how)
    report = audit.verify()
    assert not report.ok
    assert report.problems[0].index == index, report.problems


def test_reads_fail_closed_when_the_log_cannot_be_written(
    world: tuple[Gate, str, str], backend: str
) -> None:
    gate, pref, iref = world
    engine = gate.vault.store.engine
    with engine.connect() as conn:
        pending = conn.execute(sa.select(sa.func.count()).select_from(audit_pending)).scalar_one()
    with engine.begin() as conn:
        if backend == "sqlite":
            conn.execute(sa.text(
                "CREATE TRIGGER audit_off BEFORE INSERT ON audit_pending "
                "BEGIN SELECT RAISE(ABORT, 'audit log is read-only'); END"
            ))  # fmt: skip
        else:
            conn.execute(sa.text(
                "CREATE FUNCTION audit_off() RETURNS trigger AS $$ BEGIN "
                "RAISE EXCEPTION 'audit log is read-only'; END $$ LANGUAGE plpgsql"
            ))  # fmt: skip
            conn.execute(sa.text(
                "CREATE TRIGGER audit_off BEFORE INSERT ON audit_pending "
                "FOR EACH ROW EXECUTE FUNCTION audit_off()"
            ))  # fmt: skip
    inv = Ask(who("investigator", (CASE,)), "CASE", CASE)
    with pytest.raises(StoreError, match="audit"):
        gate.get(inv, "person", pref)
    with pytest.raises(StoreError, match="audit"):
        gate.search(
            Ask(who("call_taker"), "CALL"), "person", {"resident_id": PERSON["resident_id"]}
        )
    with pytest.raises(StoreError):  # a write and its entry commit together or not at all
        gate.update(inv, "incident", iref, {"status": "closed"})
    with engine.connect() as conn:
        n = conn.execute(sa.select(sa.func.count()).select_from(audit_pending)).scalar_one()
        versions = conn.execute(sa.text("SELECT count(*) FROM records")).scalar_one()
    assert n == pending
    assert versions == 2  # the person and the incident, version 1 each: nothing written


def test_covert_entries_are_embargoed(world: tuple[Gate, str, str]) -> None:
    gate, pref, _ = world
    audit = gate.vault.audit
    gate.get(Ask(who("investigator", (CASE,)), "COVERT-CASE", CASE), "person", pref)
    gate.get(Ask(who("investigator", (CASE,)), "CASE", CASE), "person", pref)
    audit.sequence()
    mine = gate.vault.subject(PERSON["resident_id"])
    now = datetime.now(UTC)
    seen = [x.json()["purpose"]["code"] for x in audit.search(subject=mine, visible_at=now)]
    assert "COVERT-CASE" not in seen and "CASE" in seen
    later = now + timedelta(days=366)
    seen = [x.json()["purpose"]["code"] for x in audit.search(subject=mine, visible_at=later)]
    assert "COVERT-CASE" in seen
    other = gate.vault.subject("110105194912310046")
    assert audit.search(subject=other, visible_at=later) == []


def test_receipts_verify_offline_and_any_changed_byte_fails(
    world: tuple[Gate, str, str],
) -> None:
    gate, pref, _ = world
    audit = gate.vault.audit
    gate.get(Ask(who("investigator", (CASE,)), "CASE", CASE), "person", pref)
    note = audit.checkpoint()
    skey, vkey = generate_cosigner("witness.example/w1")
    from strongroom.audit._note import verifier_from_key

    witness = verifier_from_key(vkey)
    size = audit.state()[0]
    line = signature_for(note.split("\n\n")[0] + "\n", signer_from_key(skey)).line
    audit.add_cosignature(size, witness, line)
    cosigned = audit.cosigned(1, [witness])
    assert cosigned is not None
    index = size - 1
    _s, _r, proof = audit.inclusion(index, size)
    receipt = make_receipt(audit.entry(index), index, proof, cosigned)
    ok = verify_receipt(receipt, audit.verifier, [witness], required=1, origin=audit.origin)
    assert ok.index == index and ok.witnesses == ("witness.example/w1",)
    data = receipt.encode()
    for i in range(len(data)):
        bad = bytearray(data)
        bad[i] ^= 0x01
        try:
            text = bytes(bad).decode("utf-8")
        except UnicodeDecodeError:
            continue
        with pytest.raises(ValidationError):
            verify_receipt(text, audit.verifier, [witness], required=1, origin=audit.origin)


def test_pending_entries_survive_a_crash_before_sequencing(
    vault: Vault, vault_dirs: tuple[Any, Any]
) -> None:
    """Entries committed with their accesses but not yet sequenced (the process died) are
    sequenced by the next sequencer, contiguously, after what was already in the log."""
    from tests.conftest import PASSPHRASE

    p = vault.put("person", PERSON, **KW)
    vault.audit.sequence()
    for _ in range(5):
        vault.get("person", p.ref, **KW)
    assert vault.audit.pending() == 5
    vault.close()  # as if the process ended here
    with Vault.open(*vault_dirs, PASSPHRASE) as again:
        assert again.audit.pending() == 5
        assert again.audit.sequence() == 5
        assert [x.index for x in again.audit.entries()] == list(range(6))
        assert again.audit.verify().ok
