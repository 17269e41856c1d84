"""The record database: records, blind_index, imports.

Revision ID: r0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "r0001"
down_revision = None
branch_labels = ("records",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "records",
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
    if op.get_bind().dialect.name == "postgresql":
        # A heap with a plain index on token, no primary key: PostgreSQL has no index-organised
        # tables, so a (token, record_id) key would store every pair twice, in the heap and in
        # the key's index. Pairs are unique by construction (one insert per record version,
        # old tokens deleted first), and lookups are by token only.
        op.create_table(
            "blind_index",
            sa.Column("token", sa.BigInteger, nullable=False),
            sa.Column("record_id", sa.LargeBinary(16), nullable=False),
        )
        op.create_index("blind_index_token", "blind_index", ["token"])
    else:
        # SQLite: one B-tree keyed by (token, record_id) holds the whole index
        op.create_table(
            "blind_index",
            sa.Column("token", sa.BigInteger, primary_key=True, autoincrement=False),
            sa.Column("record_id", sa.LargeBinary(16), primary_key=True),
            sqlite_with_rowid=False,
        )
    op.create_table(
        "imports",
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
