"""The audit log: pending entries, the sequenced log, subjects, tiles, checkpoints, cosignatures.

Revision ID: r0003
Revises: r0002

The tables are declared in ``strongroom/audit/_tables.py``; ``tests/test_audit_log.py`` checks
that this migration produces exactly them on SQLite and PostgreSQL.
"""

import sqlalchemy as sa
from alembic import op

revision = "r0003"
down_revision = "r0002"
branch_labels = None
depends_on = None

_BIGID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "audit_pending",
        sa.Column("id", _BIGID, primary_key=True, autoincrement=True),
        sa.Column("entry", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "audit_entries",
        sa.Column("idx", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("entry", sa.LargeBinary, nullable=False),
        sa.Column("at", sa.BigInteger, nullable=False),
        sa.Column("actor", sa.String(80), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("purpose", sa.String(64), nullable=False),
        sa.Column("embargo_until", sa.BigInteger, nullable=True),
    )
    op.create_index("audit_entries_actor", "audit_entries", ["actor", "idx"])
    op.create_index("audit_entries_at", "audit_entries", ["at"])
    op.create_table(
        "audit_subjects",
        sa.Column("subject", sa.LargeBinary(32), primary_key=True),
        sa.Column("idx", sa.BigInteger, primary_key=True, autoincrement=False),
    )
    op.create_table(
        "audit_tiles",
        sa.Column("level", sa.SmallInteger, primary_key=True, autoincrement=False),
        sa.Column("idx", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("hashes", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "audit_state",
        sa.Column("id", sa.SmallInteger, primary_key=True, autoincrement=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("root", sa.LargeBinary(32), nullable=False),
    )
    op.create_table(
        "audit_checkpoints",
        sa.Column("size", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("root", sa.LargeBinary(32), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "audit_cosignatures",
        sa.Column("size", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("witness", sa.String(128), primary_key=True),
        sa.Column("line", sa.Text, nullable=False),
        sa.Column("at", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    for name in (
        "audit_cosignatures",
        "audit_checkpoints",
        "audit_state",
        "audit_tiles",
        "audit_subjects",
        "audit_entries",
        "audit_pending",
    ):
        op.drop_table(name)
