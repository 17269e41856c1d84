"""The guard: quota counters, alerts, protected persons and grants, detector state.

Revision ID: r0005
Revises: r0004

Declared in ``strongroom/guard/_tables.py``.
"""

import sqlalchemy as sa
from alembic import op

revision = "r0005"
down_revision = "r0004"
branch_labels = None
depends_on = None

_PRINCIPAL = 128


def upgrade() -> None:
    op.create_table(
        "guard_counters",
        sa.Column("principal_id", sa.String(_PRINCIPAL), primary_key=True),
        sa.Column("metric", sa.String(32), primary_key=True),
        sa.Column("window", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("count", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "guard_subjects",
        sa.Column("principal_id", sa.String(_PRINCIPAL), primary_key=True),
        sa.Column("day", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("subject", sa.LargeBinary(32), primary_key=True),
    )
    op.create_table(
        "guard_alerts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("severity", sa.String(8), nullable=False),
        sa.Column("principal_id", sa.String(_PRINCIPAL), nullable=False),
        sa.Column("summary", sa.String(256), nullable=False),
        sa.Column("evidence", sa.Text, nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("reviewed_by", sa.String(_PRINCIPAL), nullable=True),
        sa.Column("reviewed_at", sa.BigInteger, nullable=True),
        sa.Column("review_note", sa.Text, nullable=True),
        sa.Column("delivered_at", sa.BigInteger, nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt", sa.BigInteger, nullable=False),
    )
    op.create_index("guard_alerts_state", "guard_alerts", ["state", "id"])
    op.create_index("guard_alerts_principal", "guard_alerts", ["principal_id", "id"])
    op.create_index("guard_alerts_delivery", "guard_alerts", ["delivered_at", "next_attempt"])
    op.create_table(
        "guard_protected",
        sa.Column("record_id", sa.LargeBinary(16), primary_key=True),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("marked_by", sa.String(_PRINCIPAL), nullable=False),
        sa.Column("marked_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "guard_grants",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("principal_id", sa.String(_PRINCIPAL), nullable=False),
        sa.Column("record_id", sa.LargeBinary(16), nullable=False),
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column("case_ref", sa.String(64), nullable=True),
        sa.Column("justification", sa.Text, nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("requested_at", sa.BigInteger, nullable=False),
        sa.Column("approver_id", sa.String(_PRINCIPAL), nullable=True),
        sa.Column("decided_at", sa.BigInteger, nullable=True),
        sa.Column("expires_at", sa.BigInteger, nullable=True),
    )
    op.create_index("guard_grants_holder", "guard_grants", ["principal_id", "record_id"])
    op.create_table(
        "guard_state",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("value", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    for name in (
        "guard_state",
        "guard_grants",
        "guard_protected",
        "guard_alerts",
        "guard_subjects",
        "guard_counters",
    ):
        op.drop_table(name)
