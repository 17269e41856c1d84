"""The authentication tables in the record database (SQLAlchemy Core).

Created by migration ``r0002`` (``store/migrations/versions/r0002_principals.py``)::

    principals       id (short code) | kind (user|service) | roles (comma-separated, sorted)
                     | unit | home_region | citizen_subject (HMAC token, never the resident ID)
                     | disabled | created_at (ms)
    principal_cases  principal_id | case_ref | assigned_at (ms)        -- case assignments
    api_tokens       prefix (8, the token's public id) | principal_id | name
                     | token_hash = HMAC-SHA256(hash_key, secret) (32) | created_at (ms)
                     | expires_at (ms) | revoked_at (ms, null while valid)

Tokens are found by ``prefix`` (the primary key). There is deliberately no secondary index: the
tables are small (one row per principal or token), listing by principal is a rare admin call,
and ``tests/test_migrations.py`` compares the record database with ``strongroom.store.metadata``
where an index on a table it does not declare would show up as drift.

No API token secret is stored anywhere: only its lookup prefix and its keyed hash, whose key
(``hash_key``) is not in this database.
"""

from __future__ import annotations

import sqlalchemy as sa

auth_metadata = sa.MetaData()

principals = sa.Table(
    "principals",
    auth_metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("kind", sa.String(8), nullable=False),
    sa.Column("roles", sa.String(255), nullable=False),
    sa.Column("unit", sa.String(32), nullable=True),
    sa.Column("home_region", sa.String(16), nullable=True),
    sa.Column("citizen_subject", sa.LargeBinary(64), nullable=True),
    sa.Column("disabled", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
)

principal_cases = sa.Table(
    "principal_cases",
    auth_metadata,
    sa.Column(
        "principal_id",
        sa.String(64),
        sa.ForeignKey("principals.id", name="principal_cases_principal_fk"),
        primary_key=True,
    ),
    sa.Column("case_ref", sa.String(64), primary_key=True),
    sa.Column("assigned_at", sa.BigInteger, nullable=False),
)

api_tokens = sa.Table(
    "api_tokens",
    auth_metadata,
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
