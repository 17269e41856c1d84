"""``strongroom audit`` commands on a real vault (proofs checked independently)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from strongroom import Vault
from strongroom.audit import leaf_hash, verify_consistency, verify_inclusion
from strongroom.audit._note import open_checkpoint, verifier_from_key
from strongroom.audit._tables import audit_entries
from strongroom.cli import app
from strongroom.crypto.kms._local import UNSAFE_FAST_ARGON2
from tests._world import PERSON
from tests.conftest import ACTOR, PASSPHRASE, PURPOSE
from tests.test_cli import ENV_NAMES

runner = CliRunner()


@pytest.fixture(scope="module")
def dirs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("cli-audit")
    data, keys = root / "data", root / "keys"
    with Vault.init(data, keys, PASSPHRASE, argon2=UNSAFE_FAST_ARGON2) as v:
        p = v.put("person", PERSON, actor=ACTOR, purpose=PURPOSE)
        for _ in range(9):
            v.get("person", p.ref, actor=ACTOR, purpose=PURPOSE)
    return data, keys


def run(dirs: tuple[Path, Path], *args: str) -> Any:
    env: dict[str, str | None] = dict.fromkeys(ENV_NAMES)
    env.update(STRONGROOM_DATA=str(dirs[0]), STRONGROOM_KEYS=str(dirs[1]),
               STRONGROOM_PASSPHRASE=PASSPHRASE, COLUMNS="200")  # fmt: skip
    return runner.invoke(app, list(args), env=env)


def test_checkpoint_key_proof_consistency(dirs: tuple[Path, Path]) -> None:
    key = run(dirs, "audit", "key")
    assert key.exit_code == 0, key.output
    verifier = verifier_from_key(key.stdout.strip())
    cp_out = run(dirs, "audit", "checkpoint")
    assert cp_out.exit_code == 0, cp_out.output
    cp, _ = open_checkpoint(cp_out.stdout, verifier)
    assert cp.size == 10
    proof = json.loads(run(dirs, "audit", "proof", "--index", "4").stdout)
    assert set(proof) == {"leaf_index", "tree_size", "root", "leaf", "inclusion"}
    assert proof["tree_size"] == 10 and base64.b64decode(proof["root"]) == cp.root
    verify_inclusion(
        4,
        10,
        leaf_hash(base64.b64decode(proof["leaf"])),
        [base64.b64decode(h) for h in proof["inclusion"]],
        cp.root,
    )
    c = json.loads(run(dirs, "audit", "consistency", "--old", "3").stdout)
    verify_consistency(
        3,
        10,
        [base64.b64decode(h) for h in c["proof"]],
        base64.b64decode(c["old_root"]),
        base64.b64decode(c["new_root"]),
    )
    bad = run(dirs, "audit", "proof", "--index", "99")
    assert bad.exit_code == 2 and "index" in bad.stderr


def test_search_and_verify_then_tamper(dirs: tuple[Path, Path], tmp_path: Path) -> None:
    found = run(dirs, "audit", "search", "--action", "read", "--json")
    assert found.exit_code == 0, found.output
    assert len(json.loads(found.stdout)) == 9
    id_file = tmp_path / "id"
    id_file.write_text(PERSON["resident_id"] + "\n", encoding="utf-8")
    about = run(dirs, "audit", "search", "--subject-file", str(id_file), "--json")
    assert len(json.loads(about.stdout)) == 10
    ok = run(dirs, "audit", "verify")
    assert ok.exit_code == 0 and "ok: 10 entries" in ok.stdout, ok.output
    engine = sa.create_engine(f"sqlite:///{dirs[0] / 'records.db'}")
    with engine.begin() as conn:
        conn.execute(audit_entries.delete().where(audit_entries.c.idx == 7))
    engine.dispose()
    bad = run(dirs, "audit", "verify", "--json")
    assert bad.exit_code == 11
    assert json.loads(bad.stdout)["problems"][0]["index"] == 7
    assert "index 7" in bad.stderr
