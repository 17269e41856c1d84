"""The key store: kek, dek.

Revision ID: k0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "k0001"
down_revision = None
branch_labels = ("keys",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kek",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key_id", sa.LargeBinary(16), nullable=False, unique=True),
        sa.Column("purpose", sa.String(8), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("collection", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("root_key_id", sa.String(64), nullable=False),
        sa.Column("wrapped", sa.LargeBinary, nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("purpose", "region", "collection", "version", name="kek_scope"),
    )
    op.create_table(
        "dek",
        sa.Column("key_id", sa.LargeBinary(16), primary_key=True),
        sa.Column("kek", sa.Integer, nullable=False),
        sa.Column("scope", sa.SmallInteger, nullable=False),
        sa.Column("scope_ref", sa.String(7), nullable=True),
        sa.Column("wrapped", sa.LargeBinary, nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("destroyed_at", sa.BigInteger, nullable=True),
        sqlite_with_rowid=False,
    )
    op.create_index(
        "dek_month",
        "dek",
        ["kek", "scope_ref"],
        unique=True,
        sqlite_where=sa.text("scope = 2"),
        postgresql_where=sa.text("scope = 2"),
    )
