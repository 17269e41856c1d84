"""Reads and writes of sealed records and blind-index rows. Only the Vault calls this."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from strongroom.errors import StoreError
from strongroom.store._bulk import bulk_insert
from strongroom.store._tables import (
    STATE_CURRENT,
    STATE_DELETED,
    STATE_SUPERSEDED,
    blind_index,
    imports,
    records,
)

_R = records.c
RECORD_COLUMNS = (
    "id", "version", "collection", "region", "schema_version", "sealed", "created_at", "state",
)  # fmt: skip
_BATCH = 500  # bound for IN (...) lists


#: built once: the find path's one query (index tokens joined to current records)
_BY_TOKENS = (
    sa.select(records)
    .join(blind_index, blind_index.c.record_id == _R.id)
    .where(
        blind_index.c.token.in_(sa.bindparam("tokens", expanding=True)),
        _R.collection == sa.bindparam("collection"),
        _R.state == STATE_CURRENT,
    )
    .order_by(_R.id)
)


#: bulk unique checks: one prebuilt statement, a few thousand tokens per execution
_PRESENT = sa.select(blind_index.c.token, blind_index.c.record_id).where(
    blind_index.c.token.in_(sa.bindparam("tokens", expanding=True))
)
_PRESENT_CHUNK = 5000


@contextmanager
def small_cache(conn: sa.Connection, kib: int = 2048) -> Iterator[None]:
    """A SQLite connection's page cache limited to ``kib`` KiB for one scan that reads each
    page once (caching the table would only grow the process), then restored and emptied."""
    before = conn.exec_driver_sql("PRAGMA cache_size").scalar()
    conn.exec_driver_sql(f"PRAGMA cache_size = -{int(kib)}")
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size = {int(before or -2000)}")
        conn.exec_driver_sql("PRAGMA shrink_memory")


class RecordStore:
    """SQLAlchemy Core over the record database."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name

    def begin(self) -> Any:
        """A transaction (context manager yielding a connection)."""
        return self.engine.begin()

    # -- writes (inside the caller's transaction) ----------------------------------------
    def insert_records(self, conn: sa.Connection, rows: Sequence[tuple[Any, ...]]) -> None:
        """Rows in :data:`RECORD_COLUMNS` order."""
        bulk_insert(conn, "records", RECORD_COLUMNS, rows)

    def insert_tokens(self, conn: sa.Connection, rows: Sequence[tuple[int, bytes]]) -> None:
        # distinct (token, record) pairs: a value indexed twice (say, in two fields) is one row
        bulk_insert(conn, "blind_index", ("token", "record_id"), list(dict.fromkeys(rows)))

    def delete_tokens(self, conn: sa.Connection, rows: Iterable[tuple[int, bytes]]) -> None:
        pairs = list(dict.fromkeys(rows))
        if pairs:  # one prepared statement, executed per pair (executemany)
            m = "?" if self.dialect == "sqlite" else "%s"
            sql = f"DELETE FROM blind_index WHERE token = {m} AND record_id = {m}"  # noqa: S608
            conn.exec_driver_sql(sql, pairs)

    def ensure_tokens(self, conn: sa.Connection, rows: Sequence[tuple[int, bytes]]) -> None:
        """Insert index entries unless present (idempotent writes of bulk jobs): SQLite's
        ``INSERT OR IGNORE`` on the (token, record) key; PostgreSQL's index has no key, so
        the pairs are deleted first, then copied in."""
        pairs = list(dict.fromkeys(rows))
        if self.dialect == "sqlite":
            if pairs:
                sql = "INSERT OR IGNORE INTO blind_index (token, record_id) VALUES (?, ?)"
                conn.exec_driver_sql(sql, pairs)
            return
        self.delete_tokens(conn, pairs)
        self.insert_tokens(conn, pairs)

    def current_after(self, collection: str, after: bytes | None, limit: int) -> list[sa.Row[Any]]:
        """The current versions of up to ``limit`` records of ``collection`` with ids after
        ``after``, in id order: one primary-key range scan (bulk jobs; constant memory)."""
        q = sa.select(records).where(_R.collection == collection, _R.state == STATE_CURRENT)
        if after is not None:
            q = q.where(_R.id > after)
        try:
            with self.engine.connect() as conn:
                return list(conn.execute(q.order_by(_R.id).limit(limit)))
        except SQLAlchemyError as exc:
            raise StoreError("the record database could not be read") from exc

    def lock_current(
        self, conn: sa.Connection, collection: str, versions: Sequence[tuple[bytes, int]]
    ) -> set[tuple[bytes, int]]:
        """Which of ``versions`` (record id, version) are still current, locked against
        concurrent writers until ``conn``'s transaction ends: PostgreSQL locks those rows
        (``FOR UPDATE``: an update, delete or erasure of one of them waits, and one that
        committed first is seen); SQLite takes the database's write lock first. For bulk
        jobs that rewrite what they read a moment before (the reindex's version check)."""
        if not versions:
            return set()
        if self.dialect == "sqlite":  # a write statement takes the write lock at once
            conn.exec_driver_sql("UPDATE records SET state = state WHERE 0")
        out: set[tuple[bytes, int]] = set()
        ids = sorted({rid for rid, _v in versions})
        for i in range(0, len(ids), _BATCH):
            q = (
                sa.select(_R.id, _R.version)
                .where(
                    _R.id.in_(ids[i : i + _BATCH]),
                    _R.collection == collection,
                    _R.state == STATE_CURRENT,
                )
                .order_by(_R.id)
                .with_for_update()
            )
            out.update((bytes(r.id), int(r.version)) for r in conn.execute(q))
        return out & set(versions)

    def scan(self, collection: str, after: bytes | None, limit: int) -> list[sa.Row[Any]]:
        """Every stored version of records of ``collection`` with ids after ``after``, in
        (id, version) order, ``limit`` ids at a time at most (bulk jobs; constant memory)."""
        ids = sa.select(_R.id).where(_R.collection == collection)
        if after is not None:
            ids = ids.where(_R.id > after)
        ids = ids.group_by(_R.id).order_by(_R.id).limit(limit)
        try:
            with self.engine.connect() as conn:
                chosen = [bytes(r.id) for r in conn.execute(ids)]
                if not chosen:
                    return []
                q = (
                    sa.select(records)
                    .where(_R.id.in_(chosen), _R.collection == collection)
                    .order_by(_R.id, _R.version)
                )
                return list(conn.execute(q))
        except SQLAlchemyError as exc:
            raise StoreError("the record database could not be read") from exc

    def delete_record(self, conn: sa.Connection, collection: str, record_id: bytes) -> int:
        """Delete every version of a record and every index entry pointing at it (erasure).

        Returns the number of versions deleted. The record rows go first: every writer
        locks a record's row before its index entries (see :meth:`lock_current`)."""
        done = conn.execute(records.delete().where(_R.id == record_id, _R.collection == collection))
        conn.execute(blind_index.delete().where(blind_index.c.record_id == record_id))
        return int(done.rowcount)

    def set_state(self, conn: sa.Connection, record_id: bytes, version: int, state: int) -> None:
        conn.execute(
            records.update().where(_R.id == record_id, _R.version == version).values(state=state)
        )

    # -- reads ---------------------------------------------------------------------------
    def ids_for_tokens(self, tokens: Sequence[int]) -> list[bytes]:
        out: list[bytes] = []
        try:
            with self.engine.connect() as conn:
                for i in range(0, len(tokens), _BATCH):
                    chunk = list(dict.fromkeys(tokens[i : i + _BATCH]))
                    q = sa.select(blind_index.c.record_id).where(blind_index.c.token.in_(chunk))
                    out.extend(r[0] for r in conn.execute(q))
        except SQLAlchemyError as exc:
            raise StoreError("the record database could not be read") from exc
        return list(dict.fromkeys(out))

    def current_by_tokens(self, collection: str, tokens: Sequence[int]) -> list[sa.Row[Any]]:
        """Current records of ``collection`` that any of ``tokens`` points to (one query)."""
        if not tokens:
            return []
        params = {"tokens": list(dict.fromkeys(tokens)), "collection": collection}
        try:
            with self.engine.connect() as conn:
                rows = list(conn.execute(_BY_TOKENS, params))
        except SQLAlchemyError as exc:
            raise StoreError("the record database could not be read") from exc
        return list({r.id: r for r in rows}.values())  # a record matched by two tokens once

    def tokens_present(self, conn: sa.Connection, tokens: Sequence[int]) -> dict[int, list[bytes]]:
        """The records each of ``tokens`` points to (only tokens present), in chunks."""
        found: dict[int, list[bytes]] = {}
        uniq = list(dict.fromkeys(tokens))
        for i in range(0, len(uniq), _PRESENT_CHUNK):
            chunk = uniq[i : i + _PRESENT_CHUNK]
            for t, r in conn.execute(_PRESENT, {"tokens": chunk}):
                found.setdefault(t, []).append(r)
        return found

    def current(self, collection: str, ids: Sequence[bytes]) -> list[sa.Row[Any]]:
        """The current (not superseded, not deleted) version of each id in ``collection``."""
        out: list[sa.Row[Any]] = []
        try:
            with self.engine.connect() as conn:
                for i in range(0, len(ids), _BATCH):
                    q = sa.select(records).where(
                        _R.id.in_(ids[i : i + _BATCH]),
                        _R.collection == collection,
                        _R.state == STATE_CURRENT,
                    )
                    out.extend(conn.execute(q))
        except SQLAlchemyError as exc:
            raise StoreError("the record database could not be read") from exc
        order = {rid: n for n, rid in enumerate(ids)}
        out.sort(key=lambda r: order[r.id])
        return out

    def versions(self, collection: str, record_id: bytes) -> list[sa.Row[Any]]:
        q = (
            sa.select(records)
            .where(_R.id == record_id, _R.collection == collection)
            .order_by(_R.version)
        )
        try:
            with self.engine.connect() as conn:
                return list(conn.execute(q))
        except SQLAlchemyError as exc:
            raise StoreError("the record database could not be read") from exc

    def counts(self) -> dict[str, int]:
        """Current records per collection, in constant memory: SQLite has no hash aggregate,
        and its ``GROUP BY collection`` sorts every row — in memory, with ``temp_store=
        MEMORY`` (115 MB for a million records) — so there the rows are streamed and counted
        here through a small page cache (about 0.3 s per million)."""
        try:
            with self.engine.connect() as conn:
                if self.dialect != "sqlite":
                    q = sa.select(_R.collection, sa.func.count()).where(_R.state == STATE_CURRENT)
                    return {c: int(n) for c, n in conn.execute(q.group_by(_R.collection))}
                counts: Counter[str] = Counter()
                with small_cache(conn):
                    sql = f"SELECT collection FROM records WHERE state = {STATE_CURRENT}"  # noqa: S608
                    cur = conn.exec_driver_sql(sql)
                    while chunk := cur.fetchmany(10_000):
                        counts.update(c for (c,) in chunk)
                return dict(counts)
        except SQLAlchemyError as exc:
            raise StoreError("the record database could not be read") from exc

    # -- imports -------------------------------------------------------------------------
    def import_state(self, import_id: str) -> sa.Row[Any] | None:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(imports).where(imports.c.id == import_id)).first()

    def save_import_state(self, conn: sa.Connection, row: dict[str, Any]) -> None:
        exists = conn.execute(sa.select(imports.c.id).where(imports.c.id == row["id"])).first()
        if exists:
            conn.execute(imports.update().where(imports.c.id == row["id"]).values(**row))
        else:
            conn.execute(imports.insert(), row)


__all__ = ["RECORD_COLUMNS", "STATE_CURRENT", "STATE_DELETED", "STATE_SUPERSEDED", "RecordStore"]
