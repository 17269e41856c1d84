"""Erasure by key destruction, and backups: an erased person stays erased even when an older
backup of the record database is restored (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from strongroom import Vault
from strongroom.errors import ConfigError, NotFoundError, ValidationError
from strongroom.store._backup import backup, restore
from tests._world import PERSON
from tests.conftest import ACTOR, PASSPHRASE, PURPOSE

KW: dict[str, Any] = {"actor": ACTOR, "purpose": PURPOSE}
OTHERS = ["110105194912310046", "11010519491231004X"]


def _people(vault: Vault) -> list[str]:
    from strongroom.schema._resident_id import resident_id_check_char as check

    refs = [vault.put("person", PERSON, **KW).ref]
    for n, stem in enumerate(["11010519491231004", "11010519491231006"]):
        rid = stem + check(stem)
        refs.append(vault.put("person", {**PERSON, "resident_id": rid,
                                         "phones": [f"+861381234{n:04d}"]}, **KW).ref)  # fmt: skip
    return refs


def _rid(vault: Vault, ref: str) -> str:
    return str(vault.get("person", ref, **KW).fields["resident_id"])


def test_erased_person_stays_erased_after_restoring_an_older_backup(
    vault: Vault, vault_dirs: tuple[Path, Path], tmp_path: Path
) -> None:
    data, keys = vault_dirs
    a, b, c = _people(vault)
    rid_b, rid_c = _rid(vault, b), _rid(vault, c)
    url = vault.config.database_url
    manifest = backup(url, tmp_path / "backup", audit_size=vault.audit.size())
    assert manifest["sha256"] and (tmp_path / "backup" / manifest["file"]).is_file()

    vault.erase(a, legal_basis="court order 2026-17 (right to erasure)", **KW)
    with pytest.raises(NotFoundError):
        vault.get("person", a, **KW)
    assert vault.find("person", {"resident_id": PERSON["resident_id"]}, **KW) == []
    vault.close()

    restore(url, tmp_path / "backup")
    with Vault.open(data, keys, PASSPHRASE) as again:
        with again.store.engine.connect() as conn:  # the old rows are back ...
            n = conn.execute(sa.text("SELECT count(*) FROM records")).scalar_one()
        assert n == 3
        with pytest.raises(NotFoundError, match="erased"):  # ... and cannot be opened
            again.get("person", a, **KW)
        assert again.find("person", {"resident_id": PERSON["resident_id"]}, **KW) == []
        assert again.find("person", {"phone": PERSON["phones"][0]}, **KW) == []
        assert again.get("person", b, **KW).fields["resident_id"] == rid_b
        assert [v.ref for v in again.find("person", {"resident_id": rid_c}, **KW)] == [c]


def test_erasure_needs_a_legal_basis_and_an_existing_person(vault: Vault) -> None:
    (a, *_rest) = _people(vault)
    with pytest.raises(ValidationError, match="legal_basis"):
        vault.erase(a, legal_basis=" ", **KW)
    assert vault.get("person", a, **KW).ref == a
    with pytest.raises(NotFoundError):
        vault.erase("01a22758-1ea3-7ddd-951f-1819bda37d38", legal_basis="x", **KW)
    vault.erase(a, legal_basis="x", **KW)
    vault.erase(a, legal_basis="x", **KW)  # idempotent: the key is already destroyed
    vault.audit.sequence()
    ops = [x.json()["detail"].get("op") for x in vault.audit.entries()]
    assert ops.count("erase") == 2


def test_restore_refuses_a_corrupt_backup(vault: Vault, tmp_path: Path) -> None:
    _people(vault)
    manifest = backup(vault.config.database_url, tmp_path / "b")
    f = tmp_path / "b" / manifest["file"]
    data = bytearray(f.read_bytes())
    data[len(data) // 2] ^= 0xFF
    f.write_bytes(bytes(data))
    with pytest.raises(ConfigError, match="checksum"):
        restore(vault.config.database_url, tmp_path / "b")
    with pytest.raises(ConfigError, match="not empty"):
        backup(vault.config.database_url, tmp_path / "b")


def test_a_restored_older_database_is_noticed(
    vault: Vault, vault_dirs: tuple[Path, Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data, keys = vault_dirs
    (a, *_rest) = _people(vault)
    vault.audit.checkpoint()
    url = vault.config.database_url
    backup(url, tmp_path / "b")
    for _ in range(3):
        vault.get("person", a, **KW)
    vault.audit.checkpoint()
    assert vault.audit.verify().ok
    vault.close()
    restore(url, tmp_path / "b")
    with (
        caplog.at_level("WARNING", logger="strongroom.vault"),
        Vault.open(data, keys, PASSPHRASE) as again,
    ):
        assert any("older database was restored" in r.getMessage() for r in caplog.records)
        report = again.audit.verify()
        assert not report.ok and report.problems[-1].index == 3


def test_the_legal_basis_is_sealed_in_the_audit_entry(vault: Vault) -> None:
    (a, *_rest) = _people(vault)
    basis = "court order for 王小明, file 2026-17"
    vault.erase(a, legal_basis=basis, **KW)
    vault.audit.sequence()
    raw = b"".join(x.entry for x in vault.audit.entries())
    assert "王小明".encode() not in raw and b"2026-17" not in raw
    import base64

    from strongroom.audit._entry import open_justification

    doc = list(vault.audit.entries())[-1].json()
    sealed = base64.b64decode(doc["justification"])
    assert open_justification(vault.audit.seal_key, sealed) == basis
