"""The audit log of one vault: append, sequence, checkpoint, prove, search, verify.

Write path (every access):

1. :meth:`AuditLog.append` inserts the encoded entry into ``audit_pending`` — inside the
   caller's transaction for writes (the entry commits with the record or not at all), or in its
   own committed transaction before a read releases anything (if it fails, the read fails);
2. :meth:`AuditLog.sequence` (the one sequencer: a lock row serialises it) moves pending
   entries, in id order, to ``audit_entries`` with the next contiguous indices, integrates
   their leaf hashes into the tiles and the tree state, and deletes them from
   ``audit_pending`` — all in one transaction, so a crash anywhere loses no entry and reuses
   no index;
3. :meth:`AuditLog.checkpoint` signs the tree state as a C2SP checkpoint (Ed25519, key from the
   keyring's service key ``audit-checkpoint``; the origin is the vault's name).
"""

from __future__ import annotations

import base64
import json
import logging
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from strongroom.audit._entry import Entry, decode, parse_ms, subjects_of
from strongroom.audit._merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    tree_root,
)
from strongroom.audit._note import (
    Checkpoint,
    NoteError,
    NoteSigner,
    NoteVerifier,
    open_checkpoint,
    open_note,
    sign_note,
)
from strongroom.audit._tables import (
    audit_checkpoints,
    audit_cosignatures,
    audit_entries,
    audit_pending,
    audit_state,
    audit_subjects,
    audit_tiles,
)
from strongroom.audit._tiles import Tile, TileHashReader, integrate
from strongroom.errors import StoreError, ValidationError
from strongroom.store._bulk import bulk_insert

_log = logging.getLogger("strongroom.audit")

SEAL_KEY: Final = "audit-seal"
SIGNING_KEY: Final = "audit-checkpoint"
#: entries integrated per sequencer transaction
SEQUENCE_BATCH: Final = 20_000
_PENDING_COLUMNS: Final = ("entry", "created_at")
_ENTRY_COLUMNS: Final = ("idx", "entry", "at", "actor", "action", "purpose", "embargo_until")
_SUBJECT_COLUMNS: Final = ("subject", "idx")


class DbTiles:
    """The tiles of ``audit_tiles`` through one connection (a :class:`TileStore`)."""

    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    def read_tile(self, level: int, index: int, width: int) -> bytes | None:
        return self.read_tiles([(level, index, width)]).get((level, index))

    def read_tiles(self, wanted: Sequence[tuple[int, int, int]]) -> dict[tuple[int, int], bytes]:
        """The first ``width`` hashes of each wanted tile that holds that many, in one query
        (plain SQL: a proof's few tiles cost one round trip and no statement building)."""
        if not wanted:
            return {}
        where = " OR ".join(["(level = ? AND idx = ?)"] * len(wanted))
        params = tuple(x for level, index, _w in wanted for x in (level, index))
        rows = _driver_sql(
            self.conn,
            "SELECT level, idx, hashes FROM audit_tiles WHERE " + where,  # noqa: S608
            params,
        )
        widths = {(level, index): width for level, index, width in wanted}
        out: dict[tuple[int, int], bytes] = {}
        for level, index, hashes in rows:
            key = (int(level), int(index))
            n = widths[key] * HASH_SIZE
            if len(hashes) >= n:
                out[key] = bytes(hashes[:n])
        return out

    def write_tiles(self, tiles: Sequence[Tile]) -> None:
        for tile in tiles:
            key = (audit_tiles.c.level == tile.level) & (audit_tiles.c.idx == tile.index)
            done = self.conn.execute(audit_tiles.update().where(key).values(hashes=tile.hashes))
            if done.rowcount == 0:
                self.conn.execute(
                    audit_tiles.insert().values(
                        level=tile.level, idx=tile.index, hashes=tile.hashes
                    )
                )


@dataclass(frozen=True, slots=True)
class Problem:
    """Where verification failed: the first index, and what is wrong there."""

    index: int | None
    what: str

    def __str__(self) -> str:
        return f"index {self.index}: {self.what}" if self.index is not None else self.what


@dataclass(frozen=True, slots=True)
class VerifyReport:
    entries: int
    checkpoints: int
    problems: list[Problem]

    @property
    def ok(self) -> bool:
        return not self.problems


class _Frontier:
    """RFC 6962 root of a growing list of leaf hashes in O(log n) memory."""

    __slots__ = ("size", "stack")

    def __init__(self) -> None:
        self.stack: list[bytes] = []
        self.size = 0

    def push(self, leaf: bytes) -> None:
        h, n = leaf, self.size
        while n & 1:
            h = node_hash(self.stack.pop(), h)
            n >>= 1
        self.stack.append(h)
        self.size += 1

    def root(self) -> bytes:
        if not self.stack:
            return EMPTY_ROOT
        h = self.stack[-1]
        for left in reversed(self.stack[:-1]):
            h = node_hash(left, h)
        return h


#: (at, actor, action, purpose, embargo_until, subjects): an entry's indexed columns
_Indexed = tuple[int, str, str, str, int | None, list[bytes]]
#: index values of appended, not yet sequenced entries kept in memory at most
_MEMO_ENTRIES: Final = 4 * SEQUENCE_BATCH


def _index_values(doc: Any) -> _Indexed:
    """The indexed columns of an entry from its JSON document (``decode(entry)``)."""
    return (
        parse_ms(doc.get("time")) or 0,
        str(doc.get("actor", {}).get("id", ""))[:80],
        str(doc.get("action", ""))[:16],
        str(doc.get("purpose", {}).get("code", ""))[:64],
        parse_ms(doc.get("embargo_until")),
        list(dict.fromkeys(subjects_of(doc))),
    )


def _driver_sql(conn: sa.Connection, sql: str, params: tuple[Any, ...] = ()) -> Any:
    """Our own constant SQL with ``?`` placeholders, straight to the driver (no statement
    building or result processing: the hot reads of proofs, sequencing and verify)."""
    if conn.dialect.paramstyle != "qmark":
        sql = sql.replace("?", "%s")
    return conn.exec_driver_sql(sql, params)


def _tree_size(conn: sa.Connection) -> int:
    """The integrated tree's size (plain SQL: a proof's first of two round trips)."""
    row = _driver_sql(conn, "SELECT size FROM audit_state WHERE id = 1").first()
    return int(row[0]) if row else 0


def _now_ms() -> int:
    return int(datetime.now(UTC).timestamp() * 1000)


@dataclass(frozen=True, slots=True)
class Logged:
    """One sequenced entry, as search returns it."""

    index: int
    entry: bytes

    def json(self) -> dict[str, Any]:
        return decode(self.entry)


class AuditLog:
    """The audit log in the record database of a vault (see the module docstring)."""

    def __init__(
        self,
        engine: sa.Engine,
        *,
        seal_key: bytes,
        signing_seed: bytes,
        origin: str,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.engine = engine
        self.seal_key = seal_key
        self.origin = origin
        self.signer = NoteSigner(origin, signing_seed)
        self.verifier: NoteVerifier = self.signer.verifier
        #: where the largest signed checkpoint is remembered outside the record database
        #: (a restored older database then shows up: see :meth:`watermark_problem`)
        self.watermark: Path | None = None
        self._clock = clock or (lambda: datetime.now(UTC))
        self._lock = threading.Lock()
        # entry bytes -> indexed columns, noted at append so that sequencing in this process
        # need not parse the JSON again (bounded; a miss parses it)
        self._indexed: dict[bytes, _Indexed] = {}

    def now(self) -> datetime:
        return self._clock()

    # -- append ----------------------------------------------------------------------------
    def encode(self, entry: Entry) -> bytes:
        return entry.encode(self.seal_key)

    def append(self, entry: Entry, conn: sa.Connection | None = None) -> None:
        """Record ``entry``: in ``conn``'s transaction, or committed before returning.

        Raises :class:`StoreError` when it cannot be written (a read must then fail)."""
        self.append_many([entry], conn)

    def append_many(self, entries: Sequence[Entry], conn: sa.Connection | None = None) -> None:
        if not entries:
            return
        now = _now_ms()
        rows: list[tuple[bytes, int]] = []
        indexed: list[tuple[bytes, _Indexed]] = []
        for e in entries:
            data, doc = e.encode_doc(self.seal_key)
            rows.append((data, now))
            indexed.append((data, _index_values(doc)))
        try:
            if conn is not None:
                self._insert_pending(conn, rows)
            else:
                with self.engine.begin() as own:
                    self._insert_pending(own, rows)
        except SQLAlchemyError as exc:
            raise StoreError("the audit entry could not be written; nothing was released") from exc
        memo = self._indexed
        if len(memo) + len(indexed) > _MEMO_ENTRIES:
            memo.clear()  # e.g. entries sequenced by another process, or rolled back
        memo.update(indexed)

    @staticmethod
    def _insert_pending(conn: sa.Connection, rows: list[tuple[bytes, int]]) -> None:
        """Through the driver: one row (a read's entry, the hot path) as a plain INSERT, more
        with executemany (SQLite) or COPY (PostgreSQL); no statement building either way."""
        if len(rows) == 1:
            _driver_sql(
                conn, "INSERT INTO audit_pending (entry, created_at) VALUES (?, ?)", rows[0]
            )
        else:
            bulk_insert(conn, audit_pending.name, _PENDING_COLUMNS, rows)

    # -- reading the sequenced log --------------------------------------------------------
    def size(self) -> int:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(audit_state.c.size).where(audit_state.c.id == 1)).first()
        return int(row.size) if row else 0

    def pending(self) -> int:
        with self.engine.connect() as conn:
            n = conn.execute(sa.select(sa.func.count()).select_from(audit_pending)).scalar_one()
        return int(n)

    def entry(self, index: int) -> bytes:
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(audit_entries.c.entry).where(audit_entries.c.idx == index)
            ).first()
        if row is None:
            raise StoreError(f"no audit entry {index}")
        return bytes(row.entry)

    def entries(
        self, start: int = 0, end: int | None = None, batch: int = 5000
    ) -> Iterator[Logged]:
        """Sequenced entries in index order (as stored: verification checks them)."""
        at = start
        stop = end if end is not None else 2**63 - 1
        while True:
            with self.engine.connect() as conn:  # plain SQL: verify reads every entry
                rows = _driver_sql(
                    conn,
                    "SELECT idx, entry FROM audit_entries WHERE idx >= ? AND idx < ?"
                    " ORDER BY idx LIMIT ?",
                    (at, stop, batch),
                ).fetchall()
            for idx, entry in rows:
                yield Logged(int(idx), bytes(entry))
            if len(rows) < batch:
                return
            at = int(rows[-1][0]) + 1

    def search(
        self,
        *,
        actor: str | None = None,
        subject: bytes | None = None,
        purpose: str | None = None,
        action: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        after: int | None = None,
        limit: int = 100,
        visible_at: datetime | None = None,
    ) -> list[Logged]:
        """Sequenced entries matching every given criterion, by index (``after`` pages).

        ``visible_at``: leave out entries still under a covert embargo at that time."""
        e = audit_entries.c
        q = sa.select(e.idx, e.entry).order_by(e.idx).limit(limit)
        if subject is not None:
            q = q.join(audit_subjects, audit_subjects.c.idx == e.idx).where(
                audit_subjects.c.subject == subject
            )
        if actor is not None:
            q = q.where(e.actor == actor)
        if purpose is not None:
            q = q.where(e.purpose == purpose)
        if action is not None:
            q = q.where(e.action == action)
        if since is not None:
            q = q.where(e.at >= int(since.timestamp() * 1000))
        if until is not None:
            q = q.where(e.at < int(until.timestamp() * 1000))
        if after is not None:
            q = q.where(e.idx > after)
        if visible_at is not None:
            cut = int(visible_at.timestamp() * 1000)
            q = q.where(sa.or_(e.embargo_until.is_(None), e.embargo_until <= cut))
        try:
            with self.engine.connect() as conn:
                return [Logged(int(r.idx), bytes(r.entry)) for r in conn.execute(q)]
        except SQLAlchemyError as exc:
            raise StoreError("the audit log could not be read") from exc

    # -- sequencing ------------------------------------------------------------------------
    def _index_rows(
        self, index: int, entry: bytes
    ) -> tuple[tuple[Any, ...], list[tuple[bytes, int]]]:
        """The ``audit_entries`` row (columns as :data:`_ENTRY_COLUMNS`) and the
        ``audit_subjects`` rows of the entry at ``index``, from the values noted when this
        process appended it (keyed by its exact bytes), else from one ``json.loads``."""
        values = self._indexed.pop(entry, None)
        if values is None:
            values = _index_values(json.loads(entry))
        at, actor, action, purpose, embargo, subjects = values
        row = (index, entry, at, actor, action, purpose, embargo)
        return row, [(s, index) for s in subjects]

    def checkpoints(self) -> list[tuple[int, bytes, str]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(
                    audit_checkpoints.c.size, audit_checkpoints.c.root, audit_checkpoints.c.note
                ).order_by(audit_checkpoints.c.size)
            )
            return [(int(r.size), bytes(r.root), str(r.note)) for r in rows]

    def cosignatures(self, size: int) -> list[tuple[str, str]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(audit_cosignatures.c.witness, audit_cosignatures.c.line)
                .where(audit_cosignatures.c.size == size)
                .order_by(audit_cosignatures.c.witness)
            )
            return [(str(r.witness), str(r.line)) for r in rows]

    # -- sequencing, checkpoints -------------------------------------------------------------
    def sequence(self, *, batch: int = SEQUENCE_BATCH) -> int:
        """Integrate pending entries into the log (all of them, a batch per transaction).

        Returns how many were integrated. Entries keep their pending order; indices are
        contiguous. One sequencer at a time: the state row is locked (PostgreSQL) or the
        database is (SQLite); a second one waits, then finds nothing left to do."""
        total = 0
        with self._lock:
            while True:
                try:
                    n = self._sequence_once(batch)
                except SQLAlchemyError as exc:
                    raise StoreError("the audit log could not be sequenced") from exc
                total += n
                if n < batch:
                    return total

    def _sequence_once(self, batch: int) -> int:
        with self.engine.begin() as conn:
            q = sa.select(audit_state).where(audit_state.c.id == 1)
            if conn.dialect.name == "postgresql":
                q = q.with_for_update()
            state = conn.execute(q).first()
            if state is None:
                conn.execute(audit_state.insert().values(id=1, size=0, root=EMPTY_ROOT))
                size = 0
            else:
                size = int(state.size)
            rows = _driver_sql(
                conn, "SELECT id, entry FROM audit_pending ORDER BY id LIMIT ?", (batch,)
            ).fetchall()
            if not rows:
                return 0
            entries = [bytes(entry) for _id, entry in rows]
            tiles = DbTiles(conn)
            done = integrate(tiles, size, [leaf_hash(e) for e in entries])
            logged: list[tuple[Any, ...]] = []
            subjects: list[tuple[bytes, int]] = []
            for i, entry in enumerate(entries):
                row, subs = self._index_rows(size + i, entry)
                logged.append(row)
                subjects.extend(subs)
            # driver-speed inserts (executemany / COPY) in this transaction
            bulk_insert(conn, audit_entries.name, _ENTRY_COLUMNS, logged)
            bulk_insert(conn, audit_subjects.name, _SUBJECT_COLUMNS, subjects)
            tiles.write_tiles(done.tiles)
            conn.execute(
                audit_state.update()
                .where(audit_state.c.id == 1)
                .values(size=done.size, root=done.root)
            )
            conn.execute(audit_pending.delete().where(audit_pending.c.id <= rows[-1][0]))
            return len(rows)

    def state(self) -> tuple[int, bytes]:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(audit_state).where(audit_state.c.id == 1)).first()
        return (int(row.size), bytes(row.root)) if row else (0, EMPTY_ROOT)

    def checkpoint(self) -> str:
        """Sequence what is pending, then sign a checkpoint of the tree (unless the latest
        one already covers this size) and return the latest signed checkpoint note."""
        self.sequence()
        size, root = self.state()
        latest = self.latest_checkpoint()
        if latest is not None and latest[0] == size:
            return latest[2]
        note = sign_note(Checkpoint(self.origin, size, root).text, [self.signer])
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    audit_checkpoints.insert().values(size=size, root=root, note=note, at=_now_ms())
                )
        except SQLAlchemyError:
            again = self.latest_checkpoint()  # another process signed the same size
            if again is None or again[0] != size:
                raise StoreError("the checkpoint could not be stored") from None
            return again[2]
        self._remember(size, root)
        return note

    def _remember(self, size: int, root: bytes) -> None:
        """Keep the largest signed size (and its root) in the watermark file."""
        if self.watermark is None or size <= self.watermark_size():
            return
        tmp = self.watermark.with_name(self.watermark.name + ".tmp")
        try:
            tmp.write_text(json.dumps({"size": size, "root": b64(root)}) + "\n", encoding="utf-8")
            tmp.chmod(0o600)
            os.replace(tmp, self.watermark)
        except OSError:
            _log.warning("the audit watermark file could not be written")

    def watermark_size(self) -> int:
        if self.watermark is None:
            return 0
        try:
            return int(json.loads(self.watermark.read_text(encoding="utf-8"))["size"])
        except (OSError, ValueError, KeyError, TypeError):
            return 0

    def watermark_problem(self) -> Problem | None:
        """A record database older than the audit log this vault has signed: its log is
        shorter than the largest checkpoint remembered outside it (a restored backup)."""
        seen = self.watermark_size()
        size = self.state()[0]
        if seen > size:
            return Problem(
                size,
                f"the record database's audit log has {size} entries but this vault signed a "
                f"checkpoint of {seen}: an older database was restored (or the log truncated)",
            )
        return None

    def latest_checkpoint(self) -> tuple[int, bytes, str] | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(audit_checkpoints).order_by(audit_checkpoints.c.size.desc()).limit(1)
            ).first()
        return (int(row.size), bytes(row.root), str(row.note)) if row else None

    def checkpoint_at(self, size: int) -> str | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(audit_checkpoints.c.note).where(audit_checkpoints.c.size == size)
            ).first()
        return str(row.note) if row else None

    def cosigned(self, required: int, witnesses: Sequence[NoteVerifier]) -> str | None:
        """The newest checkpoint with at least ``required`` valid cosignatures of
        ``witnesses`` attached (the signatures appended to the note), or ``None``."""
        with self.engine.connect() as conn:
            rows = list(
                conn.execute(
                    sa.select(audit_checkpoints.c.size, audit_checkpoints.c.note).order_by(
                        audit_checkpoints.c.size.desc()
                    )
                )
            )
        for row in rows:
            lines = [line for _w, line in self.cosignatures(int(row.size))]
            note = str(row.note) + "".join(line + "\n" for line in lines)
            try:
                _cp, opened = open_checkpoint(note, self.verifier, witnesses, origin=self.origin)
            except NoteError:
                continue
            good = {s.name for s in opened.signatures if s.name != self.origin}
            if len(good) >= required:
                return note
        return None

    def add_cosignature(self, size: int, witness: NoteVerifier, line: str) -> None:
        """Store a witness's cosignature line for the checkpoint of ``size`` (verified)."""
        note = self.checkpoint_at(size)
        if note is None:
            raise ValidationError.single("size", "no checkpoint of that size")
        try:
            opened = open_note(note + line.rstrip("\n") + "\n", [self.verifier, witness])
        except NoteError:
            raise ValidationError.single("cosignature", "does not verify") from None
        if opened.signed_by(witness) is None:
            raise ValidationError.single("cosignature", "does not verify")
        with self.engine.begin() as conn:
            key = (audit_cosignatures.c.size == size) & (
                audit_cosignatures.c.witness == witness.name
            )
            conn.execute(audit_cosignatures.delete().where(key))
            conn.execute(
                audit_cosignatures.insert().values(
                    size=size, witness=witness.name, line=line.rstrip("\n"), at=_now_ms()
                )
            )

    # -- proofs ----------------------------------------------------------------------------
    def _reader(self, conn: sa.Connection) -> TileHashReader:
        size, _root = self.state()
        return TileHashReader(DbTiles(conn), size)

    def inclusion(self, index: int, size: int | None = None) -> tuple[int, bytes, list[bytes]]:
        """(tree size, root at that size, inclusion proof of ``index``)."""
        with self.engine.connect() as conn:
            tree_size = _tree_size(conn)
            size = tree_size if size is None else size
            if not 0 <= index < size <= tree_size:
                raise ValidationError.single(
                    "index", f"must be below the size, and the size at most {tree_size}"
                )
            reader = TileHashReader(DbTiles(conn), tree_size)
            return size, tree_root(size, reader), inclusion_proof(index, size, reader)

    def consistency(
        self, old: int, new: int | None = None
    ) -> tuple[int, bytes, int, bytes, list[bytes]]:
        """(old size, old root, new size, new root, consistency proof)."""
        with self.engine.connect() as conn:
            tree_size = _tree_size(conn)
            new = tree_size if new is None else new
            if not 0 < old <= new <= tree_size:
                raise ValidationError.single(
                    "old", f"sizes must satisfy 0 < old <= new <= {tree_size}"
                )
            reader = TileHashReader(DbTiles(conn), tree_size)
            proof = consistency_proof(old, new, reader) if old != new else []
            return old, tree_root(old, reader), new, tree_root(new, reader), proof

    # -- verification ----------------------------------------------------------------------
    def verify(self, progress: Callable[[int], None] | None = None) -> VerifyReport:
        """Recompute the tree from the stored entries and check it against the tiles, the
        tree state and every signed checkpoint; name the first index where they disagree."""
        problems: list[Problem] = []
        checkpoints = self.checkpoints()
        by_size: dict[int, list[tuple[bytes, str]]] = {}
        for size, root, note in checkpoints:
            try:
                cp, _ = open_checkpoint(note, self.verifier, origin=self.origin)
            except NoteError:
                problems.append(Problem(None, f"checkpoint of size {size}: bad signature"))
                continue
            if cp.size != size or cp.root != root:
                problems.append(
                    Problem(None, f"checkpoint of size {size}: row disagrees with its note")
                )
            by_size.setdefault(cp.size, []).append((cp.root, note))
        state_size, state_root = self.state()
        frontier = _Frontier()
        first_bad: int | None = None
        count = 0
        with self.engine.connect() as conn:
            tiles = DbTiles(conn)
            tile_index, tile = -1, b""
            for logged in self.entries():
                expected = count
                if logged.index != expected and first_bad is None:
                    first_bad = expected
                    what = (
                        "missing (deleted or renumbered)"
                        if logged.index > expected
                        else "out of order"
                    )
                    problems.append(Problem(expected, f"entry {what}"))
                h = leaf_hash(logged.entry)
                if first_bad is None and expected < state_size:
                    t = expected // 256
                    if t != tile_index:
                        width = min(256, state_size - t * 256)
                        tile, tile_index = tiles.read_tile(0, t, width) or b"", t
                    off = (expected % 256) * HASH_SIZE
                    if tile[off : off + HASH_SIZE] != h:
                        first_bad = expected
                        problems.append(
                            Problem(
                                expected,
                                "entry does not match the log (changed, inserted, "
                                "swapped or deleted here)",
                            )
                        )
                frontier.push(h)
                count += 1
                for root, _note in by_size.get(count, ()):
                    if frontier.root() != root:
                        problems.append(
                            Problem(
                                first_bad,
                                f"the entries up to {count} do not match the "
                                f"signed checkpoint of size {count}",
                            )
                        )
                if progress is not None and count % 10_000 == 0:
                    progress(count)
        if count < state_size and first_bad is None:
            problems.append(
                Problem(
                    count,
                    f"entries from here on are missing (the log was "
                    f"truncated; the tree holds {state_size})",
                )
            )
        elif count > state_size and first_bad is None:
            problems.append(Problem(state_size, "entry not in the tree (inserted)"))
        for size in sorted(by_size):
            if size > count:
                problems.append(
                    Problem(
                        count,
                        f"a signed checkpoint covers {size} entries but only "
                        f"{count} are stored (the log was truncated)",
                    )
                )
                break
        if first_bad is None and count == state_size and frontier.root() != state_root:
            problems.append(Problem(None, "the tree state's root does not match the entries"))
        behind = self.watermark_problem()
        if behind is not None:
            problems.append(behind)
        return VerifyReport(count, len(checkpoints), problems)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
