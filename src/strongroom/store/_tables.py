"""The record database's tables (SQLAlchemy Core). Alembic migrations create them.

::

    records      id (16, UUIDv7) | version | collection | region | schema_version
                 | sealed (see strongroom.crypto._sealed) | created_at (ms) | state
                 state: 0 current, 1 superseded (kept until retention), 2 deleted
    blind_index  token (signed 64-bit) | record_id (16)          -- exact-match search
    imports      id | collection | source | position (bytes) | line | accepted | rejected
                 | rejects_position | status | updated_at      -- resumable bulk imports

Nothing in these tables is personal data in the clear: ``sealed`` is AES-256-GCM
ciphertext and ``token`` a keyed, truncated HMAC.
"""

from __future__ import annotations

import sqlalchemy as sa

STATE_CURRENT = 0
STATE_SUPERSEDED = 1
STATE_DELETED = 2

metadata = sa.MetaData()

records = sa.Table(
    "records",
    metadata,
    sa.Column("id", sa.LargeBinary(16), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("collection", sa.String(64), nullable=False),
    sa.Column("region", sa.String(32), nullable=False),
    sa.Column("schema_version", sa.SmallInteger, nullable=False),
    sa.Column("sealed", sa.LargeBinary, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("state", sa.SmallInteger, nullable=False),
    sqlite_with_rowid=False,
)

#: as SQLite has it (one WITHOUT ROWID B-tree); on PostgreSQL the migration makes it a heap
#: with an index on ``token`` and no primary key (see migrations/versions/r0001_records.py)
blind_index = sa.Table(
    "blind_index",
    metadata,
    sa.Column("token", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("record_id", sa.LargeBinary(16), primary_key=True),
    sqlite_with_rowid=False,
)

imports = sa.Table(
    "imports",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("collection", sa.String(64), nullable=False),
    sa.Column("source", sa.String(1024), nullable=False),
    sa.Column("position", sa.BigInteger, nullable=False),
    sa.Column("line", sa.BigInteger, nullable=False),
    sa.Column("accepted", sa.BigInteger, nullable=False),
    sa.Column("rejected", sa.BigInteger, nullable=False),
    sa.Column("rejects_position", sa.BigInteger, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
)
