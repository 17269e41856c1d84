"""Storage: SQLAlchemy Core over SQLite (embedded default, WAL) and PostgreSQL (psycopg 3).

Only :class:`strongroom.vault.Vault` uses this package; nothing else reads or writes records.
"""

from strongroom.store._engine import check_reachable, make_engine, sqlite_url
from strongroom.store._migrate import KEYS, RECORDS, is_current, revision_of, upgrade
from strongroom.store._records import RecordStore
from strongroom.store._tables import (
    STATE_CURRENT,
    STATE_DELETED,
    STATE_SUPERSEDED,
    blind_index,
    imports,
    metadata,
    records,
)

__all__ = [
    "KEYS",
    "RECORDS",
    "STATE_CURRENT",
    "STATE_DELETED",
    "STATE_SUPERSEDED",
    "RecordStore",
    "blind_index",
    "check_reachable",
    "imports",
    "is_current",
    "make_engine",
    "metadata",
    "records",
    "revision_of",
    "sqlite_url",
    "upgrade",
]
