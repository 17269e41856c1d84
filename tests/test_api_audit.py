"""The audit log through the API: citizens' accesses and receipts, auditors' search, and a
witness that cosigns and refuses a rolled-back log."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from strongroom import Client, Vault
from strongroom.api import create_app
from strongroom.audit._note import Checkpoint, generate_cosigner, sign_note
from strongroom.audit._tables import audit_checkpoints
from strongroom.cli import app
from strongroom.policy import DeniedError
from tests._server import serving
from tests._world import CASE, PERSON, World, build_world

runner = CliRunner()


@pytest.fixture
def world(vault: Vault) -> World:
    return build_world(vault)


@pytest.fixture
def url(world: World) -> Iterator[str]:
    with serving(create_app(world.service)) as base:
        yield base


def _client(url: str, world: World, role: str, purpose: str, case: str | None = None) -> Client:
    return Client(url, world.tokens[role], purpose=purpose, case_ref=case)


def test_citizen_sees_own_accesses_with_receipts(url: str, world: World, tmp_path: Path) -> None:
    with _client(url, world, "investigator", "CASE", CASE) as inv:
        inv.get_person(world.person)
        inv.with_purpose("COVERT-CASE", CASE).get_person(world.person)
        inv.get_incident(world.incident)
    with _client(url, world, "call_taker", "CALL") as ct:
        ct.search_persons(resident_id="110105194912310046")  # somebody else: no match
    with _client(url, world, "citizen", "SELF") as me:
        page = me.my_accesses()
        actions = [(a["action"], a["purpose"], a["actor"]["role"]) for a in page["items"]]
        # the two creates (custodian), the investigator's read and the incident read;
        # not the covert read (embargoed), not the call taker's search (not about them)
        assert ("read", "CASE", "investigator") in actions
        assert all(p != "COVERT-CASE" for _a, p, _r in actions)
        assert all(r != "call_taker" for _a, _p, r in actions)
        read = next(a for a in page["items"] if a["purpose"] == "CASE")
        assert "resident_id" in read["fields"] and read["legal_basis"]
        receipt = me.my_receipt(read["index"])
        with pytest.raises(DeniedError):
            me.with_purpose("SELF").audit_search(actor="investigator-1")
    log_key = str(world.service.gate.vault.audit.verifier)
    path = tmp_path / "r.tlog-proof"
    path.write_text(receipt, encoding="utf-8")
    ok = runner.invoke(app, ["audit", "verify-receipt", str(path), "--log-key", log_key, "--json"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["entry"]["actor"]["id"] == "investigator-1"
    path.write_text(receipt.replace("index ", "index 1"), encoding="utf-8")
    bad = runner.invoke(app, ["audit", "verify-receipt", str(path), "--log-key", log_key])
    assert bad.exit_code == 2 and "receipt" in bad.stderr


def test_another_citizen_sees_nothing_of_mine(url: str, world: World) -> None:
    svc = world.service
    svc.principals.add(
        "citizen-2",
        roles=["citizen"],
        home_region="110000",
        citizen_subject=svc.gate.subject_token("110105194912310046"),
    )
    from datetime import timedelta

    token, _ = svc.tokens.issue("citizen-2", "t", timedelta(days=1))
    with _client(url, world, "investigator", "CASE", CASE) as inv:
        inv.get_person(world.person)
    with Client(url, token, purpose="SELF") as other:
        assert other.my_accesses()["items"] == []
        with pytest.raises(Exception, match="no entry of yours"):
            other.my_receipt(2)


def test_auditor_searches_the_whole_log(url: str, world: World) -> None:
    with _client(url, world, "investigator", "CASE", CASE) as inv:
        inv.get_person(world.person)
    with _client(url, world, "auditor", "AUDIT") as aud:
        found = aud.audit_search(actor="investigator-1", action="read")
        assert [e["entry"]["records"] for e in found["items"]] == [[world.person]]
        about = aud.audit_search(resident_id=PERSON["resident_id"])
        assert len(about["items"]) >= 3
        text = json.dumps(found)
        assert PERSON["resident_id"] not in text and PERSON["name"] not in text


def test_witness_cosigns_and_refuses_a_rollback(vault: Vault, tmp_path: Path) -> None:
    skey, vkey = generate_cosigner("oversight.example/w1")
    (tmp_path / "w.key").write_text(skey + "\n", encoding="utf-8")
    vault.config = dataclasses.replace(vault.config, witnesses=(vkey,), required_cosignatures=1)
    world = build_world(vault)
    (tmp_path / "token").write_text(world.tokens["auditor"] + "\n", encoding="utf-8")
    audit = vault.audit
    log_key = str(audit.verifier)
    with serving(create_app(world.service, sequencer=False)) as url:
        args = [
            "witness", "run", "--url", url, "--token-file", str(tmp_path / "token"),
            "--key", str(tmp_path / "w.key"), "--log-key", log_key,
            "--state", str(tmp_path / "state.json"), "--alarm", str(tmp_path / "alarm"),
            "--once",
        ]  # fmt: skip
        first = runner.invoke(app, args)
        assert first.exit_code == 0, first.output
        with _client(url, world, "citizen", "SELF") as me:
            assert "oversight.example/w1" in me.audit_checkpoint()
        with _client(url, world, "investigator", "CASE", CASE) as inv:
            for _ in range(3):
                inv.get_person(world.person)
        second = runner.invoke(app, args)
        assert second.exit_code == 0, second.output
        cosigned = json.loads((tmp_path / "state.json").read_text())["size"]
        # the operator rolls the log back: a checkpoint of a smaller tree, signed by its key
        smaller = cosigned - 2
        _s, root, _p = audit.inclusion(0, smaller)
        note = sign_note(Checkpoint(audit.origin, smaller, root).text, [audit.signer])
        with vault.store.engine.begin() as conn:
            conn.execute(audit_checkpoints.delete())
            conn.execute(
                audit_checkpoints.insert().values(size=smaller, root=root, note=note, at=0)
            )
        audit.checkpoint = lambda: note  # type: ignore[method-assign]  # stop re-signing
        third = runner.invoke(app, args)
    assert third.exit_code == 12, third.output
    assert "rollback" in third.stderr
    alarm = json.loads((tmp_path / "alarm").read_text().splitlines()[-1])
    assert alarm["alarm"] == "rollback"
    with vault.store.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(audit_checkpoints)).scalar() == 1
