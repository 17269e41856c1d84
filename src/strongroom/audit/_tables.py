"""The audit log's tables in the record database (SQLAlchemy Core; migration ``r0003``).

::

    audit_pending       id (autoincrement) | entry (bytes) | created_at (ms)
                        -- written in the same transaction as the access; the sequencer moves
                        -- them into the log in id order and deletes them, in one transaction
    audit_entries       idx (0, 1, 2, ... contiguous) | entry (the exact bytes hashed) | at (ms)
                        | actor | action | purpose | embargo_until (ms, covert entries)
    audit_subjects      subject (HMAC of a resident ID) | idx      -- "who accessed my data"
    audit_tiles         level | idx | hashes (C2SP tlog-tiles, 8 levels per tile; the newest,
                        possibly partial, version of each tile)
    audit_state         id = 1 | size | root                       -- the integrated tree
    audit_checkpoints   size | root | note (signed checkpoint text) | at (ms)
    audit_cosignatures  size | witness (key name) | line (the note signature line) | at (ms)

Entries hold no record contents (see :mod:`strongroom.audit._entry`). Nothing here is secret;
everything here is *evidence*: ``strongroom audit verify`` recomputes the tree from
``audit_entries`` and checks it against the signed checkpoints, whose signing key is in the
key store, not in this database.
"""

from __future__ import annotations

import sqlalchemy as sa

audit_metadata = sa.MetaData()

audit_pending = sa.Table(
    "audit_pending",
    audit_metadata,
    sa.Column(
        "id",
        sa.BigInteger().with_variant(sa.Integer, "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    sa.Column("entry", sa.LargeBinary, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
)

audit_entries = sa.Table(
    "audit_entries",
    audit_metadata,
    sa.Column("idx", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("entry", sa.LargeBinary, nullable=False),
    sa.Column("at", sa.BigInteger, nullable=False),
    sa.Column("actor", sa.String(80), nullable=False),
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("purpose", sa.String(64), nullable=False),
    sa.Column("embargo_until", sa.BigInteger, nullable=True),
    sa.Index("audit_entries_actor", "actor", "idx"),
    sa.Index("audit_entries_at", "at"),
)

audit_subjects = sa.Table(
    "audit_subjects",
    audit_metadata,
    sa.Column("subject", sa.LargeBinary(32), primary_key=True),
    sa.Column("idx", sa.BigInteger, primary_key=True, autoincrement=False),
)

audit_tiles = sa.Table(
    "audit_tiles",
    audit_metadata,
    sa.Column("level", sa.SmallInteger, primary_key=True, autoincrement=False),
    sa.Column("idx", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("hashes", sa.LargeBinary, nullable=False),
)

audit_state = sa.Table(
    "audit_state",
    audit_metadata,
    sa.Column("id", sa.SmallInteger, primary_key=True, autoincrement=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("root", sa.LargeBinary(32), nullable=False),
)

audit_checkpoints = sa.Table(
    "audit_checkpoints",
    audit_metadata,
    sa.Column("size", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("root", sa.LargeBinary(32), nullable=False),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("at", sa.BigInteger, nullable=False),
)

audit_cosignatures = sa.Table(
    "audit_cosignatures",
    audit_metadata,
    sa.Column("size", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("witness", sa.String(128), primary_key=True),
    sa.Column("line", sa.Text, nullable=False),
    sa.Column("at", sa.BigInteger, nullable=False),
)
