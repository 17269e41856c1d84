"""Bulk inserts at driver speed: ``executemany`` on SQLite, ``COPY`` on PostgreSQL.

Runs inside the caller's SQLAlchemy transaction (same DBAPI connection), so a batch commits
or rolls back with everything else in it. Table and column names come from our own code only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa


def bulk_insert(
    conn: sa.Connection, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    if not rows:
        return
    cols = ", ".join(columns)
    dialect = conn.dialect.name
    if dialect == "postgresql":
        import psycopg

        dbapi = conn.connection.driver_connection
        assert dbapi is not None  # noqa: S101 - a live connection always has one
        statement = f"COPY {table} ({cols}) FROM STDIN"
        try:
            with dbapi.cursor() as cur, cur.copy(statement) as copy:
                for row in rows:
                    copy.write_row(row)
        except psycopg.Error as exc:
            # the driver was used directly: map its error as SQLAlchemy would (IntegrityError …)
            raise sa.exc.DBAPIError.instance(
                statement, None, exc, psycopg.Error, dialect=conn.dialect
            ) from exc
        return
    marks = ", ".join("?" for _ in columns)
    conn.exec_driver_sql(f"INSERT INTO {table} ({cols}) VALUES ({marks})", list(rows))  # noqa: S608
