"""The key store: wrapped key-encryption keys and data keys, in their own database.

It is never the record database, so a backup or copy of the records carries no keys, and
destroying a data key here (erasure, retention) is not undone by restoring records.

Tables::

    kek  id | key_id (16) | purpose (data|index|service) | region | collection | version
         | root_key_id | wrapped (root provider's wrap; empty once retired)
         | state (active: the newest, new writes use it; previous: still opens what it
           wraps; retired: nothing uses it, its material is gone; pending: an index key
           staged by a rotation, searched by every process but not yet written under)
         | created_at
    dek  key_id (16, PK) | kek (-> kek.id) | scope (1 subject, 2 month) | scope_ref (YYYY-MM)
         | wrapped (nonce 12 ‖ AES-256-GCM(KEK, key 32) ‖ tag 16; NULL once destroyed)
         | created_at | destroyed_at
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from strongroom.errors import KeyringError
from strongroom.store._bulk import bulk_insert
from strongroom.store._records import small_cache

keys_metadata = sa.MetaData()

kek_table = sa.Table(
    "kek",
    keys_metadata,
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

SCOPE_SUBJECT = 1
SCOPE_MONTH = 2

dek_table = sa.Table(
    "dek",
    keys_metadata,
    sa.Column("key_id", sa.LargeBinary(16), primary_key=True),
    sa.Column("kek", sa.Integer, nullable=False),
    sa.Column("scope", sa.SmallInteger, nullable=False),
    sa.Column("scope_ref", sa.String(7), nullable=True),
    sa.Column("wrapped", sa.LargeBinary, nullable=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("destroyed_at", sa.BigInteger, nullable=True),
    # month keys only: subject keys (one per person) have no month and need no entry
    sa.Index(
        "dek_month",
        "kek",
        "scope_ref",
        unique=True,
        sqlite_where=sa.text("scope = 2"),
        postgresql_where=sa.text("scope = 2"),
    ),
    sqlite_with_rowid=False,
)


#: a dek row as written: (key_id, kek, scope, scope_ref, wrapped, created_at, destroyed_at)
DekRow = tuple[bytes, int, int, str | None, bytes, int, int | None]
DEK_COLUMNS = ("key_id", "kek", "scope", "scope_ref", "wrapped", "created_at", "destroyed_at")


class KeyStore:
    """Reads and writes wrapped keys. It never sees an unwrapped key."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def find_kek(self, purpose: str, region: str, collection: str) -> sa.Row[Any] | None:
        q = (
            sa.select(kek_table)
            .where(
                kek_table.c.purpose == purpose,
                kek_table.c.region == region,
                kek_table.c.collection == collection,
                kek_table.c.state == "active",
            )
            .order_by(kek_table.c.version.desc())
            .limit(1)
        )
        return self._one(q)

    def keks(
        self, purpose: str | None = None, region: str | None = None, collection: str | None = None
    ) -> list[sa.Row[Any]]:
        """Every KEK (all versions and states) of the scopes matching the given filters, in
        (purpose, region, collection, version) order."""
        q = sa.select(kek_table).order_by(
            kek_table.c.purpose, kek_table.c.region, kek_table.c.collection, kek_table.c.version
        )
        for col, value in (("purpose", purpose), ("region", region), ("collection", collection)):
            if value is not None:
                q = q.where(kek_table.c[col] == value)
        try:
            with self.engine.connect() as conn:
                return list(conn.execute(q))
        except SQLAlchemyError as exc:
            raise KeyringError("the key store could not be read") from exc

    def rotate_kek(self, row: dict[str, Any]) -> bool:
        """Insert a new (active) version of a KEK scope and mark the older active ones
        ``previous``, in one transaction; False if another writer made that version first."""
        c = kek_table.c
        try:
            with self.engine.begin() as conn:
                conn.execute(kek_table.insert(), row)
                conn.execute(
                    kek_table.update()
                    .where(
                        c.purpose == row["purpose"],
                        c.region == row["region"],
                        c.collection == row["collection"],
                        c.version < row["version"],
                        c.state == "active",
                    )
                    .values(state="previous")
                )
        except IntegrityError:
            return False
        except SQLAlchemyError as exc:
            raise KeyringError("the key store could not be written") from exc
        return True

    def activate_kek(self, purpose: str, region: str, collection: str) -> int | None:
        """Make the newest ``pending`` version of a scope the ``active`` one, and every older
        active or pending version ``previous``, in one transaction. Returns the version
        made active, or None when nothing was pending."""
        c = kek_table.c
        scope = (c.purpose == purpose, c.region == region, c.collection == collection)
        try:
            with self.engine.begin() as conn:
                newest = conn.execute(
                    sa.select(c.id, c.version)
                    .where(*scope, c.state == "pending")
                    .order_by(c.version.desc())
                    .limit(1)
                ).first()
                if newest is None:
                    return None
                conn.execute(
                    kek_table.update()
                    .where(*scope, c.version < newest.version, c.state.in_(("active", "pending")))
                    .values(state="previous")
                )
                conn.execute(kek_table.update().where(c.id == newest.id).values(state="active"))
        except SQLAlchemyError as exc:
            raise KeyringError("the key store could not be written") from exc
        return int(newest.version)

    def rewrap_kek(self, kek_id: int, old_root: str, root_key_id: str, wrapped: bytes) -> bool:
        """Replace a KEK's wrap (root rotation), only if ``old_root`` still wraps it."""
        c = kek_table.c
        try:
            with self.engine.begin() as conn:
                done = conn.execute(
                    kek_table.update()
                    .where(c.id == kek_id, c.root_key_id == old_root)
                    .values(root_key_id=root_key_id, wrapped=wrapped)
                )
        except SQLAlchemyError as exc:
            raise KeyringError("the key store could not be written") from exc
        return bool(done.rowcount)

    def root_key_ids(self) -> set[str]:
        """The root keys that wrap some KEK (one, except half way through a root rotation
        that was not all-or-nothing)."""
        q = sa.select(kek_table.c.root_key_id).distinct()
        try:
            with self.engine.connect() as conn:
                return {str(r) for r in conn.execute(q).scalars()}
        except SQLAlchemyError as exc:
            raise KeyringError("the key store could not be read") from exc

    def rewrap_all_keks(
        self, old_root: str, new_root: str, rewrap: Callable[[sa.Row[Any]], bytes]
    ) -> int:
        """Root rotation, all or nothing: in one transaction that first locks the KEK table
        against other writers, every KEK wrapped by ``old_root`` gets ``rewrap(row)`` as its
        wrap and ``new_root`` as its root. Refused (nothing changed) if a KEK is wrapped by a
        third root. Returns the KEKs changed (0 when a previous call already did it)."""
        c = kek_table.c
        try:
            with self.engine.begin() as conn:
                if self.engine.dialect.name == "postgresql":
                    conn.exec_driver_sql("LOCK TABLE kek IN SHARE ROW EXCLUSIVE MODE")
                else:  # SQLite: a write statement takes the database's write lock at once
                    conn.exec_driver_sql("UPDATE kek SET state = state WHERE 0")
                rows = list(conn.execute(sa.select(kek_table).order_by(c.id)))
                others = {r.root_key_id for r in rows} - {old_root, new_root}
                if others:
                    raise KeyringError(
                        "some key-encryption keys are wrapped by another root key "
                        f"({', '.join(sorted(others))}); nothing was re-wrapped"
                    )
                done = 0
                for row in rows:
                    if row.root_key_id != old_root:
                        continue
                    conn.execute(
                        kek_table.update()
                        .where(c.id == row.id, c.root_key_id == old_root)
                        .values(root_key_id=new_root, wrapped=rewrap(row))
                    )
                    done += 1
        except SQLAlchemyError as exc:
            raise KeyringError("the key store could not be written") from exc
        return done

    def retire_kek(self, kek_id: int) -> bool:
        """Retire a KEK that no live data key uses: its material is dropped and its state
        becomes ``retired``. False (nothing changed) while a live data key still uses it."""
        c = kek_table.c
        live = sa.exists().where(dek_table.c.kek == kek_id, dek_table.c.wrapped.is_not(None))
        try:
            with self.engine.begin() as conn:
                done = conn.execute(
                    kek_table.update()
                    .where(c.id == kek_id, c.state == "previous", ~live)
                    .values(state="retired", wrapped=b"")
                )
        except SQLAlchemyError as exc:
            raise KeyringError("the key store could not be written") from exc
        return bool(done.rowcount)

    def dek_counts(self) -> dict[int, tuple[int, int]]:
        """Per KEK id: (live data keys, destroyed data keys) it wraps or wrapped.

        In constant memory on both databases. SQLite has no hash aggregate: its ``GROUP BY
        kek`` (there is no index on ``kek``) sorts every row, with ``temp_store=MEMORY`` in
        memory (175 MB for a million keys), so there the rows are streamed and counted here
        (0.5 s per million), through a small page cache. PostgreSQL's ``GROUP BY`` is a hash
        aggregate over a handful of groups. (A live key is one not destroyed: destroying
        sets ``destroyed_at`` and drops ``wrapped`` together.)"""
        d = dek_table.c
        try:
            with self.engine.connect() as conn:
                if self.engine.dialect.name != "sqlite":
                    q = sa.select(d.kek, sa.func.count(d.wrapped), sa.func.count(d.destroyed_at))
                    rows = conn.execute(q.group_by(d.kek))
                    return {int(k): (int(live), int(gone)) for k, live, gone in rows}
                counts: Counter[tuple[int, int]] = Counter()
                with small_cache(conn):
                    cur = conn.exec_driver_sql("SELECT kek, destroyed_at IS NULL FROM dek")
                    while chunk := cur.fetchmany(10_000):
                        counts.update((int(k), int(live)) for k, live in chunk)
                keks = {k for k, _live in counts}
                return {k: (counts[(k, 1)], counts[(k, 0)]) for k in keks}
        except SQLAlchemyError as exc:
            raise KeyringError("the key store could not be read") from exc

    def release_memory(self) -> None:
        """Let SQLite free its page cache's clean pages (bulk jobs, after each batch: a
        range scan reads each page once, and a full cache of them — up to 64 MiB per
        connection — would make the job's memory grow with the key store). No-op on
        PostgreSQL."""
        if self.engine.dialect.name != "sqlite":
            return
        try:
            with self.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA shrink_memory")
        except SQLAlchemyError as exc:
            raise KeyringError("the key store could not be read") from exc

    def deks_under(
        self, kek_ids: Sequence[int], after: bytes | None, limit: int
    ) -> list[tuple[bytes, int, bytes]]:
        """(key id, KEK id, wrapped) of live data keys wrapped by any of ``kek_ids`` with key
        ids after ``after``, in key id order, ``limit`` at most: one primary-key range scan
        for every scope at once (resumable, constant memory). Plain driver SQL (the rekey's
        inner loop)."""
        ids = ", ".join(str(int(k)) for k in kek_ids)  # integers from the key store itself
        mark = "?" if self.engine.dialect.name == "sqlite" else "%s"
        sql = (
            f"SELECT key_id, kek, wrapped FROM dek WHERE kek IN ({ids})"  # noqa: S608
            f" AND wrapped IS NOT NULL AND key_id > {mark} ORDER BY key_id LIMIT {int(limit)}"
        )
        try:
            with self.engine.connect() as conn:
                rows = conn.exec_driver_sql(sql, (after or b"",)).fetchall()
        except SQLAlchemyError as exc:
            raise KeyringError("the key store could not be read") from exc
        return [(bytes(k), int(e), bytes(w)) for k, e, w in rows]

    def move_deks(self, moves: Sequence[tuple[bytes, int, int, bytes]]) -> list[bytes]:
        """Re-wrap data keys: (key id, old KEK id, new KEK id, new wrap) each, applied only
        where the key is still live and still under the old KEK (optimistic: a key erased or
        moved meanwhile is left as it is). One transaction, plain driver SQL.

        A month key whose month already has a key under the new KEK (two writers made one
        for the same month under two versions) cannot move: the batch is then retried one
        key at a time and the ids of those that could not move are returned."""
        if not moves:
            return []
        m = "?" if self.engine.dialect.name == "sqlite" else "%s"
        sql = (
            f"UPDATE dek SET kek = {m}, wrapped = {m}"  # noqa: S608
            f" WHERE key_id = {m} AND kek = {m} AND wrapped IS NOT NULL"
        )
        params = [(n, w, k, o) for k, o, n, w in moves]
        try:
            try:
                with self.engine.begin() as conn:
                    conn.exec_driver_sql(sql, params)
                return []
            except IntegrityError:
                stuck: list[bytes] = []
                for p in params:
                    try:
                        with self.engine.begin() as conn:
                            conn.exec_driver_sql(sql, p)
                    except IntegrityError:
                        stuck.append(p[2])
                return stuck
        except SQLAlchemyError as exc:
            raise KeyringError("the key store could not be written") from exc

    def kek_by_id(self, kek_id: int) -> sa.Row[Any] | None:
        return self._one(sa.select(kek_table).where(kek_table.c.id == kek_id))

    def insert_kek(self, row: dict[str, Any]) -> bool:
        """Insert a KEK; False if another writer created that scope first."""
        try:
            with self.engine.begin() as conn:
                conn.execute(kek_table.insert(), row)
        except IntegrityError:
            return False
        except SQLAlchemyError as exc:
            raise KeyringError("the key store could not be written") from exc
        return True

    def regions(self, collection: str) -> list[str]:
        q = (
            sa.select(kek_table.c.region)
            .where(kek_table.c.collection == collection, kek_table.c.purpose == "index")
            .distinct()
            .order_by(kek_table.c.region)
        )
        try:
            with self.engine.connect() as conn:
                return [r[0] for r in conn.execute(q)]
        except SQLAlchemyError as exc:
            raise KeyringError("the key store could not be read") from exc

    _DEK_BY_ID = sa.select(dek_table).where(dek_table.c.key_id == sa.bindparam("key_id"))

    def dek(self, key_id: bytes) -> sa.Row[Any] | None:
        try:
            with self.engine.connect() as conn:
                return conn.execute(self._DEK_BY_ID, {"key_id": key_id}).first()
        except SQLAlchemyError as exc:
            raise KeyringError("the key store could not be read") from exc

    def deks(self, key_ids: Sequence[bytes]) -> list[sa.Row[Any]]:
        out: list[sa.Row[Any]] = []
        try:
            with self.engine.connect() as conn:
                for i in range(0, len(key_ids), 500):
                    q = sa.select(dek_table).where(dek_table.c.key_id.in_(key_ids[i : i + 500]))
                    out.extend(conn.execute(q))
        except SQLAlchemyError as exc:
            raise KeyringError("the key store could not be read") from exc
        return out

    def month_deks(self, kek_ids: Sequence[int]) -> list[sa.Row[Any]]:
        """Every month key under the given KEKs."""
        if not kek_ids:
            return []
        q = sa.select(dek_table).where(
            dek_table.c.kek.in_(list(kek_ids)), sa.text(f"scope = {SCOPE_MONTH}")
        )
        try:
            with self.engine.connect() as conn:
                return list(conn.execute(q))
        except SQLAlchemyError as exc:
            raise KeyringError("the key store could not be read") from exc

    def month_dek(self, kek_id: int, month: str) -> sa.Row[Any] | None:
        return self._one(
            sa.select(dek_table).where(
                dek_table.c.kek == kek_id,
                sa.text(f"scope = {SCOPE_MONTH}"),  # a literal, so the partial index applies
                dek_table.c.scope_ref == month,
            )
        )

    def insert_deks(self, rows: Sequence[DekRow]) -> None:
        if not rows:
            return
        try:
            with self.engine.begin() as conn:
                bulk_insert(conn, "dek", DEK_COLUMNS, rows)
        except SQLAlchemyError as exc:
            raise KeyringError("the key store could not be written") from exc

    def try_insert_dek(self, row: DekRow) -> bool:
        try:
            with self.engine.begin() as conn:
                conn.execute(dek_table.insert(), dict(zip(DEK_COLUMNS, row, strict=True)))
        except IntegrityError:
            return False
        except SQLAlchemyError as exc:
            raise KeyringError("the key store could not be written") from exc
        return True

    def delete_deks(self, key_ids: Iterable[bytes]) -> None:
        ids = list(key_ids)
        if not ids:
            return
        try:
            with self.engine.begin() as conn:
                conn.execute(dek_table.delete().where(dek_table.c.key_id.in_(ids)))
        except SQLAlchemyError as exc:
            raise KeyringError("the key store could not be written") from exc

    def destroy_dek(self, key_id: bytes, when: int) -> bool:
        """Destroy a data key: its wrapped material is overwritten and dropped, the row kept
        as a tombstone (``destroyed_at``) so that a ciphertext under it reads as erased.

        SQLite runs this key store with ``secure_delete`` and the WAL is checkpointed at
        once, so the old bytes do not linger in free pages or the WAL; PostgreSQL's old row
        version is removed by ``VACUUM`` of the table. Returns False when there was no key.
        """
        try:
            with self.engine.begin() as conn:
                done = conn.execute(
                    dek_table.update()
                    .where(dek_table.c.key_id == key_id)
                    .values(wrapped=None, destroyed_at=when)
                )
            if self.engine.dialect.name == "sqlite":
                with self.engine.connect() as conn:
                    conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            else:
                with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    conn.exec_driver_sql("VACUUM dek")
        except SQLAlchemyError as exc:
            raise KeyringError("the key store could not be written") from exc
        return bool(done.rowcount)

    def destroyed(self, key_ids: Sequence[bytes]) -> set[bytes]:
        """Which of ``key_ids`` are destroyed data keys."""
        ids = list(dict.fromkeys(key_ids))
        if not ids:
            return set()
        try:
            with self.engine.connect() as conn:
                rows = conn.execute(
                    sa.select(dek_table.c.key_id).where(
                        dek_table.c.key_id.in_(ids), dek_table.c.destroyed_at.is_not(None)
                    )
                )
                return {bytes(r.key_id) for r in rows}
        except SQLAlchemyError as exc:
            raise KeyringError("the key store could not be read") from exc

    def _one(self, q: sa.Select[Any]) -> sa.Row[Any] | None:
        try:
            with self.engine.connect() as conn:
                return conn.execute(q).first()
        except SQLAlchemyError as exc:
            raise KeyringError("the key store could not be read") from exc
