"""Blind-index key rotation: ``keys rotate --index``, ``keys rekey --index`` (the reindex
job), ``keys retire --index`` and status, on SQLite and PostgreSQL. Search and unique checks
before, during (half reindexed) and after; an update racing the reindex; a reindex killed
with SIGKILL and resumed; a reindex while other processes write."""

from __future__ import annotations

import os
import random
import sys
import threading
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import strongroom.crypto._keyring as keyring_module
from strongroom import Vault
from strongroom.batch._reindex import reindex, state_id
from strongroom.batch._rekey import retire, rotate, status
from strongroom.errors import ConflictError, NotFoundError
from strongroom.store import STATE_CURRENT, blind_index, records
from tests._world import REGION, incident
from tests.conftest import ACTOR, PASSPHRASE, PURPOSE
from tests.test_rotation import kill_mid_run, person, while_writing

KW: dict[str, Any] = {"actor": ACTOR, "purpose": PURPOSE}
FAST: dict[str, Any] = {**KW, "_settle": 0.0}


class Stop(Exception):
    """Raised from a progress callback: the job dies between two batches."""


def _die(done: int, total: int) -> None:
    raise Stop


def _found(vault: Vault, n: int) -> list[str]:
    return [r.ref for r in vault.find("person", {"resident_id": person(n)["resident_id"]}, **KW)]


def _index_state(vault: Vault, collection: str = "person") -> dict[int, str]:
    return {
        s["version"]: s["state"]
        for s in status(vault)
        if s["purpose"] == "index" and s["collection"] == collection
    }


def _tokens_exact(vault: Vault) -> None:
    """The blind index holds exactly every current record's tokens under its scope's active
    index version: none missing, none stale, none under an older version."""
    expected: set[tuple[int, bytes]] = set()
    with vault.engines()[0].connect() as conn:
        rows = list(conn.execute(sa.select(records).where(records.c.state == STATE_CURRENT)))
        actual = {(int(t), bytes(r)) for t, r in conn.execute(sa.select(blind_index))}
        count = conn.execute(sa.select(sa.func.count()).select_from(blind_index)).scalar()
    for row in rows:
        coll = vault.collection(row.collection)
        ix = vault.keyring.blind_indexer(row.region, row.collection, create=False)
        fields = vault.open_row(row).fields
        expected |= {(ix.token(n, v), bytes(row.id)) for n, v in coll.index_values(fields)}
    assert actual == expected
    assert count == len(actual)  # no duplicate rows (PostgreSQL's index has no key)


def test_rotate_search_unique_and_reindex(vault: Vault) -> None:
    refs = [vault.put("person", person(n), **KW).ref for n in range(12)]
    case = "A110105-2020-000005"
    vault.put("incident", incident(refs[0], case), **KW)
    done = rotate(vault, index=True, collection="person", **FAST)
    assert done == [{"region": REGION, "collection": "person", "version": 2}]
    assert _index_state(vault) == {1: "previous", 2: "active"}
    assert _index_state(vault, "incident") == {1: "active"}  # other scopes untouched

    # before the reindex: old records (tokens under v1) and new ones (v2) are both found
    new = vault.put("person", person(20), **KW).ref
    assert _found(vault, 3) == [refs[3]] and _found(vault, 20) == [new]
    by_phone = vault.find("person", {"phone": person(4)["phones"][0]}, **KW)
    assert [r.ref for r in by_phone] == [refs[4]]
    assert len(vault.find("incident", {"case_ref": case}, **KW)) == 1
    for n in (5, 20):  # unique values are checked under both versions
        with pytest.raises(ConflictError):
            vault.put("person", {**person(n), "phones": []}, **KW)
    # an update of a v1-indexed record: its v1 tokens go, v2 tokens come
    vault.update("person", refs[6], {"phones": ["+8613900000006"]}, **KW)
    assert vault.find("person", {"phone": person(6)["phones"][0]}, **KW) == []
    assert [r.ref for r in vault.find("person", {"phone": "+8613900000006"}, **KW)] == [refs[6]]
    vault.delete("person", refs[7], **KW)
    assert _found(vault, 7) == []
    with pytest.raises(ConflictError, match="rekey --index"):
        retire(vault, 1, region=REGION, collection="person", index=True, **KW)
    with pytest.raises(ConflictError, match="active"):
        retire(vault, 2, region=REGION, collection="person", index=True, **KW)

    # half reindexed: the job dies after its first batch
    seen: list[tuple[int, int]] = []

    def die(done: int, total: int) -> None:
        seen.append((done, total))
        raise Stop

    with pytest.raises(Stop):
        reindex(vault, batch_size=5, advance=die, **FAST)
    row = vault.store.import_state(state_id(_active_id(vault)))
    assert row.status == "running" and row.accepted == 5
    for n in (0, 3, 5, 9, 11, 20):  # records both sides of the position
        ref = new if n == 20 else refs[n]
        assert _found(vault, n) == [ref]
        with pytest.raises(ConflictError):
            vault.put("person", {**person(n), "phones": []}, **KW)
    with pytest.raises(ConflictError, match="rekey --index"):
        retire(vault, 1, region=REGION, collection="person", index=True, **KW)

    # resumed from the saved position, to completion
    summary = reindex(vault, batch_size=4, **FAST)
    assert summary.unopened == 0
    assert summary.records == 13 - 1 - 5  # 13 current persons, one deleted, 5 done before
    assert summary.scopes == [
        {"region": REGION, "collection": "person", "to": 2, "from": [1],
         "records": 12, "unopened": 0}
    ]  # fmt: skip
    assert reindex(vault, **FAST).scopes == []  # done: nothing left to do
    _tokens_exact(vault)
    retire(vault, 1, region=REGION, collection="person", index=True, **KW)
    assert _index_state(vault) == {1: "retired", 2: "active"}
    with pytest.raises(NotFoundError):
        retire(vault, 9, region=REGION, collection="person", index=True, **KW)
    for n in (0, 3, 9, 20):
        assert _found(vault, n) == [new if n == 20 else refs[n]]
    with pytest.raises(ConflictError):
        vault.put("person", {**person(11), "phones": []}, **KW)
    assert len(vault.find("incident", {"case_ref": case}, **KW)) == 1
    ops = _admin_details(vault)
    assert [(d["op"], d.get("purpose"), d.get("phase")) for d in ops if d.get("op")] == [
        ("rotate", "index", None),
        ("activate", "index", None),
        ("reindex", None, "start"),
        ("reindex", None, "start"),
        ("reindex", None, "finish"),
        ("retire", "index", None),
    ]
    assert vault.audit.verify().ok


def _active_id(vault: Vault, collection: str = "person") -> int:
    return next(
        v.id for v in vault.keyring.versions("index", REGION, collection) if v.state == "active"
    )


def _admin_details(vault: Vault) -> list[dict[str, Any]]:
    vault.audit.sequence()
    return [x.json()["detail"] for x in vault.audit.entries() if x.json()["collection"] == "keys"]


def test_another_process_sees_the_new_version_before_it_is_written_under(
    vault: Vault, vault_dirs: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pending version is searched (and unique-checked) by every process, then written
    under once active; a process that cached the old state picks both up after the TTL."""
    data, keys = vault_dirs
    a = vault.put("person", person(1), **KW).ref
    with Vault.open(data, keys, PASSPHRASE) as other:
        assert [r.ref for r in other.find("person", {"resident_id": person(1)["resident_id"]},
                                           **KW)] == [a]  # fmt: skip
        vault.keyring.rotate("index", REGION, "person", pending=True)
        assert _index_state(vault) == {1: "active", 2: "pending"}
        b = vault.put("person", person(2), **KW).ref  # still written under version 1
        monkeypatch.setattr(keyring_module, "KEK_TTL", 0.0)  # as if the TTL had passed
        assert len(other.keyring.blind_indexers(REGION, "person")) == 2
        assert other.keyring.blind_indexer(REGION, "person").version == 1
        vault.keyring.activate("index", REGION, "person")
        c = other.put("person", person(3), **KW).ref  # written under version 2
        assert other.keyring.blind_indexer(REGION, "person").version == 2
        for n, ref in ((1, a), (2, b), (3, c)):
            assert _found(vault, n) == [ref]
            with pytest.raises(ConflictError):
                other.put("person", {**person(n), "phones": []}, **KW)
    monkeypatch.setattr(keyring_module, "KEK_TTL", 2.0)
    reindex(vault, **FAST)
    _tokens_exact(vault)


def test_an_update_between_the_read_and_the_write_is_left_to_its_writer(
    vault: Vault, vault_dirs: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reindex opened a record; before its transaction locks it, another process updates
    it. The batch must not write the old version's tokens back (stale) nor drop the new
    version's (missing)."""
    data, keys = vault_dirs
    refs = [vault.put("person", person(n), **KW).ref for n in range(6)]
    rotate(vault, index=True, **FAST)
    store = vault.store
    original = store.lock_current
    raced: list[str] = []

    def racing(conn: sa.Connection, collection: str, versions: Any) -> Any:
        if not raced:
            with Vault.open(data, keys, PASSPHRASE) as other:
                other.update("person", refs[2], {"phones": ["+8613700000002"]}, **KW)
                other.delete("person", refs[4], **KW)
            raced.append("done")
        return original(conn, collection, versions)

    monkeypatch.setattr(store, "lock_current", racing)
    summary = reindex(vault, batch_size=100, **FAST)
    assert raced and summary.skipped == 2 and summary.records == 4
    monkeypatch.undo()
    _tokens_exact(vault)
    assert vault.find("person", {"phone": person(2)["phones"][0]}, **KW) == []
    assert [r.ref for r in vault.find("person", {"phone": "+8613700000002"}, **KW)] == [refs[2]]
    assert _found(vault, 4) == []
    retire(vault, 1, region=REGION, collection="person", index=True, **KW)
    assert _found(vault, 2) == [refs[2]]


def test_erase_and_a_second_rotation_during_the_migration(vault: Vault) -> None:
    refs = [vault.put("person", person(n), **KW).ref for n in range(5)]
    rotate(vault, index=True, **FAST)
    vault.erase(refs[1], legal_basis="court order (test)", **KW)
    with pytest.raises(Stop):
        reindex(vault, batch_size=2, advance=_die, **FAST)
    rotate(vault, index=True, **FAST)  # a third version while the second is half done
    assert _index_state(vault) == {1: "previous", 2: "previous", 3: "active"}
    for n in (0, 2, 3, 4):
        assert _found(vault, n) == [refs[n]]
    assert _found(vault, 1) == []
    with pytest.raises(ConflictError):
        retire(vault, 1, region=REGION, collection="person", index=True, **KW)
    summary = reindex(vault, **FAST)
    assert [s["from"] for s in summary.scopes] == [[1, 2]]
    _tokens_exact(vault)
    retire(vault, 1, region=REGION, collection="person", index=True, **KW)
    retire(vault, 2, region=REGION, collection="person", index=True, **KW)
    for n in (0, 2, 3, 4):
        assert _found(vault, n) == [refs[n]]


def test_a_restored_database_is_reindexed_again(vault: Vault) -> None:
    """A record database restored from before the reindex: its tokens are under a version
    retired since; running the reindex again gives every record its active-version tokens."""
    refs = [vault.put("person", person(n), **KW).ref for n in range(4)]
    rotate(vault, index=True, **FAST)
    engine = vault.engines()[0]
    with engine.connect() as conn:  # the "backup": index rows under version 1
        before = [tuple(r) for r in conn.execute(sa.select(blind_index))]
    reindex(vault, **FAST)
    retire(vault, 1, region=REGION, collection="person", index=True, **KW)
    with engine.begin() as conn:  # the "restore"
        conn.execute(blind_index.delete())
        conn.execute(blind_index.insert(), [{"token": t, "record_id": r} for t, r in before])
        conn.exec_driver_sql("DELETE FROM imports")
    assert _found(vault, 2) == []  # under a retired version: not found until reindexed
    assert reindex(vault, **FAST).records == 4
    for n, ref in enumerate(refs):
        assert _found(vault, n) == [ref]


# -- online: writes from other processes during the reindex ---------------------------------
def test_reindex_online_concurrent_writes(
    vault: Vault, vault_dirs: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    data, keys = vault_dirs
    monkeypatch.setattr(keyring_module, "KEK_TTL", 0.3)
    refs = [vault.put("person", person(n), **KW).ref for n in range(200)]
    rotate(vault, index=True, **{**KW, "_settle": 0.4})
    errors: list[BaseException] = []
    latest: dict[str, str] = {}
    added: dict[int, str] = {}
    stop = threading.Event()

    def worker(k: int) -> None:
        try:
            with Vault.open(data, keys, PASSPHRASE) as v:
                n = 0
                while not stop.is_set() or n < 5:
                    ref = refs[k * 60 + n % 60]
                    phone = f"+86137{k}{n:07d}"
                    v.update("person", ref, {"phones": [phone]}, **KW)
                    latest[ref] = phone
                    new = 1000 + k * 1000 + n
                    added[new] = v.put("person", person(new), **KW).ref
                    assert [r.ref for r in v.find("person", {"phone": phone}, **KW)] == [ref]
                    n += 1
        except BaseException as exc:
            errors.append(exc)

    summary = while_writing(
        worker, stop, partial(reindex, vault, batch_size=20, **{**KW, "_settle": 0.4})
    )
    assert not errors, errors
    assert summary.records + summary.skipped >= 200
    _tokens_exact(vault)
    retire(vault, 1, region=REGION, collection="person", index=True, **KW)
    for ref, phone in latest.items():
        assert [r.ref for r in vault.find("person", {"phone": phone}, **KW)] == [ref]
    for n, ref in added.items():
        assert _found(vault, n) == [ref]
    for n in range(180, 200):  # untouched by the writers
        assert _found(vault, n) == [refs[n]]
    assert vault.audit.verify().ok


# -- crash: SIGKILL mid-run, resumed ---------------------------------------------------------
_CHILD = """
import sys
from pathlib import Path
from strongroom import Vault
from strongroom.batch._reindex import reindex
from tests.conftest import ACTOR, PASSPHRASE, PURPOSE
def said(done, total):
    print("batch", done, total, flush=True)
with Vault.open(Path(sys.argv[1]), Path(sys.argv[2]), PASSPHRASE) as v:
    s = reindex(v, actor=ACTOR, purpose=PURPOSE, batch_size=int(sys.argv[3]), _settle=0.0,
                advance=said)
    print("records", s.records, flush=True)
"""


def test_reindex_killed_at_random_points_resumes_to_completion(
    vault: Vault, vault_dirs: tuple[Path, Path], tmp_path: Path
) -> None:
    from strongroom.batch import import_file
    from strongroom.synth import generate_persons, write_persons_csv

    data, keys = vault_dirs
    csv = tmp_path / "persons.csv"
    write_persons_csv(generate_persons(3000, seed=3), csv)
    import_file(vault, "person", csv, **KW)
    total = vault.counts()["person"]
    rotate(vault, index=True, **FAST)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    rng = random.Random(5)
    args = [sys.executable, "-c", _CHILD, str(data), str(keys), "100"]
    kills = sum(kill_mid_run(args, env, rng.randint(1, 6), rng.uniform(0, 0.05)) for _ in "abc")
    assert kills == 3
    row = vault.store.import_state(state_id(_active_id(vault)))
    assert row.status == "running" and 0 < row.accepted < total
    summary = reindex(vault, batch_size=500, **FAST)
    assert sum(s["records"] for s in summary.scopes) == total  # every scope, every record
    assert summary.records < total  # the killed runs' committed batches were not redone
    _tokens_exact(vault)
    for region in {v.region for v in vault.keyring.versions("index", None, "person")}:
        retire(vault, 1, region=region, collection="person", index=True, **KW)
    assert vault.audit.verify().ok


def test_cli_rotate_rekey_retire_status_index(vault: Vault, vault_dirs: tuple[Path, Path]) -> None:
    import json

    from typer.testing import CliRunner

    from strongroom.cli import app

    data, keys = vault_dirs
    ref = vault.put("person", person(1), **KW).ref
    env = {"STRONGROOM_PASSPHRASE": PASSPHRASE, "COLUMNS": "200"}
    base = ["--data", str(data), "--keys", str(keys), "--purpose", "ADMIN"]

    def run(*args: str) -> Any:
        return CliRunner().invoke(app, [*base, "keys", *args], env=env)

    r = run("rotate", "--index", "--collection", "person", "--json")  # waits 2 s
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout) == [{"region": REGION, "collection": "person", "version": 2}]
    r = run("retire", "1", "--index", "--region", REGION, "--collection", "person")
    assert r.exit_code == 2 and "rekey --index" in r.output
    r = run("status", "--json")
    rows = [x for x in json.loads(r.stdout) if x["purpose"] == "index"]
    rows = [x for x in rows if x["collection"] == "person"]
    assert {(x["version"], x["state"]) for x in rows} == {(1, "previous"), (2, "active")}
    assert [x["reindex"] for x in rows if x["version"] == 2] == [None]
    r = run("rekey", "--index", "--json")  # waits 2 s
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["records"] == 1
    r = run("status")
    assert r.exit_code == 0 and "done (1)" in r.output
    r = run("retire", "1", "--index", "--region", REGION, "--collection", "person")
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(
        app, [*base, "find", "person", "--resident-id", person(1)["resident_id"], "--json"],
        env=env,
    )  # fmt: skip
    assert r.exit_code == 0 and ref in r.stdout, r.output
