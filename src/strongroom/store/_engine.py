"""Engines for SQLite (embedded default, WAL) and PostgreSQL (psycopg 3)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from strongroom.errors import ConfigError, StoreError


def sqlite_url(path: str) -> str:
    return f"sqlite:///{path}"


#: pooled connections per engine, and how many more a burst may open
POOL_SIZE = 16
POOL_OVERFLOW = 24


def make_engine(url: str, *, secure_delete: bool = False) -> sa.Engine:
    """An engine for ``url``; SQLite gets WAL, NORMAL sync, in-memory temp storage.

    ``secure_delete`` overwrites deleted content (used for the key store, where a destroyed
    key must not linger in free pages).
    """
    try:
        u = sa.make_url(url)
    except ArgumentError:
        # the URL may carry a password: never echo it
        raise ConfigError(
            "not a database URL (expected sqlite:///PATH or postgresql://USER@HOST/DB)"
        ) from None
    if u.get_backend_name() == "sqlite":
        # the API serves from a thread pool of 40: keep enough pooled connections that a
        # busy server does not open and close one per request
        engine = sa.create_engine(u, pool_size=POOL_SIZE, max_overflow=POOL_OVERFLOW)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA temp_store=MEMORY")
            cur.execute("PRAGMA busy_timeout=10000")
            cur.execute("PRAGMA cache_size=-65536")
            if secure_delete:
                cur.execute("PRAGMA secure_delete=ON")
            cur.close()

        return engine
    if u.get_backend_name() == "postgresql":
        if u.drivername == "postgresql":
            u = u.set(drivername="postgresql+psycopg")
        # no pool_pre_ping: it costs a round trip per checkout; a dead connection surfaces as
        # an error on use, which the caller maps to StoreError, and the pool drops it
        return sa.create_engine(
            u, pool_recycle=3600, pool_size=POOL_SIZE, max_overflow=POOL_OVERFLOW
        )
    raise ConfigError(f"unsupported database {u.get_backend_name()!r}: use sqlite or postgresql")


def check_reachable(engine: sa.Engine) -> None:
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot connect to the database ({exc.__class__.__name__})") from exc
