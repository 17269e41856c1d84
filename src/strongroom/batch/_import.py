"""Bulk import of CSV / JSON Lines into the vault: streaming, resumable, with a rejects file.

Rows are read in batches; each batch is validated and sealed (in forked worker processes
when ``workers`` > 1, see :mod:`strongroom.batch._prepare`), then committed in file order by
this process: the batch's new data keys go to the key store first, then its records, index
rows and the import's position commit in one transaction of the record database. So an
interrupted import resumes after the last committed batch, and a rejected row leaves nothing
behind. Bad rows go to the rejects file (line, field, reason — never the value) and the
import goes on; ``strict`` stops at the first. Memory stays bounded: at most a few batches
are in flight.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import itertools
import multiprocessing
import os
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from strongroom._access import Actor, Purpose, check_call
from strongroom._ids import ref_of
from strongroom.batch._prepare import (
    PreparedBatch,
    RowPreparer,
    set_worker_preparer,
    worker_init,
    worker_prepare,
)
from strongroom.batch._readers import RawRow, detect_format, read_rows
from strongroom.errors import FieldError, ValidationError
from strongroom.vault import Vault

Progress = Callable[[int, int, int], None]  # (bytes done, accepted, rejected)
_PARALLEL_MIN_BYTES = 4 << 20  # below this, workers cost more than they save


@dataclass
class ImportSummary:
    collection: str
    source: str
    accepted: int
    rejected: int
    resumed_from_line: int
    seconds: float
    rejects_path: str | None
    already_done: bool = False
    workers: int = 1

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


class StrictStop(ValidationError):
    """``strict`` import stopped at the first bad row."""

    def __init__(self, line: int, errors: list[FieldError]) -> None:
        super().__init__([FieldError(f"line {line}: {e.field}", e.reason) for e in errors])


def import_id(collection: str, path: Path) -> str:
    """The import's identity: the collection and the SHA-256 of the file's *content*.

    The same content is recognised whatever its path or modification time, so a copied or
    touched file is not imported twice, and a resume continues only the same bytes.
    """
    h = hashlib.sha256(collection.encode() + b"\0")
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()[:32]


def default_workers(path: Path) -> int:
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if path.stat().st_size < _PARALLEL_MIN_BYTES or not cpus or cpus < 2:
        return 1
    return min(cpus, 4)


def import_file(
    vault: Vault,
    collection: str,
    path: Path,
    *,
    actor: Actor,
    purpose: Purpose,
    strict: bool = False,
    rejects_path: Path | None = None,
    fmt: str | None = None,
    batch_size: int = 2000,
    commit_rows: int = 20000,
    workers: int | None = None,
    progress: Progress | None = None,
) -> ImportSummary:
    """Import ``path`` into ``collection``; resumes a previous interrupted run of the same file.

    ``batch_size`` rows are prepared per task; about ``commit_rows`` rows commit per
    transaction (larger transactions write each touched index page once, not once per batch).
    """
    check_call(actor, purpose)
    coll = vault.collection(collection)
    if not path.is_file():
        raise ValidationError.single("file", f"{path} is not a readable file")
    fmt = detect_format(path, fmt)
    if fmt not in ("csv", "jsonl"):
        raise ValidationError.single("format", "must be csv or jsonl")
    if batch_size < 1:
        raise ValidationError.single("batch_size", "must be at least 1")
    iid = import_id(coll.name, path)
    rejects_path = rejects_path or path.with_name(path.name + ".rejects.csv")
    state = vault.import_state(iid)
    if state is not None and state.status == "done":
        return ImportSummary(
            coll.name,
            str(path),
            state.accepted,
            state.rejected,
            state.line,
            0.0,
            str(rejects_path) if state.rejected else None,
            already_done=True,
        )
    start, line = (state.position, state.line) if state else (0, 0)
    counts = [state.accepted, state.rejected] if state else [0, 0]
    n_workers = default_workers(path) if workers is None else max(1, workers)
    preparer = RowPreparer(vault, coll, fmt, actor, purpose)
    t0 = time.perf_counter()
    with _gc_tuned(), _RejectsFile(rejects_path, state.rejects_position if state else 0) as rj:
        batches = _batches(read_rows(path, fmt, start, line), batch_size)
        for prepared in _grouped(_prepared(preparer, batches, n_workers), commit_rows):
            _commit(vault, preparer, prepared, rj, strict, counts, iid, path)
            if progress:
                progress(prepared.end, counts[0], counts[1])
        final = vault.import_state(iid)
        done = PreparedBatch(
            [], [], [], end=path.stat().st_size, line=final.line if final else line
        )
        _commit(vault, preparer, done, rj, strict, counts, iid, path, status="done")
    return ImportSummary(
        coll.name,
        str(path),
        counts[0],
        counts[1],
        line,
        time.perf_counter() - t0,
        str(rejects_path) if counts[1] else None,
        workers=n_workers,
    )


@contextlib.contextmanager
def _gc_tuned() -> Iterator[None]:
    """Fewer garbage-collector passes while importing (forked workers inherit this).

    The hot path makes millions of short-lived tuples and dicts and no reference cycles, so
    the default gen-0 threshold (700) spends about a quarter of the CPU walking live
    objects: measured 69 → 52 µs per person for preparing rows. Objects that exist before
    the import are frozen out of collection for its duration.
    """
    before = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()


def _batches(rows: Iterator[RawRow], size: int) -> Iterator[list[RawRow]]:
    batch: list[RawRow] = []
    for r in rows:
        batch.append(r)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _grouped(batches: Iterator[PreparedBatch], rows: int) -> Iterator[PreparedBatch]:
    """Merge consecutive prepared batches until a group holds about ``rows`` rows."""
    group: PreparedBatch | None = None
    for b in batches:
        if group is None:
            group = b
        else:
            group.ok.extend(b.ok)
            group.keys.extend(b.keys)
            group.rejects.extend(b.rejects)
            group.end, group.line = b.end, b.line
        if len(group.ok) + len(group.rejects) >= rows:
            yield group
            group = None
    if group is not None:
        yield group


def _prepared(
    preparer: RowPreparer, batches: Iterator[list[RawRow]], workers: int
) -> Iterator[PreparedBatch]:
    """Prepared batches in file order, from this process or from forked workers."""
    if workers == 1:
        for b in batches:
            yield preparer.prepare(b)
        return
    # bounded: at most 2 batches per worker in flight; submitted from this thread only, so
    # an early exit (error, strict stop, Ctrl-C) just cancels what has not started and waits
    # for the few batches that have
    set_worker_preparer(preparer)
    ctx = multiprocessing.get_context("fork")
    try:
        with ProcessPoolExecutor(workers, mp_context=ctx, initializer=worker_init) as pool:
            pending: deque[Future[PreparedBatch]] = deque(
                pool.submit(worker_prepare, b) for b in itertools.islice(batches, 2 * workers)
            )
            try:
                while pending:
                    result = pending.popleft().result()
                    nxt = next(batches, None)
                    if nxt is not None:
                        pending.append(pool.submit(worker_prepare, nxt))
                    yield result
            finally:
                for f in pending:
                    f.cancel()
    finally:
        set_worker_preparer(None)


def _commit(
    vault: Vault,
    preparer: RowPreparer,
    batch: PreparedBatch,
    rj: _RejectsFile,
    strict: bool,
    counts: list[int],
    iid: str,
    path: Path,
    status: str = "running",
) -> None:
    """Commit one group: rows whose unique values clash (with the vault, or earlier in the
    group) are rejected; rejects reach the file before the state that counts them commits."""
    coll = preparer.coll
    ok = batch.ok

    def settle(clashes: dict[int, FieldError]) -> tuple[set[int], dict[str, Any]]:
        rejects = dict(batch.rejects)
        drop: set[int] = set()
        seen: dict[int, int] = {}
        for i, (line, _row, _tokens, unique) in enumerate(ok):
            if i in clashes:
                rejects[line] = [clashes[i]]
                drop.add(i)
                continue
            for name, _value, t in unique:
                if t in seen:
                    field = coll.indexes[name].fields[0]
                    rejects[line] = [FieldError(field, f"repeats line {seen[t]} of this file")]
                    drop.add(i)
                seen.setdefault(t, line)
        if strict and rejects:
            first = min(rejects)
            raise StrictStop(first, rejects[first])
        for line in sorted(rejects):
            rj.write(line, rejects[line])
        rj.flush()
        counts[0] += len(ok) - len(drop)
        counts[1] += len(rejects)
        state = {
            "id": iid,
            "collection": coll.name,
            "source": str(path.resolve())[:1024],
            "position": batch.end,
            "line": batch.line,
            "accepted": counts[0],
            "rejected": counts[1],
            "rejects_position": rj.tell(),
            "status": status,
            "updated_at": time.time_ns() // 1_000_000,
        }
        return drop, state

    items = [(row, tokens, unique) for _line, row, tokens, unique in ok]
    before = list(counts)
    try:
        vault.commit_batch(
            coll,
            items,
            batch.keys,
            settle,
            entry=lambda ids: vault.entry(
                preparer.actor,
                preparer.purpose,
                "create",
                coll.name,
                refs=[ref_of(i) for i in ids],
                detail={"import_id": iid, "rows": len(ids)},
            ),
        )
    except BaseException:
        counts[:] = before  # nothing of this group committed
        raise


class _RejectsFile:
    """``line,field,reason`` rows; truncated back to the committed position on resume.

    Created on the first rejected row only, so a clean import leaves no file behind.
    """

    def __init__(self, path: Path, position: int) -> None:
        self.path = path
        self.fh: BinaryIO | None = None
        if position and path.exists():
            self.fh = path.open("r+b")
            self.fh.truncate(position)
            self.fh.seek(position)

    def write(self, line: int, errors: list[FieldError]) -> None:
        if self.fh is None:
            self.fh = self.path.open("wb")
            self.fh.write(b"line,field,reason\n")
        out = []
        for e in errors:
            field = e.field.replace('"', "'")
            reason = e.reason.replace('"', "'")
            out.append(f'{line},"{field}","{reason}"\n')
        self.fh.write("".join(out).encode("utf-8"))

    def flush(self) -> None:
        if self.fh is not None:
            self.fh.flush()

    def tell(self) -> int:
        return self.fh.tell() if self.fh is not None else 0

    def __enter__(self) -> _RejectsFile:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.fh is not None:
            self.fh.close()


__all__ = ["ImportSummary", "StrictStop", "default_workers", "import_file"]
