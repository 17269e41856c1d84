"""Alembic migrations produce exactly the tables the code declares, on both engines."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from strongroom import Vault
from strongroom.crypto import keys_metadata
from strongroom.store import metadata


def _diff(engine: sa.Engine, meta: sa.MetaData) -> list[Any]:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        return [d for d in compare_metadata(ctx, meta) if d[0] != "remove_table"]


def test_records_database_matches_metadata(vault: Vault) -> None:
    records_engine, keys_engine = vault.engines()
    assert _diff(records_engine, metadata) == []
    assert _diff(keys_engine, keys_metadata) == []


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
