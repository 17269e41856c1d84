"""Key rotation: rotate, rekey (re-wrapping data keys), retire, status and root re-wrap, on
SQLite and PostgreSQL; a rekey killed with SIGKILL and resumed; a rekey with concurrent
reads and writes."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
import sqlalchemy as sa

from strongroom import Vault
from strongroom.batch._rekey import rekey, retire, rotate, rotate_root, status
from strongroom.config import VaultConfig
from strongroom.crypto import Keyring, sealed_key_id
from strongroom.crypto._keystore import dek_table, kek_table
from strongroom.crypto.kms._local import UNSAFE_FAST_ARGON2, LocalKeyFile, create_key_file
from strongroom.errors import (
    ConflictError,
    KeyringError,
    NotFoundError,
    OpenError,
    PassphraseError,
)
from strongroom.schema._resident_id import resident_id_check_char as check
from tests._world import PERSON, REGION, incident
from tests.conftest import ACTOR, PASSPHRASE, PURPOSE

KW: dict[str, Any] = {"actor": ACTOR, "purpose": PURPOSE}
T = TypeVar("T")
FAST: dict[str, Any] = {**KW, "_settle": 0.0}


def person(n: int) -> dict[str, Any]:
    year = 1950 + n // 1000
    stem = f"110105{year:04d}0101{n % 1000:03d}"
    return {
        **PERSON,
        "resident_id": stem + check(stem),
        "date_of_birth": f"{year:04d}-01-01",
        "sex": "F" if n % 2 == 0 else "M",
        "phones": [f"+86138{n:08d}"],
    }


def _kek_of(vault: Vault, sealed: bytes) -> int:
    return vault.keyring.kek_of([sealed_key_id(sealed)])[sealed_key_id(sealed)]


def _versions(vault: Vault, collection: str = "person") -> dict[int, int]:
    """KEK id -> version of the data keys of ``collection`` (every region)."""
    return {v.id: v.version for v in vault.keyring.versions("data", None, collection)}


def _row(vault: Vault, ref: str) -> Any:
    return vault.store.versions("person", vault._id(ref))[-1]


def _admin_details(vault: Vault) -> list[dict[str, Any]]:
    vault.audit.sequence()
    return [x.json()["detail"] for x in vault.audit.entries()]


def _status(vault: Vault, collection: str = "person", **kw: Any) -> dict[int, dict[str, Any]]:
    """Per version of ``collection``'s data keys: state and counts summed over regions."""
    out: dict[int, dict[str, Any]] = {}
    for s in status(vault, **kw):
        if s["purpose"] == "data" and s["collection"] == collection:
            o = out.setdefault(s["version"], {**s, "data_keys": 0, "records": 0})
            o["data_keys"] += s["data_keys"]
            o["records"] += s.get("records", 0)
    return out


def test_rotate_new_writes_use_the_new_version_and_old_reads_work(vault: Vault) -> None:
    old = [vault.put("person", person(n), **KW).ref for n in range(3)]
    assert rotate(vault, **KW) == [
        {"region": REGION, "collection": "person", "version": 2},
    ]
    versions = _versions(vault)
    new = vault.put("person", person(10), **KW).ref
    assert versions[_kek_of(vault, _row(vault, new).sealed)] == 2
    assert versions[_kek_of(vault, _row(vault, old[0]).sealed)] == 1
    for ref in old:  # older versions still open
        assert vault.get("person", ref, **KW).ref == ref
    # a new version of an old person: its key (same id) moves to version 2 at once
    vault.update("person", old[1], {"name": "李四"}, **KW)
    assert versions[_kek_of(vault, _row(vault, old[1]).sealed)] == 2
    assert sealed_key_id(_row(vault, old[1]).sealed) == vault._id(old[1])
    st = _status(vault, records=True)
    assert st[1]["state"] == "previous" and st[2]["state"] == "active"
    assert (st[1]["data_keys"], st[2]["data_keys"]) == (2, 2)
    assert (st[1]["records"], st[2]["records"]) == (2, 3)  # old[1] has two versions
    assert "rotate" in [d.get("op") for d in _admin_details(vault)]


def test_rekey_moves_everything_then_retire(vault: Vault) -> None:
    refs = [vault.put("person", person(n), **KW).ref for n in range(7)]
    inc = vault.put("incident", incident(refs[0]), **KW).ref
    rotate(vault, **KW)
    # same month after the rotation: the month's one key moves to version 2, none is added
    inc2 = vault.put("incident", incident(refs[1], "A110105-2020-000002"), **KW).ref
    i_rows = [vault.store.versions("incident", vault._id(r))[-1] for r in (inc, inc2)]
    assert sealed_key_id(i_rows[0].sealed) == sealed_key_id(i_rows[1].sealed)
    with pytest.raises(ConflictError, match="rekey"):
        retire(vault, 1, region=REGION, collection="person", **KW)
    with pytest.raises(ConflictError, match="active"):
        retire(vault, 2, region=REGION, collection="person", **KW)
    with pytest.raises(NotFoundError):
        retire(vault, 9, region=REGION, collection="person", **KW)

    seen: list[tuple[int, int]] = []
    summary = rekey(vault, batch_size=3, advance=lambda d, t: seen.append((d, t)), **FAST)
    assert summary.keys == 7 and not summary.stuck
    assert seen[-1] == (7, 7) and len(seen) == 3
    assert rekey(vault, **FAST).keys == 0  # idempotent
    st = _status(vault, records=True)
    assert (st[1]["data_keys"], st[2]["data_keys"]) == (0, 7)
    assert (st[1]["records"], st[2]["records"]) == (0, 7)
    retire(vault, 1, region=REGION, collection="person", **KW)
    retire(vault, 1, region=REGION, collection="incident", **KW)
    assert _status(vault)[1]["state"] == "retired"
    with vault.engines()[1].connect() as conn:  # the retired KEK's material is gone
        wrapped = conn.execute(
            sa.select(kek_table.c.wrapped).where(kek_table.c.state == "retired")
        ).scalars()
        assert all(w == b"" for w in wrapped)
    vault.keyring._deks.clear()
    for ref in refs:
        assert vault.get("person", ref, **KW).ref == ref
    assert len(vault.find("incident", {"case_ref": "A110105-2020-000002"}, **KW)) == 1
    ops = _admin_details(vault)
    assert [d.get("phase") for d in ops if d.get("op") == "rekey"][-2:] == ["start", "finish"]
    assert sum(d.get("op") == "retire" for d in ops) == 2
    assert vault.audit.verify().ok


def test_erase_after_rekey_destroys_the_key_every_version_names(vault: Vault) -> None:
    a = vault.put("person", person(1), **KW).ref
    b = vault.put("person", person(2), **KW).ref
    vault.update("person", a, {"name": "张三"}, **KW)
    rotate(vault, **KW)
    vault.update("person", a, {"name": "张四"}, **KW)
    rekey(vault, **FAST)
    kept = vault.store.versions("person", vault._id(a))
    assert {sealed_key_id(r.sealed) for r in kept} == {vault._id(a)}  # one key, all versions
    vault.erase(a, legal_basis="court order (test)", **KW)
    vault.keyring._deks.clear()
    for row in kept:  # a copy of any version (an old backup) no longer opens
        with pytest.raises((NotFoundError, OpenError)):
            vault.open_row(row)
    assert vault.get("person", b, **KW).ref == b


def test_a_stale_process_picks_up_a_rotation_within_the_ttl(
    vault: Vault, vault_dirs: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    data, keys = vault_dirs
    vault.put("person", person(1), **KW)
    with Vault.open(data, keys, PASSPHRASE) as other:
        other.put("person", person(2), **KW)  # caches version 1
        rotate(vault, **KW)
        import strongroom.crypto._keyring as kr

        monkeypatch.setattr(kr, "KEK_TTL", 0.0)  # as if the cache's time had passed
        ref = other.put("person", person(3), **KW).ref
        assert _versions(other)[_kek_of(other, _row(other, ref).sealed)] == 2


def test_root_rewrap_keeps_everything_readable(
    vault: Vault, tmp_path: Path, vault_dirs: tuple[Path, Path]
) -> None:
    """Library-level root rotation (local key file): every KEK re-wrapped, no record."""
    refs = [vault.put("person", person(n), **KW).ref for n in range(3)]
    vault.put("incident", incident(refs[0]), **KW)
    before = vault.store.versions("person", vault._id(refs[0]))[-1].sealed
    create_key_file(tmp_path / "keys2", PASSPHRASE, argon2=UNSAFE_FAST_ARGON2)
    new_root = LocalKeyFile(tmp_path / "keys2", PASSPHRASE)
    n = vault.keyring.rewrap_root(new_root)
    assert n >= 5  # data and index of person and incident, the service key
    assert vault.keyring.rewrap_root(new_root) == 0  # idempotent
    ring = Keyring(new_root, vault.keyring._store)
    again = Vault(vault.config, ring, vault.store, vault._keystore, vault.collections)
    for ref in refs:
        assert again.get("person", ref, **KW).ref == ref
    assert again.find("person", {"resident_id": person(1)["resident_id"]}, **KW)
    assert vault.store.versions("person", vault._id(refs[0]))[-1].sealed == before
    with vault.engines()[1].connect() as conn:
        roots = set(conn.execute(sa.select(kek_table.c.root_key_id)).scalars())
    assert roots == {new_root.key_id}


NEW_PASSPHRASE = "a new passphrase for the root key"


def _everything_opens(v: Vault, refs: list[str], case: str) -> None:
    v.keyring._deks.clear()
    for n, ref in enumerate(refs):
        assert v.get("person", ref, **KW).ref == ref
        assert [
            r.ref for r in v.find("person", {"resident_id": person(n)["resident_id"]}, **KW)
        ] == [ref]
    assert len(v.find("incident", {"case_ref": case}, **KW)) == 1


def test_rotate_root_rewraps_every_kek_and_switches_the_config(
    vault: Vault, vault_dirs: tuple[Path, Path]
) -> None:
    data, keys = vault_dirs
    refs = [vault.put("person", person(n), **KW).ref for n in range(4)]
    case = "A110105-2020-000009"
    vault.put("incident", incident(refs[0], case), **KW)
    rotate(vault, **KW)  # a previous data-key version too
    origin = vault.config.audit_origin
    sealed = vault.store.versions("person", vault._id(refs[0]))[-1].sealed
    old_id = vault.config.root_key_id
    asked: list[int] = []

    def ask() -> str:
        asked.append(1)
        return NEW_PASSPHRASE

    with pytest.raises(PassphraseError):  # the current passphrase is checked first
        rotate_root(data, keys, "not the passphrase", ask, **KW)
    assert not asked
    with pytest.raises(PassphraseError, match="differ"):
        rotate_root(data, keys, PASSPHRASE, lambda: PASSPHRASE, **KW)
    done = rotate_root(data, keys, PASSPHRASE, ask, **KW)
    assert done["from"] == old_id and done["to"] != old_id and done["keks"] >= 5
    assert not done["resumed"] and asked == [1]
    assert (keys / "root.key").exists()  # the old key file is kept for the operator
    assert (keys / f"root-{done['to']}.key").stat().st_mode & 0o777 == 0o600
    config = VaultConfig.read(data)
    assert config.root_key_id == done["to"] and config.audit_origin == origin
    with pytest.raises(PassphraseError):
        Vault.open(data, keys, PASSPHRASE)
    with Vault.open(data, keys, NEW_PASSPHRASE) as v:
        _everything_opens(v, refs, case)
        assert v.store.versions("person", v._id(refs[0]))[-1].sealed == sealed  # not rewritten
        new = v.put("person", person(50), **KW).ref  # writes (and a new scope's keys) work
        assert v.get("person", new, **KW).ref == new
        rotate(v, **KW)
        rekey(v, **FAST)
        _everything_opens(v, refs, case)
        assert v.audit.verify().ok
        ops = [d for d in _admin_details(v) if d.get("op") == "rotate-root"]
        assert ops == [{"op": "rotate-root", "from": old_id, "to": done["to"],
                        "keks": done["keks"], "resumed": False}]  # fmt: skip
        with v.engines()[1].connect() as conn:
            roots = set(conn.execute(sa.select(kek_table.c.root_key_id)).scalars())
        assert roots == {done["to"]}
    # a second rotation: root-<id>.key files side by side, the newest one is used
    again = rotate_root(data, keys, NEW_PASSPHRASE, lambda: PASSPHRASE + "!", **KW)
    with Vault.open(data, keys, PASSPHRASE + "!") as v:
        assert v.config.root_key_id == again["to"]
        _everything_opens(v, refs, case)
        assert v.audit.verify().ok


def test_rotate_root_interrupted_after_the_rewrap_is_resumed(
    vault: Vault, vault_dirs: tuple[Path, Path]
) -> None:
    """A crash between the key-store transaction and the vault.toml switch: the vault does
    not open with either root until a second run switches the config."""
    data, keys = vault_dirs
    refs = [vault.put("person", person(n), **KW).ref for n in range(3)]
    case = "A110105-2020-000003"
    vault.put("incident", incident(refs[1], case), **KW)
    # a run that died before its re-wrap committed left an unused key file: harmless
    create_key_file(keys, "an abandoned passphrase", argon2=UNSAFE_FAST_ARGON2, rotated=True)
    path = create_key_file(keys, NEW_PASSPHRASE, argon2=UNSAFE_FAST_ARGON2, rotated=True)
    new_root = LocalKeyFile(keys, NEW_PASSPHRASE, key_id=path.stem.removeprefix("root-"))
    assert vault.keyring.rewrap_root(new_root) >= 5  # ... then the process died
    old_ring = Keyring(LocalKeyFile(keys, PASSPHRASE), vault.keyring._store)
    with pytest.raises(KeyringError, match="another root key"):  # so Vault.open fails too
        old_ring.service_key("x")
    with pytest.raises(PassphraseError):  # the new root needs the new passphrase
        rotate_root(data, keys, PASSPHRASE, lambda: "wrong passphrase", **KW)
    done = rotate_root(data, keys, PASSPHRASE, lambda: NEW_PASSPHRASE, **KW)
    assert done["resumed"] and done["keks"] == 0 and done["to"] == new_root.key_id
    with Vault.open(data, keys, NEW_PASSPHRASE) as v:
        _everything_opens(v, refs, case)
        assert v.audit.verify().ok
    # and once finished, running it again with the old passphrase is refused
    with pytest.raises(PassphraseError):
        rotate_root(data, keys, PASSPHRASE, lambda: "x" * 12, **KW)


def test_rotate_root_in_a_pkcs11_token(softhsm: Any, vault_dirs: tuple[Path, Path]) -> None:
    """A PKCS#11 root: the new root is a new key in the token under the same label (a new
    CKA_ID), picked by the key id vault.toml names; no passphrase is asked for; an
    interrupted run is resumed; the CLI does the same."""
    import json

    from typer.testing import CliRunner

    from strongroom.cli import app
    from strongroom.crypto.kms._factory import new_root_key, open_root
    from tests.test_kms_pkcs11 import _kms, _label

    def no_passphrase() -> str:
        raise AssertionError("a PKCS#11 root rotation asks for no passphrase")

    data, keys = vault_dirs
    case = "A110105-2020-000011"
    with Vault.init(data, keys, "", kms=_kms(softhsm, _label("rotate"))) as v:
        refs = [v.put("person", person(n), **KW).ref for n in range(3)]
        v.put("incident", incident(refs[0], case), **KW)
        rotate(v, **KW)  # a previous data-key version too
    before = VaultConfig.read(data)
    done = rotate_root(data, keys, "", no_passphrase, **KW)
    assert done["from"] == before.root_key_id and done["to"] != done["from"]
    assert done["keks"] >= 5 and not done["resumed"]
    assert "CKA_ID" in done["old_key"] and done["old_key"] != done["new_key"]
    config = VaultConfig.read(data)
    assert config.root_key_id == done["to"] and config.kms == before.kms  # same label
    with Vault.open(data, keys, "") as v:
        _everything_opens(v, refs, case)
        with v.engines()[1].connect() as conn:
            roots = set(conn.execute(sa.select(kek_table.c.root_key_id)).scalars())
        assert roots == {done["to"]}
        old = open_root(config.kms, keys, "", done["from"])  # still in the token, unused
        with pytest.raises(KeyringError, match="another root key"):
            Keyring(old, v.keyring._store).service_key("x")
        # a run that died after its re-wrap committed, before vault.toml was switched
        third = new_root_key(config.kms, keys, "")
        assert v.keyring.rewrap_root(third) >= 5
    again = rotate_root(data, keys, "", no_passphrase, **KW)
    assert again["resumed"] and again["keks"] == 0 and again["to"] == third.key_id
    r = CliRunner().invoke(
        app, ["--data", str(data), "--keys", str(keys), "--purpose", "ADMIN",
              "keys", "rotate-root", "--json"], env={"STRONGROOM_PASSPHRASE": ""}, input="",
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    fourth = json.loads(r.stdout)
    assert fourth["from"] == third.key_id and not fourth["resumed"]
    with Vault.open(data, keys, "") as v:
        assert v.config.root_key_id == fourth["to"]
        _everything_opens(v, refs, case)
        ops = [d for d in _admin_details(v) if d.get("op") == "rotate-root"]
        assert [(d["from"], d["to"], d["resumed"]) for d in ops] == [
            (done["from"], done["to"], False),
            (done["to"], third.key_id, True),
            (third.key_id, fourth["to"], False),
        ]
        assert v.audit.verify().ok


# -- online: reads and writes during a rekey -------------------------------------------------
def while_writing(worker: Callable[[int], None], stop: threading.Event, job: Callable[[], T]) -> T:
    """Run ``worker(k)`` in three threads (k = 0, 1, 2) and ``job()`` once they are under
    way; then set ``stop`` and wait for the workers. Returns what the job returned."""
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    time.sleep(0.3)
    try:
        return job()
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=120)


def test_rekey_online_concurrent_reads_and_writes(
    vault: Vault, vault_dirs: tuple[Path, Path]
) -> None:
    data, keys = vault_dirs
    refs = [vault.put("person", person(n), **KW).ref for n in range(300)]
    rotate(vault, **KW)
    errors: list[BaseException] = []
    written: list[tuple[str, str]] = []
    stop = threading.Event()

    def worker(k: int) -> None:
        try:
            with Vault.open(data, keys, PASSPHRASE) as v:
                n = 0
                while not stop.is_set() or n < 5:
                    ref = refs[(k * 37 + n) % len(refs)]
                    assert v.get("person", ref, **KW).ref == ref
                    name = "名" + "".join("甲乙丙丁戊己庚辛壬癸"[int(d)] for d in f"{k}{n}")
                    v.update("person", refs[k * 50 + n % 50], {"name": name}, **KW)
                    new = v.put("person", person(1000 + k * 1000 + n), **KW).ref
                    written.append((refs[k * 50 + n % 50], name))
                    written.append((new, ""))
                    n += 1
        except BaseException as exc:
            errors.append(exc)

    # the rekey waits out the KEK cache time: writers keep going
    while_writing(worker, stop, lambda: rekey(vault, batch_size=20, **KW))
    assert not errors, errors
    rekey(vault, **FAST)  # anything a writer made under version 1 before it saw version 2
    st = _status(vault, records=True)
    assert st[1]["data_keys"] == 0 and st[1]["records"] == 0
    latest: dict[str, str] = {}
    for ref, name in written:
        if name:
            latest[ref] = name
    vault.keyring._deks.clear()
    for ref, name in latest.items():  # one thread updates each: its last update is there
        assert vault.get("person", ref, **KW).fields["name"] == name
    for ref, _name in written:
        assert vault.get("person", ref, **KW).ref == ref  # no write lost
    assert vault.audit.verify().ok


# -- crash: SIGKILL at random points, resumed ------------------------------------------------
_CHILD = """
import sys
from pathlib import Path
from strongroom import Vault
from strongroom.batch._rekey import rekey
from tests.conftest import ACTOR, PASSPHRASE, PURPOSE
def said(done, total):  # one line per committed batch: the parent kills after k of them
    print("batch", done, total, flush=True)
with Vault.open(Path(sys.argv[1]), Path(sys.argv[2]), PASSPHRASE) as v:
    s = rekey(v, actor=ACTOR, purpose=PURPOSE, batch_size=int(sys.argv[3]), _settle=0.0,
              advance=said if len(sys.argv) > 4 else None)
    print(s.keys)
"""


def kill_mid_run(args: list[str], env: dict[str, str], batches: int, delay: float) -> int:
    """Run a job's child process that prints a ``batch`` line per committed batch; SIGKILL
    it ``delay`` seconds after the ``batches``-th line (fewer than remain: so always mid-run,
    whatever the machine's speed). Returns 1 if it was killed, 0 if it had finished."""
    proc = subprocess.Popen(
        args, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    assert proc.stdout is not None
    seen = 0
    while seen < batches and proc.stdout.readline().startswith("batch"):
        seen += 1
    time.sleep(delay)
    killed = 0
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
        killed = 1
    proc.stdout.close()
    proc.wait(timeout=60)
    return killed


@pytest.mark.slow
def test_rekey_killed_at_random_points_resumes_to_completion(
    vault: Vault, vault_dirs: tuple[Path, Path], tmp_path: Path
) -> None:
    """SIGKILL the rekey 10 times at random points on a 100,000-person vault (built with the
    bulk importer from a synthetic CSV), resume each time, and finish with every data key
    under the new version, every record opening and the audit log verifying."""
    from strongroom.batch import import_file
    from strongroom.synth import generate_persons, write_persons_csv

    n = int(os.environ.get("STRONGROOM_CRASH_PERSONS", "100000"))
    data, keys = vault_dirs
    csv = tmp_path / "persons.csv"
    write_persons_csv(generate_persons(n, seed=5), csv)
    import_file(vault, "person", csv, **KW)
    total = vault.counts()["person"]
    rotate(vault, **KW)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    rng = random.Random(11)
    kills = 0
    for _ in range(10):
        st = _status(vault)
        if sum(st[v]["data_keys"] for v in st if v != max(st)) < 20 * 500:
            rotate(vault, **KW)  # little work left: give the next run a full vault again
        args = [sys.executable, "-c", _CHILD, str(data), str(keys), "500", "progress"]
        kills += kill_mid_run(args, env, rng.randint(1, 15), rng.uniform(0, 0.05))
    assert kills == 10
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(data), str(keys), "2000"],
        env=env,
        capture_output=True,
        check=True,
        timeout=600,
    )
    assert int(done.stdout) >= 0
    st = _status(vault)
    newest = max(st)
    assert st[newest]["data_keys"] == total
    assert all(st[v]["data_keys"] == 0 for v in st if v != newest)
    versions = _versions(vault)
    after: bytes | None = None
    opened = 0
    while rows := vault.store.scan("person", after, 5000):
        kk = vault.keyring.kek_of([sealed_key_id(r.sealed) for r in rows])
        vault.keyring.preload(list(kk))
        for r in rows:
            assert versions[kk[sealed_key_id(r.sealed)]] == newest
            vault.open_row(r)
            opened += 1
        after = bytes(rows[-1].id)
    assert opened == total
    with vault.engines()[1].connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(dek_table)).scalar() == total
    assert vault.audit.verify().ok


def test_cli_rotate_rekey_retire_status(vault: Vault, vault_dirs: tuple[Path, Path]) -> None:
    import json

    from typer.testing import CliRunner

    from strongroom.cli import app

    data, keys = vault_dirs
    vault.put("person", person(1), **KW)
    env = {"STRONGROOM_PASSPHRASE": PASSPHRASE, "COLUMNS": "200"}
    base = ["--data", str(data), "--keys", str(keys), "--purpose", "ADMIN"]

    def run(*args: str) -> Any:
        return CliRunner().invoke(app, [*base, "keys", *args], env=env)

    r = run("rotate", "--collection", "person", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout) == [{"region": REGION, "collection": "person", "version": 2}]
    r = run("retire", "1", "--region", REGION, "--collection", "person")
    assert r.exit_code == 2 and "rekey" in r.output
    r = run("rekey", "--json")  # waits until version 2 is 2 s old
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["keys"] == 1
    assert run("retire", "1", "--region", REGION, "--collection", "person").exit_code == 0
    r = run("status", "--records", "--json")
    rows = [x for x in json.loads(r.stdout) if x["collection"] == "person"]
    assert {(x["purpose"], x["version"], x["state"]) for x in rows} >= {
        ("data", 1, "retired"),
        ("data", 2, "active"),
    }
    assert [x["records"] for x in rows if x["purpose"] == "data" and x["version"] == 2] == [1]


def test_cli_rotate_root(vault: Vault, vault_dirs: tuple[Path, Path], tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from strongroom.cli import app

    data, keys = vault_dirs
    ref = vault.put("person", person(1), **KW).ref
    new_file = tmp_path / "new-passphrase"
    new_file.write_text(NEW_PASSPHRASE + "\n")
    new_file.chmod(0o600)
    base = ["--data", str(data), "--keys", str(keys), "--purpose", "ADMIN"]
    env = {"STRONGROOM_PASSPHRASE": PASSPHRASE, "COLUMNS": "200"}
    r = CliRunner().invoke(
        app, [*base, "keys", "rotate-root", "--new-passphrase-file", str(new_file), "--json"],
        env=env,
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["old_key_file"] == "root.key" and out["new_key_file"] == f"root-{out['to']}.key"
    r = CliRunner().invoke(app, [*base, "get", "person", ref], env=env)
    assert r.exit_code == 4, r.output  # the old passphrase no longer opens the vault
    env["STRONGROOM_PASSPHRASE"] = NEW_PASSPHRASE
    r = CliRunner().invoke(app, [*base, "get", "person", ref], env=env)
    assert r.exit_code == 0, r.output
    # prompted: asked twice, hidden; the human output names the old key file to delete
    env["STRONGROOM_PASSPHRASE"] = NEW_PASSPHRASE
    third = "a third passphrase, long enough"
    r = CliRunner().invoke(
        app, [*base, "keys", "rotate-root"], env=env, input=f"{third}\n{third}\n"
    )
    assert r.exit_code == 0, r.output
    assert f"root-{out['to']}.key" in r.output and "delete" in r.output
    env["STRONGROOM_PASSPHRASE"] = third
    assert CliRunner().invoke(app, [*base, "get", "person", ref], env=env).exit_code == 0
    r = CliRunner().invoke(app, [*base, "audit", "verify"], env=env)
    assert r.exit_code == 0, r.output
