"""Principals and API tokens: principals, principal_cases, api_tokens.

Revision ID: r0002
Revises: r0001

The tables are declared in ``strongroom/auth/_tables.py``; a test checks that this migration
produces exactly them on SQLite and PostgreSQL. API token secrets are never stored: only an
8-character lookup prefix and HMAC-SHA256(hash_key, secret), whose key is not in this database.
"""

import sqlalchemy as sa
from alembic import op

revision = "r0002"
down_revision = "r0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "principals",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("roles", sa.String(255), nullable=False),
        sa.Column("unit", sa.String(32), nullable=True),
        sa.Column("home_region", sa.String(16), nullable=True),
        sa.Column("citizen_subject", sa.LargeBinary(64), nullable=True),
        sa.Column("disabled", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "principal_cases",
        sa.Column(
            "principal_id",
            sa.String(64),
            sa.ForeignKey("principals.id", name="principal_cases_principal_fk"),
            primary_key=True,
        ),
        sa.Column("case_ref", sa.String(64), primary_key=True),
        sa.Column("assigned_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "api_tokens",
        sa.Column("prefix", sa.String(8), primary_key=True),
        sa.Column(
            "principal_id",
            sa.String(64),
            sa.ForeignKey("principals.id", name="api_tokens_principal_fk"),
            nullable=False,
        ),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("token_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
        sa.Column("revoked_at", sa.BigInteger, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("api_tokens")
    op.drop_table("principal_cases")
    op.drop_table("principals")
