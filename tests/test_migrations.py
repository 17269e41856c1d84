"""Alembic migrations produce exactly the tables the code declares, on both engines."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from strongroom import Vault
from strongroom.audit._tables import audit_metadata
from strongroom.crypto import keys_metadata
from strongroom.guard import guard_metadata, honeytoken_metadata
from strongroom.store import metadata


def _pg_blind_index(obj: Any, name: Any, type_: str, reflected: bool, compare_to: Any) -> bool:
    # on PostgreSQL the blind index is deliberately a heap + token index, no primary key
    table = getattr(obj, "table", obj)
    return getattr(table, "name", None) != "blind_index"


def _diff(engine: sa.Engine, meta: sa.MetaData) -> list[Any]:
    opts: dict[str, Any] = {"compare_type": True}
    if engine.dialect.name == "postgresql":
        opts["include_object"] = _pg_blind_index
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts=opts)
        diffs = compare_metadata(ctx, meta)
    # tables of other metadata (auth, audit) are compared by their own tests
    return [
        d
        for d in diffs
        if d[0] != "remove_table"
        and not (d[0] == "remove_index" and d[1].table.name not in meta.tables)
    ]


def test_records_database_matches_metadata(vault: Vault) -> None:
    records_engine, keys_engine = vault.engines()
    assert _diff(records_engine, metadata) == []
    assert _diff(records_engine, audit_metadata) == []
    assert _diff(keys_engine, keys_metadata) == []
    assert _diff(records_engine, guard_metadata) == []
    assert _diff(keys_engine, honeytoken_metadata) == []


def test_postgres_blind_index_is_a_heap_with_a_token_index(vault: Vault, backend: str) -> None:
    engine = vault.engines()[0]
    insp = sa.inspect(engine)
    if backend == "postgresql" or engine.dialect.name == "postgresql":
        assert insp.get_pk_constraint("blind_index")["constrained_columns"] == []
        assert [ix["column_names"] for ix in insp.get_indexes("blind_index")] == [["token"]]
    else:
        assert insp.get_pk_constraint("blind_index")["constrained_columns"] == [
            "token",
            "record_id",
        ]


def test_opening_an_unmigrated_database_is_refused(tmp_path: Any) -> None:
    from strongroom.crypto.kms._local import UNSAFE_FAST_ARGON2
    from strongroom.errors import StoreError
    from tests.conftest import PASSPHRASE

    data, keys = tmp_path / "d", tmp_path / "k"
    Vault.init(data, keys, PASSPHRASE, argon2=UNSAFE_FAST_ARGON2).close()
    (data / "records.db").unlink()
    for suffix in ("-wal", "-shm"):
        (data / f"records.db{suffix}").unlink(missing_ok=True)
    with pytest.raises(StoreError, match="not migrated"):
        Vault.open(data, keys, PASSPHRASE)


def test_an_older_schema_is_upgraded_on_open(tmp_path: Any) -> None:
    from strongroom.crypto.kms._local import UNSAFE_FAST_ARGON2
    from strongroom.store import RECORDS, is_current
    from tests.conftest import PASSPHRASE

    data, keys = tmp_path / "d", tmp_path / "k"
    v = Vault.init(data, keys, PASSPHRASE, argon2=UNSAFE_FAST_ARGON2)
    engine = v.engines()[0]
    with engine.begin() as conn:  # back to the schema before the audit log and holds
        for name in ("audit_cosignatures", "audit_checkpoints", "audit_state", "audit_tiles",
                     "audit_subjects", "audit_entries", "audit_pending",
                     "legal_holds", "guard_counters", "guard_subjects", "guard_alerts",
                     "guard_protected", "guard_grants", "guard_state"):  # fmt: skip
            conn.execute(sa.text(f"DROP TABLE {name}"))
        conn.execute(sa.text("UPDATE alembic_version SET version_num = 'r0002'"))
    v.close()
    with Vault.open(data, keys, PASSPHRASE) as again:
        assert is_current(again.engines()[0], RECORDS)
        assert again.audit.size() == 0
