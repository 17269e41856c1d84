"""The CPU-bound half of an import: raw rows → validated, sealed rows and index tokens.

Runs in the importing process, or in forked worker processes (one batch per task). Results are
plain tuples so that they cross the process boundary cheaply.
"""

from __future__ import annotations

import contextlib
import signal
import uuid
from dataclasses import dataclass
from typing import Any

from strongroom._access import Actor, Purpose
from strongroom._ids import new_record_id
from strongroom.batch._readers import RawRow
from strongroom.errors import FieldError, ValidationError
from strongroom.schema import Collection, FieldSpec, parse_resident_id
from strongroom.vault import Vault


@dataclass(slots=True)
class PreparedBatch:
    """One batch, prepared. ``ok`` rows are (line, record row, tokens, unique values)."""

    ok: list[tuple[int, tuple[Any, ...], list[tuple[int, bytes]], list[tuple[str, str, int]]]]
    keys: list[Any]  # key-store rows of new subject keys
    rejects: list[tuple[int, list[FieldError]]]
    end: int = 0  # byte offset after the batch's last row
    line: int = 0  # line of the batch's last row


def csv_value(f: FieldSpec, cell: str) -> Any:
    """A CSV cell as the collection expects it: lists ``;``-separated, objects ``a:b``."""
    if not f.list:
        return cell
    items = [x.strip() for x in cell.split(";") if x.strip()]
    if f.type != "object":
        return items
    return [
        {s.name: p.strip() for s, p in zip(f.fields, item.split(":"), strict=False)}
        for item in items
    ]


def _is_uuid(s: str) -> bool:
    try:
        uuid.UUID(s)
    except ValueError:
        return False
    return True


class RowPreparer:
    """Validates, resolves references and seals the rows of one collection."""

    def __init__(
        self, vault: Vault, coll: Collection, fmt: str, actor: Actor, purpose: Purpose
    ) -> None:
        self.vault = vault
        self.coll = coll
        self.fmt = fmt
        self.actor = actor
        self.purpose = purpose
        self.ref_fields = [
            (f, s)
            for f in coll.spec.fields
            if f.type == "object"
            for s in f.fields
            if s.type == "ref"
        ]
        self._csv_fields = {f.name: f for f in coll.spec.fields}

    def to_raw(self, row: RawRow) -> dict[str, Any]:
        assert row.data is not None  # noqa: S101 - callers filter unreadable rows
        if self.fmt != "csv":
            return row.data
        fields = self._csv_fields
        return {
            k: csv_value(fields[k], cell) if cell and k in fields else cell
            for k, cell in row.data.items()
        }

    def resolve(self, raws: list[dict[str, Any]]) -> dict[str, str]:
        """Map resident IDs named in reference fields to person references.

        First in the row's own region (where a party almost always is), then in regions
        hinted by the ID's province digits, then, for what is still unresolved, in every
        region this node holds: a few lookups per batch, never a wrong answer.
        """
        by_region: dict[str, set[str]] = {}
        for raw in raws:
            region = str(raw.get("region") or "").strip().upper()
            for f, s in self.ref_fields:
                for item in raw.get(f.name) or []:
                    if not isinstance(item, dict):
                        continue
                    key = item.get(s.name) or item.get("resident_id")
                    if isinstance(key, str) and not _is_uuid(key):
                        with contextlib.suppress(ValidationError):
                            by_region.setdefault(region, set()).add(parse_resident_id(key).number)
        refs: dict[str, str] = {}
        for region, numbers in sorted(by_region.items()):
            if region:
                refs.update(self._lookup(sorted(numbers), [region]))
        rest = set().union(*by_region.values()) - refs.keys() if by_region else set()
        if rest:
            # a hint, never a limit: regions whose code starts with the ID's province digits
            # (deployments that name regions by GB/T 2260 codes); the rest then everywhere
            held = self.vault.keyring.regions("person")
            by_hint: dict[str, list[str]] = {}
            for number in rest:
                by_hint.setdefault(number[:2], []).append(number)
            for prefix, hinted_ids in sorted(by_hint.items()):
                hinted = [r for r in held if r.startswith(prefix)]
                if hinted:
                    refs.update(self._lookup(sorted(hinted_ids), hinted))
            rest -= refs.keys()
        if rest:
            refs.update(self._lookup(sorted(rest), None))
        return refs

    def _lookup(self, numbers: list[str], regions: list[str] | None) -> dict[str, str]:
        return self.vault.resolve_unique(
            "person",
            "resident_id",
            numbers,
            actor=self.actor,
            purpose=self.purpose,
            regions=regions,
        )

    def apply_refs(self, raw: dict[str, Any], refs: dict[str, str], given: set[str]) -> None:
        """Replace resident IDs in reference fields by person references, or raise."""
        errs: list[FieldError] = []
        for f, s in self.ref_fields:
            items = raw.get(f.name)
            if not isinstance(items, list):
                continue
            for i, item in enumerate(items):
                if not isinstance(item, dict):
                    continue
                key = item.pop("resident_id", None) or item.get(s.name)
                if isinstance(key, str) and not _is_uuid(key):
                    path = f"{f.name}[{i}].{s.name}"
                    try:
                        number = parse_resident_id(key, field=path).number
                    except ValidationError as exc:
                        errs.extend(exc.errors)
                        continue
                    if number in refs:
                        item[s.name] = refs[number]
                    else:
                        errs.append(FieldError(path, "no person with this resident ID"))
                elif key is not None:
                    item[s.name] = key
                    given.add(str(key))
        if errs:
            raise ValidationError(errs)

    def prepare(self, batch: list[RawRow]) -> PreparedBatch:
        vault, coll = self.vault, self.coll
        raws = [(r, self.to_raw(r) if r.data is not None else None) for r in batch]
        refs: dict[str, str] = {}
        if self.ref_fields:
            refs = self.resolve([x for _, x in raws if x is not None])
        out = PreparedBatch([], [], [], end=batch[-1].end, line=batch[-1].line)
        valid: list[tuple[int, dict[str, Any]]] = []
        for r, raw in raws:
            if raw is None:
                out.rejects.append((r.line, [FieldError("row", r.error or "unreadable")]))
                continue
            try:
                given: set[str] = set()
                if self.ref_fields:
                    self.apply_refs(raw, refs, given)
                rec = coll.validate(raw)
                if given:  # references given as UUIDs must name current records
                    vault.check_refs(coll, rec)
            except ValidationError as exc:
                out.rejects.append((r.line, exc.errors))
                continue
            valid.append((r.line, rec))
        if coll.spec.key_scope == "month":  # the batch's month keys in one go
            vault.keyring.ensure_month_keys(
                {(rec["region"], coll.name, coll.month_of(rec)) for _l, rec in valid}
            )
        for line, rec in valid:
            p = vault.prepare(coll, rec, new_record_id(), 1, out.keys, remember=False)
            out.ok.append((line, p.row, p.tokens, p.unique))
        out.rejects.sort(key=lambda x: x[0])
        return out


# -- worker processes (fork): the preparer is inherited, never pickled ----------------------
_WORKER: RowPreparer | None = None


def set_worker_preparer(preparer: RowPreparer | None) -> None:
    global _WORKER
    _WORKER = preparer


def worker_init() -> None:
    """In a forked child: drop the parent's pooled connections (never share a socket), and
    leave Ctrl-C to the parent, which stops the pool (a worker killed by SIGINT while holding
    a pool lock would hang it)."""
    assert _WORKER is not None  # noqa: S101
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for engine in _WORKER.vault.engines():
        engine.dispose(close=False)


def worker_prepare(batch: list[RawRow]) -> PreparedBatch:
    assert _WORKER is not None  # noqa: S101
    return _WORKER.prepare(batch)
