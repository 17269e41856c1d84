"""The key store: honeytoken marks.

Revision ID: k0002
Revises: k0001

Declared in ``strongroom/guard/_tables.py`` (``honeytoken_marks``).
"""

import sqlalchemy as sa
from alembic import op

revision = "k0002"
down_revision = "k0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "honeytoken_marks",
        sa.Column("mark", sa.LargeBinary(32), primary_key=True),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("planted_at", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("honeytoken_marks")
