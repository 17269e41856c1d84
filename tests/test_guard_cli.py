"""``strongroom honeytokens plant|status``: canaries planted through the CLI are real-looking
records, counted but never listed, and marked only in the key store."""

from __future__ import annotations

import re
from pathlib import Path

from strongroom import Vault as LibVault
from strongroom.cli import app
from strongroom.guard import Guard
from tests.conftest import PASSPHRASE
from tests.test_cli import Vault, env_for, runner


def test_plant_and_status(tmp_path: Path) -> None:
    v = Vault(tmp_path, tmp_path / "data", tmp_path / "keys", [], [])
    assert v.run("init", "--fast-kdf").exit_code == 0
    result = v.run("honeytokens", "plant", "4", "--region", "110000")
    assert result.exit_code == 0, result.output
    assert "planted 4 canary person(s)" in result.stdout
    # no reference (a UUID) is printed: a terminal log must not list the canaries
    assert not re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-", result.output)
    status = v.json("honeytokens", "status")
    assert status["records_marked"] >= 8  # 4 persons, each with at least one incident
    with LibVault.open(v.data, v.keys, PASSPHRASE) as lib:
        assert lib.counts()["person"] == 4
        assert Guard(lib).honeytokens.count() == status["records_marked"]
        # the record database holds nothing that says "canary"
        records = Path(str(lib.store.engine.url.database)).read_bytes()
        assert b"honeytoken" not in records and b"canary" not in records
    bad = v.run("honeytokens", "plant", "2", "--region", "11")
    assert bad.exit_code == 2 and "region" in bad.output
    assert v.json("honeytokens", "status") == status  # nothing planted


def test_plant_needs_a_vault(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        ["--data", str(tmp_path / "none"), "honeytokens", "plant", "1"],
        env=env_for(STRONGROOM_PASSPHRASE=PASSPHRASE),
    )
    assert result.exit_code != 0 and "init" in result.output
