"""Blind-index rotation's job: recompute every current record's index tokens under its
scope's active index version (``strongroom keys rekey --index``).

A token carries no version, so a record's tokens under an older index version can only be
found again by recomputing them: the job opens each current record, computes its tokens
under the active version (to insert) and under every older live version (to delete), and
writes both in one transaction per batch. While it runs, searches, unique checks and token
deletions use every live version (:meth:`Keyring.blind_indexers`), so search and uniqueness
stay exact throughout; see docs/keys-and-sealing.md ("Blind-index rotation").

Online: a record updated, deleted or erased between the job's read and its write is left to
that writer (which deletes its tokens under every live version and writes new ones under the
active one). Inside the batch's transaction :meth:`RecordStore.lock_current` keeps only the
record versions that are still current and locks them until commit, so no writer can slip
in between the check and the token write.

Resumable: per scope, the position (the last record id of the last committed batch) is saved
in the record database's ``imports`` table in the batch's own transaction, as row
``reindex:<active index KEK id>``: ``position`` and ``line`` hold the id's first and last 8
bytes (signed), ``accepted`` the records reindexed, ``rejected`` those that did not open,
``status`` ``running`` or ``done``. Killed at any point, a new run goes on from there; a
``done`` row is what lets ``keys retire --index`` drop the older versions.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from strongroom._access import Actor, Purpose, check_call
from strongroom.crypto import sealed_key_id
from strongroom.crypto._blind import BlindIndexer
from strongroom.crypto._keyring import KEK_TTL, KeyVersion
from strongroom.errors import NotFoundError, OpenError, ValidationError

if TYPE_CHECKING:
    from strongroom.vault import Vault

_Scope = tuple[str, str]  # (region, collection)
#: seconds each step of an index rotation waits for every process to see the previous one:
#: the index-version cache time, plus a margin for a request that read its versions just
#: before its cache ran out and is still running
SETTLE = KEK_TTL + 0.5


def state_id(kek_id: int) -> str:
    """The ``imports`` row of a reindex towards index KEK ``kek_id``."""
    return f"reindex:{kek_id}"


def _split(record_id: bytes | None) -> tuple[int, int]:
    if record_id is None:
        return 0, 0
    return (
        int.from_bytes(record_id[:8], "big", signed=True),
        int.from_bytes(record_id[8:], "big", signed=True),
    )


def _join(hi: int, lo: int) -> bytes | None:
    if hi == 0 and lo == 0:  # no UUIDv7 is all zero: "from the start"
        return None
    return hi.to_bytes(8, "big", signed=True) + lo.to_bytes(8, "big", signed=True)


@dataclass
class _Plan:
    region: str
    collection: str
    target: KeyVersion  # the active version: tokens are written under it
    older: list[KeyVersion]  # live older versions: their tokens are deleted
    after: bytes | None = None
    done: int = 0
    unopened: int = 0

    def todo(self, record_id: bytes) -> bool:
        """Whether ``record_id`` is past this scope's saved position."""
        return self.after is None or bytes(record_id) > self.after

    def to_json(self) -> dict[str, Any]:
        return {
            "region": self.region,
            "collection": self.collection,
            "to": self.target.version,
            "from": [v.version for v in self.older],
            "records": self.done,
            "unopened": self.unopened,
        }


@dataclass(slots=True)
class _Item:
    """One opened record version and its tokens: under the target, under older versions."""

    record_id: bytes
    version: int
    region: str
    new: list[tuple[int, bytes]]
    old: list[tuple[int, bytes]]


@dataclass
class ReindexSummary:
    """What one ``rekey --index`` run did."""

    records: int = 0  # current records whose tokens were recomputed
    skipped: int = 0  # changed by a writer meanwhile (the writer's tokens are right)
    unopened: int = 0  # did not open (not indexed again; reported, never fatal)
    activated: list[dict[str, Any]] = field(default_factory=list)
    scopes: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "skipped": self.skipped,
            "unopened": self.unopened,
            "activated": self.activated,
            "scopes": self.scopes,
            "seconds": round(self.seconds, 3),
        }


def index_versions(
    vault: Vault, region: str | None, collection: str | None
) -> dict[_Scope, list[KeyVersion]]:
    """The index KEK versions of the matching scopes, oldest first."""
    out: dict[_Scope, list[KeyVersion]] = {}
    for v in vault.keyring.versions("index", region, collection):
        out.setdefault((v.region, v.collection), []).append(v)
    return out


def activate_index(
    vault: Vault, region: str, collection: str, actor: Actor, purpose: Purpose
) -> dict[str, Any] | None:
    """Make the scope's pending index version active (audited: ``op: activate``); None if
    nothing was pending. Call it only once every process has seen the version."""
    version = vault.keyring.activate("index", region, collection)
    if version is None:
        return None
    done = {"region": region, "collection": collection, "version": version}
    _audit(vault, actor, purpose, {"op": "activate", "purpose": "index", **done})
    return done


def reindexed(vault: Vault, kek_id: int) -> bool:
    """Whether a reindex towards index KEK ``kek_id`` ran to completion."""
    row = vault.store.import_state(state_id(kek_id))
    return row is not None and row.status == "done"


def _plan(vault: Vault, region: str | None, collection: str | None) -> list[_Plan]:
    plans = []
    for (reg, coll), vs in sorted(index_versions(vault, region, collection).items()):
        target = max((v for v in vs if v.state == "active"), key=lambda v: v.version)
        older = [v for v in vs if v.version < target.version and v.state == "previous"]
        if target.version == 1:  # never rotated
            continue
        row = vault.store.import_state(state_id(target.id))
        plan = _Plan(reg, coll, target, older)
        if row is not None:
            if row.status == "done":
                continue
            plan.after = _join(row.position, row.line)
            plan.done, plan.unopened = row.accepted, row.rejected
        plans.append(plan)
    return plans


def reindex(
    vault: Vault,
    *,
    actor: Actor,
    purpose: Purpose,
    region: str | None = None,
    collection: str | None = None,
    batch_size: int = 2000,
    advance: Callable[[int, int], None] | None = None,
    _settle: float = SETTLE,
) -> ReindexSummary:
    """Recompute the index tokens of every current record of the matching scopes under
    their active index version: every scope rotated at least once whose active version has
    no finished reindex (a restored older database may have lost one).

    First, a version still ``pending`` (a ``keys rotate --index`` interrupted before it
    activated it) is activated, ``_settle`` seconds after it was seen so that every process
    searches under it. Then the job waits ``_settle`` seconds more, so that every process
    writes under the active version, and walks each collection once in record-id order,
    ``batch_size`` records per transaction. ``advance(done, total)`` after each batch.
    """
    check_call(actor, purpose)
    if batch_size < 1:
        raise ValidationError.single("batch_size", "must be at least 1")
    if collection is not None:
        vault.collection(collection)
    started = time.monotonic()
    summary = ReindexSummary()
    versions = index_versions(vault, region, collection)
    pending = sorted(s for s, vs in versions.items() if any(v.state == "pending" for v in vs))
    if pending:
        time.sleep(_settle)  # every process now searches (and deletes) under them
        for reg, coll in pending:
            done = activate_index(vault, reg, coll, actor, purpose)
            if done is not None:
                summary.activated.append(done)
    plans = _plan(vault, region, collection)
    if not plans:
        summary.seconds = time.monotonic() - started
        return summary
    time.sleep(_settle)  # every process now writes under the active versions
    scopes = [p.to_json() for p in plans]
    _audit(vault, actor, purpose, {"op": "reindex", "phase": "start", "scopes": scopes})
    counts = vault.counts()
    total = sum(counts.get(c, 0) for c in {p.collection for p in plans})
    seen = 0
    for coll in sorted({p.collection for p in plans}):
        mine = [p for p in plans if p.collection == coll]
        seen = _walk(vault, summary, mine, batch_size, seen, total, advance)
    summary.scopes = [p.to_json() for p in plans]
    summary.seconds = time.monotonic() - started
    finish = {"records": summary.records, "unopened": summary.unopened}
    _audit(vault, actor, purpose, {"op": "reindex", "phase": "finish", **finish})
    return summary


def _audit(vault: Vault, actor: Actor, purpose: Purpose, detail: dict[str, Any]) -> None:
    vault.audit.append(vault.entry(actor, purpose, "admin", "keys", detail=detail))


def _walk(
    vault: Vault,
    summary: ReindexSummary,
    plans: list[_Plan],
    batch_size: int,
    seen: int,
    total: int,
    advance: Callable[[int, int], None] | None,
) -> int:
    """One collection's pass, from the smallest saved position of its scopes."""
    coll = vault.collection(plans[0].collection)
    kr = vault.keyring
    by_region = {p.region: p for p in plans}
    keys = {
        p.region: (kr.index_key(p.target.id), [kr.index_key(v.id) for v in p.older]) for p in plans
    }
    starts = [p.after for p in plans]
    after = None if any(a is None for a in starts) else min(a for a in starts if a is not None)
    store = vault.store
    while rows := store.current_after(coll.name, after, batch_size):
        items: list[_Item] = []
        work = [r for r in rows if r.region in by_region and by_region[r.region].todo(r.id)]
        kr.preload([sealed_key_id(r.sealed) for r in work])
        for r in work:
            try:
                fields = vault.open_row(r).fields
            except NotFoundError:  # erased meanwhile (its key is gone): nothing to index
                summary.skipped += 1
                continue
            except OpenError:
                by_region[r.region].unopened += 1
                summary.unopened += 1
                continue
            new, old = _tokens(coll.index_values(fields), bytes(r.id), *keys[r.region])
            items.append(_Item(bytes(r.id), int(r.version), r.region, new, old))
        after = bytes(rows[-1].id)
        _commit(vault, coll.name, items, plans, after, summary)
        seen += len(rows)
        kr.release_memory()  # the batch's data keys were read once: drop their pages
        if advance is not None:
            advance(seen, max(total, seen))
    with store.begin() as conn:
        for p in plans:
            store.save_import_state(conn, _state(p, "done", p.after, p.done))
    return seen


def _tokens(
    values: Sequence[tuple[str, str]],
    record_id: bytes,
    target: BlindIndexer,
    older: list[BlindIndexer],
) -> tuple[list[tuple[int, bytes]], list[tuple[int, bytes]]]:
    new = [(target.token(n, v), record_id) for n, v in values]
    old = [(ix.token(n, v), record_id) for ix in older for n, v in values]
    return new, old


def _commit(
    vault: Vault,
    collection: str,
    items: list[_Item],
    plans: list[_Plan],
    after: bytes,
    summary: ReindexSummary,
) -> None:
    """One batch: for each record version still current (locked until commit), delete its
    tokens under the older versions and insert those under the target unless present (a
    record written after the rotation has them already; a batch may be redone after a
    crash); save every scope's position. One transaction."""
    store = vault.store
    with store.begin() as conn:
        current = store.lock_current(conn, collection, [(i.record_id, i.version) for i in items])
        kept = [i for i in items if (i.record_id, i.version) in current]
        store.delete_tokens(conn, [t for i in kept for t in i.old])
        store.ensure_tokens(conn, [t for i in kept for t in i.new])  # idempotent
        done = {p.region: p.done for p in plans}
        for i in kept:
            done[i.region] += 1
        for p in plans:
            store.save_import_state(conn, _state(p, "running", after, done[p.region]))
    for p in plans:  # committed: the scope's position moves on
        p.after, p.done = after, done[p.region]
    summary.records += len(kept)
    summary.skipped += len(items) - len(kept)


def _state(p: _Plan, status: str, after: bytes | None, done: int) -> dict[str, Any]:
    hi, lo = _split(after)
    return {
        "id": state_id(p.target.id),
        "collection": p.collection,
        "source": f"index {p.region} v{p.target.version}",
        "position": hi,
        "line": lo,
        "accepted": done,
        "rejected": p.unopened,
        "rejects_position": 0,
        "status": status,
        "updated_at": time.time_ns() // 1_000_000,
    }
