"""The guard's tables.

In the record database (migration ``r0005``)::

    guard_counters   principal_id | metric | window (start, ms) | count
                     -- quota counters, shared by every API process through the database
    guard_subjects   principal_id | day (start, ms) | subject (32, the audit HMAC)
                     -- distinct subjects a principal was released per day
    guard_alerts     id | created_at | kind | severity | principal_id | summary | evidence
                     | state (open|acknowledged|escalated) | reviewed_by | reviewed_at
                     | review_note (sealed) | delivered_at | attempts | next_attempt
    guard_protected  record_id (16) | note (sealed: category and reason) | marked_by
                     | marked_at
    guard_grants     id | principal_id | record_id | purpose | case_ref | justification
                     (sealed) | state (pending|approved|denied|revoked) | requested_at
                     | approver_id | decided_at | expires_at
    guard_state      name | value     -- e.g. the detectors' position in the audit log

In the key store (migration ``k0002``)::

    honeytoken_marks mark (32) | kind (record|resident_id|phone) | planted_at
                     -- HMAC(service key "honeytoken", kind ‖ value): which records are
                        canaries is not readable from the record database, and not listable
                        from the key store without the root key

No value in these tables is personal data in the clear: subjects are keyed HMACs, free text
(review notes, protection reasons, justifications) is sealed with the audit log's key.
"""

from __future__ import annotations

import sqlalchemy as sa

guard_metadata = sa.MetaData()

_PRINCIPAL = 128  # "oidc:<sub>" ids are longer than stored principals' ids

guard_counters = sa.Table(
    "guard_counters",
    guard_metadata,
    sa.Column("principal_id", sa.String(_PRINCIPAL), primary_key=True),
    sa.Column("metric", sa.String(32), primary_key=True),
    sa.Column("window", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("count", sa.BigInteger, nullable=False),
)

guard_subjects = sa.Table(
    "guard_subjects",
    guard_metadata,
    sa.Column("principal_id", sa.String(_PRINCIPAL), primary_key=True),
    sa.Column("day", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("subject", sa.LargeBinary(32), primary_key=True),
)

guard_alerts = sa.Table(
    "guard_alerts",
    guard_metadata,
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
    sa.Index("guard_alerts_state", "state", "id"),
    sa.Index("guard_alerts_principal", "principal_id", "id"),
    sa.Index("guard_alerts_delivery", "delivered_at", "next_attempt"),
)

guard_protected = sa.Table(
    "guard_protected",
    guard_metadata,
    sa.Column("record_id", sa.LargeBinary(16), primary_key=True),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("marked_by", sa.String(_PRINCIPAL), nullable=False),
    sa.Column("marked_at", sa.BigInteger, nullable=False),
)

guard_grants = sa.Table(
    "guard_grants",
    guard_metadata,
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
    sa.Index("guard_grants_holder", "principal_id", "record_id"),
)

guard_state = sa.Table(
    "guard_state",
    guard_metadata,
    sa.Column("name", sa.String(32), primary_key=True),
    sa.Column("value", sa.BigInteger, nullable=False),
)

honeytoken_metadata = sa.MetaData()

honeytoken_marks = sa.Table(
    "honeytoken_marks",
    honeytoken_metadata,
    sa.Column("mark", sa.LargeBinary(32), primary_key=True),
    sa.Column("kind", sa.String(12), nullable=False),
    sa.Column("planted_at", sa.BigInteger, nullable=False),
)
