"""Retention and legal hold for incident records.

* **Rules** (``policies/retention.toml``, or a file given to :meth:`RetentionPolicy.load`):
  per collection and category, how many years after ``received_at`` an incident is kept.
* **Legal holds** (table ``legal_holds``, migration ``r0004``): a record reference or a case
  ref; a held record is never purged, whatever its age, until the hold is released.
* :func:`run_retention` streams every incident (all versions, in id order, a batch at a time),
  deletes each expired, unheld one — every version and index entry, with one audit entry per
  batch in the same transaction — and then destroys each month key (region, collection,
  month) under which nothing remains and under which nothing written now could still be kept
  (the month plus the shortest retention period lies in the past). The clock is injectable.
"""

from __future__ import annotations

import base64
import tomllib
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from strongroom._access import Actor, Purpose, check_call
from strongroom._ids import ref_of
from strongroom.audit._entry import open_justification, seal_justification
from strongroom.crypto import sealed_key_id
from strongroom.errors import ConfigError, NotFoundError, StoreError, ValidationError
from strongroom.policy import shipped_policy_dir
from strongroom.vault import Vault

holds_metadata = sa.MetaData()
legal_holds = sa.Table(
    "legal_holds",
    holds_metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("kind", sa.String(8), nullable=False),  # record | case
    sa.Column("target", sa.String(64), nullable=False),
    sa.Column("reason", sa.String(512), nullable=False),  # sealed: base64(nonce ‖ AES-GCM)
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("released_at", sa.BigInteger, nullable=True),
)

BATCH: Final = 1000


def _ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def _add_years(when: datetime, years: int) -> datetime:
    try:
        return when.replace(year=when.year + years)
    except ValueError:  # 29 February
        return when.replace(year=when.year + years, day=28)


@dataclass(frozen=True, slots=True)
class Rule:
    collection: str
    categories: frozenset[str]
    years: int

    def matches(self, collection: str, category: str) -> bool:
        return self.collection == collection and (
            "*" in self.categories or category in self.categories
        )


@dataclass(frozen=True)
class RetentionPolicy:
    rules: tuple[Rule, ...]

    @classmethod
    def load(cls, path: Path | None = None) -> RetentionPolicy:
        where = path or shipped_policy_dir() / "retention.toml"
        try:
            doc = tomllib.loads(where.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read the retention rules {where} ({exc})") from None
        return cls.from_dict(doc, str(where))

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any], where: str = "retention") -> RetentionPolicy:
        rules = []
        for i, item in enumerate(doc.get("rule") or []):
            at = f"{where}: rule {i + 1}"
            if not isinstance(item, dict) or set(item) - {"collection", "categories", "years"}:
                raise ConfigError(f"{at}: needs collection, categories and years only")
            years, cats = item.get("years"), item.get("categories")
            if isinstance(years, bool) or not isinstance(years, int) or not 0 < years <= 200:
                raise ConfigError(f"{at}: years must be a whole number from 1 to 200")
            if not isinstance(cats, list) or not cats or not all(isinstance(c, str) for c in cats):
                raise ConfigError(f"{at}: categories must be a list of category names or '*'")
            rules.append(Rule(str(item.get("collection", "")), frozenset(cats), years))
        if not rules:
            raise ConfigError(f"{where}: no retention rule")
        return cls(tuple(rules))

    def years_for(self, collection: str, category: str) -> int | None:
        return next((r.years for r in self.rules if r.matches(collection, category)), None)

    def shortest(self, collection: str) -> int:
        return min((r.years for r in self.rules if r.collection == collection), default=0)


# -- legal holds ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Hold:
    id: str
    kind: str
    target: str
    reason: str
    created_at: int
    released_at: int | None


class Holds:
    """Legal holds in the record database. A hold's reason is free text that may name
    people, so it is stored sealed with the audit log's sealing key (``seal_key``)."""

    def __init__(self, engine: sa.Engine, seal_key: bytes) -> None:
        self.engine = engine
        self._key = seal_key

    @classmethod
    def of(cls, vault: Vault) -> Holds:
        return cls(vault.store.engine, vault.audit.seal_key)

    def add(self, kind: str, target: str, reason: str, when: datetime) -> Hold:
        if kind not in ("record", "case"):
            raise ValidationError.single("kind", "must be record or case")
        if not isinstance(target, str) or not 0 < len(target.strip()) <= 64:
            raise ValidationError.single(kind, "must be a record reference or case ref")
        if not isinstance(reason, str) or not 0 < len(reason.strip()) <= 200:
            raise ValidationError.single("reason", "a hold needs a reason (1-200 characters)")
        hold = Hold(uuid.uuid4().hex, kind, target.strip(), reason.strip(), _ms(when), None)
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    legal_holds.insert().values(
                        id=hold.id,
                        kind=kind,
                        target=hold.target,
                        reason=base64.b64encode(seal_justification(self._key, hold.reason)).decode(
                            "ascii"
                        ),
                        created_at=hold.created_at,
                        released_at=None,
                    )
                )
        except SQLAlchemyError as exc:
            raise StoreError("the legal hold could not be written") from exc
        return hold

    def release(self, hold_id: str, when: datetime) -> Hold:
        with self.engine.begin() as conn:
            done = conn.execute(
                legal_holds.update()
                .where(legal_holds.c.id == hold_id, legal_holds.c.released_at.is_(None))
                .values(released_at=_ms(when))
            )
        if not done.rowcount:
            raise NotFoundError(f"no active legal hold {hold_id}")
        return next(h for h in self.list(include_released=True) if h.id == hold_id)

    def list(self, *, include_released: bool = False) -> list[Hold]:
        q = sa.select(legal_holds).order_by(legal_holds.c.created_at)
        if not include_released:
            q = q.where(legal_holds.c.released_at.is_(None))
        with self.engine.connect() as conn:
            return [
                Hold(
                    r.id,
                    r.kind,
                    r.target,
                    open_justification(self._key, base64.b64decode(r.reason)),
                    int(r.created_at),
                    r.released_at,
                )
                for r in conn.execute(q)
            ]

    def active(self) -> tuple[set[str], set[str]]:
        """(held record refs, held case refs)."""
        records: set[str] = set()
        cases: set[str] = set()
        for h in self.list():
            (records if h.kind == "record" else cases).add(h.target)
        return records, cases


# -- the run -------------------------------------------------------------------------------------
@dataclass
class RetentionReport:
    scanned: int = 0
    purged: int = 0
    held: int = 0
    kept: int = 0
    keys_destroyed: int = 0
    months_destroyed: list[str] = field(default_factory=list)


def run_retention(
    vault: Vault,
    *,
    actor: Actor,
    purpose: Purpose,
    policy: RetentionPolicy | None = None,
    now: datetime | None = None,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
    collection: str = "incident",
) -> RetentionReport:
    """Apply retention to ``collection`` (see the module docstring)."""
    check_call(actor, purpose)
    rules = policy or RetentionPolicy.load()
    at = now or datetime.now(UTC)
    held_records, held_cases = Holds.of(vault).active()
    report = RetentionReport()
    coll = vault.collection(collection)
    key_months: dict[bytes, tuple[str, str]] = {}  # month key id -> (region, month)
    still_used: set[bytes] = set()
    after: bytes | None = None
    while True:
        rows = vault.stored(coll.name, after, BATCH)
        if not rows:
            break
        after = bytes(rows[-1].id)
        by_id: dict[bytes, list[Any]] = {}
        for row in rows:
            by_id.setdefault(bytes(row.id), []).append(row)
        doomed: list[bytes] = []
        for record_id, versions in by_id.items():
            report.scanned += 1
            newest = versions[-1]
            try:
                view = vault.open_row(newest)
            except NotFoundError:  # erased already
                continue
            ref = ref_of(record_id)
            month = coll.month_of(view.fields)
            for v in versions:
                key_months.setdefault(sealed_key_id(v.sealed), (view.region, month))
            years = rules.years_for(coll.name, str(view.fields.get("category", "")))
            received = datetime.fromisoformat(str(view.fields["received_at"]))
            expired = years is not None and _add_years(received, years) <= at
            held = ref in held_records or view.fields.get("case_ref") in held_cases
            if expired and held:
                report.held += 1
            if expired and not held:
                doomed.append(record_id)
            else:
                report.kept += 1
                still_used.update(sealed_key_id(v.sealed) for v in versions)
        if doomed and not dry_run:
            entry = vault.entry(
                actor,
                purpose,
                "delete",
                coll.name,
                refs=[ref_of(i) for i in doomed],
                detail={"op": "retention-purge", "count": len(doomed)},
            )
            vault.purge(coll.name, doomed, entry)
        report.purged += len(doomed)
        if progress is not None:
            progress(report.scanned)
    shortest = rules.shortest(coll.name)
    for key_id, (region, month) in sorted(key_months.items(), key=lambda kv: kv[1]):
        if key_id in still_used:
            continue
        year, mon = (int(x) for x in month.split("-"))
        month_end = datetime(year + (mon == 12), mon % 12 + 1, 1, tzinfo=UTC)
        if _add_years(month_end, shortest) > at:
            continue  # a late record of that month could still have to be kept
        if not dry_run:
            vault.keyring.destroy_key(key_id)
            vault.audit.append(
                vault.entry(
                    actor,
                    purpose,
                    "admin",
                    "keys",
                    detail={"op": "destroy-month-key", "region": region, "month": month},
                )
            )
        report.keys_destroyed += 1
        report.months_destroyed.append(f"{region}/{month}")
    return report
