"""Bulk import of CSV / JSON Lines into the vault: streaming, resumable, with a rejects file.

Each batch is validated and sealed row by row; bad rows go to the rejects file (line, field,
reason — never the value) and the import goes on (``strict`` stops at the first). A batch's
new data keys are written to the key store first, then its records, index rows and the
import's position commit in one transaction of the record database — so an interrupted
import resumes after the last committed batch, and a rejected row leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from strongroom._access import Actor, Purpose, check_call
from strongroom._ids import new_record_id
from strongroom.batch._readers import RawRow, detect_format, read_rows
from strongroom.errors import FieldError, StoreError, StrongroomError, ValidationError
from strongroom.schema import Collection, FieldSpec, parse_resident_id
from strongroom.vault import Prepared, Vault

Progress = Callable[[int, int, int], None]  # (bytes done, accepted, rejected)


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

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


class StrictStop(ValidationError):
    """``strict`` import stopped at the first bad row."""

    def __init__(self, line: int, errors: list[FieldError]) -> None:
        super().__init__([FieldError(f"line {line}: {e.field}", e.reason) for e in errors])


def import_id(collection: str, path: Path) -> str:
    st = path.stat()
    key = f"{collection}\0{path.resolve()}\0{st.st_size}\0{st.st_mtime_ns}"
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def _csv_value(f: FieldSpec, cell: str) -> Any:
    if not f.list:
        return cell
    items = [x.strip() for x in cell.split(";") if x.strip()]
    if f.type != "object":
        return items
    out = []
    for item in items:
        parts = item.split(":")
        out.append({s.name: p.strip() for s, p in zip(f.fields, parts, strict=False)})
    return out


class _Importer:
    def __init__(self, vault: Vault, coll: Collection, fmt: str, strict: bool, rejects: Any,
                 actor: Actor, purpose: Purpose) -> None:  # fmt: skip
        self.vault = vault
        self.coll = coll
        self.fmt = fmt
        self.strict = strict
        self.rejects = rejects
        self.direct: set[str] = set()  # references given as UUIDs, checked before writing
        self.pending: tuple[list[Prepared], list[Any]] = ([], [])
        self.actor = actor
        self.purpose = purpose
        self.ref_fields = [
            (f, s) for f in coll.spec.fields if f.type == "object"
            for s in f.fields if s.type == "ref"
        ]  # fmt: skip

    def to_raw(self, row: RawRow) -> dict[str, Any]:
        assert row.data is not None  # noqa: S101 - callers filter unreadable rows
        if self.fmt != "csv":
            return row.data
        raw: dict[str, Any] = {}
        for k, cell in row.data.items():
            f = self.coll.field(k)
            raw[k] = _csv_value(f, cell) if f is not None and cell != "" else cell
        return raw

    def resolve(self, raws: list[dict[str, Any]]) -> dict[str, str]:
        """Map resident IDs named as party keys to person references (one batch lookup)."""
        wanted: set[str] = set()
        for raw in raws:
            for f, s in self.ref_fields:
                for item in raw.get(f.name) or []:
                    if not isinstance(item, dict):
                        continue
                    key = item.get(s.name) or item.get("resident_id")
                    if isinstance(key, str) and not _is_uuid(key):
                        try:
                            wanted.add(parse_resident_id(key).number)
                        except ValidationError:
                            pass
        return self.vault.resolve_unique(
            "person", "resident_id", sorted(wanted), actor=self.actor, purpose=self.purpose
        )

    def apply_refs(self, raw: dict[str, Any], refs: dict[str, str]) -> None:
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
                    self.direct.add(str(key))
        if errs:
            raise ValidationError(errs)


def _is_uuid(s: str) -> bool:
    try:
        uuid.UUID(s)
    except ValueError:
        return False
    return True


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
    progress: Progress | None = None,
) -> ImportSummary:
    """Import ``path`` into ``collection``; resumes a previous interrupted run of the same file."""
    check_call(actor, purpose)
    coll = vault.collection(collection)
    if not path.is_file():
        raise ValidationError.single("file", f"{path} is not a readable file")
    fmt = detect_format(path, fmt)
    if fmt not in ("csv", "jsonl"):
        raise ValidationError.single("format", "must be csv or jsonl")
    iid = import_id(coll.name, path)
    state = vault.store.import_state(iid)
    if state is not None and state.status == "done":
        return ImportSummary(coll.name, str(path), state.accepted, state.rejected, state.line, 0.0,
                             str(rejects_path) if rejects_path else None, already_done=True)  # fmt: skip
    start, line = (state.position, state.line) if state else (0, 0)
    accepted, rejected = (state.accepted, state.rejected) if state else (0, 0)
    rejects_pos = state.rejects_position if state else 0
    rejects_path = rejects_path or path.with_name(path.name + ".rejects.csv")
    t0 = time.perf_counter()
    with _open_rejects(rejects_path, rejects_pos) as rj:
        imp = _Importer(vault, coll, fmt, strict, rj, actor, purpose)
        rows = read_rows(path, fmt, start, line)
        for batch in _batches(rows, batch_size):
            acc, rej = _import_batch(imp, batch)
            accepted += acc
            rejected += rej
            rj.flush()
            end = batch[-1]
            _commit_progress(vault, iid, coll.name, path, end.end, end.line, accepted, rejected,
                             rj.tell(), "running", imp.pending)  # fmt: skip
            if progress:
                progress(end.end, accepted, rejected)
        final_line = line
        with vault.store.begin() as conn:
            st = vault.store.import_state(iid)
            final_line = st.line if st else line
            vault.store.save_import_state(conn, _state_row(
                iid, coll.name, path, path.stat().st_size, final_line, accepted, rejected,
                rj.tell(), "done"))  # fmt: skip
    if rejected == 0:
        rejects_path.unlink(missing_ok=True)
    return ImportSummary(coll.name, str(path), accepted, rejected, line, time.perf_counter() - t0,
                         str(rejects_path) if rejected else None)  # fmt: skip


class _RejectsFile:
    def __init__(self, path: Path, position: int) -> None:
        new = position == 0 or not path.exists()
        self.fh = path.open("r+b" if not new else "wb")
        if not new:
            self.fh.truncate(position)
            self.fh.seek(position)
        else:
            self.fh.write(b"line,field,reason\n")
        self.path = path

    def write(self, line: int, errors: list[FieldError]) -> None:
        buf = []
        for e in errors:
            field = e.field.replace('"', "'")
            reason = e.reason.replace('"', "'")
            buf.append(f'{line},"{field}","{reason}"\n')
        self.fh.write("".join(buf).encode("utf-8"))

    def flush(self) -> None:
        self.fh.flush()

    def tell(self) -> int:
        return self.fh.tell()

    def __enter__(self) -> _RejectsFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.fh.close()


def _open_rejects(path: Path, position: int) -> _RejectsFile:
    return _RejectsFile(path, position)


def _batches(rows: Iterator[RawRow], size: int) -> Iterator[list[RawRow]]:
    batch: list[RawRow] = []
    for r in rows:
        batch.append(r)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _import_batch(imp: _Importer, batch: list[RawRow]) -> tuple[int, int]:
    vault, coll = imp.vault, imp.coll
    raws: list[tuple[RawRow, dict[str, Any] | None]] = []
    for r in batch:
        raws.append((r, imp.to_raw(r) if r.data is not None else None))
    refs = imp.resolve([x for _, x in raws if x is not None]) if imp.ref_fields else {}
    prepared: list[Prepared] = []
    lines: list[int] = []
    new_keys: list[Any] = []
    rejected = 0
    for r, raw in raws:
        if raw is None:
            errs = [FieldError("row", r.error or "unreadable")]
        else:
            try:
                if refs or imp.ref_fields:
                    imp.apply_refs(raw, refs)
                rec = coll.validate(raw)
                if imp.ref_fields:
                    _check_resolved(imp, rec)
                prepared.append(vault.prepare(coll, rec, new_record_id(), 1, new_keys))
                lines.append(r.line)
                continue
            except ValidationError as exc:
                errs = exc.errors
        if imp.strict:
            raise StrictStop(r.line, errs)
        imp.rejects.write(r.line, errs)
        rejected += 1
    # unique values: against the database, and within this batch
    with vault.store.begin() as conn:
        clashes = vault.conflicts(coll, prepared, conn)
    seen: dict[int, int] = {}
    for i, p in enumerate(prepared):
        for _name, _v, t in p.unique:
            if t in seen and i not in clashes:
                clashes[i] = FieldError(
                    coll.indexes[_name].fields[0], f"repeats line {lines[seen[t]]} of this file"
                )
            seen.setdefault(t, i)
    if clashes:
        if imp.strict:
            i = min(clashes)
            raise StrictStop(lines[i], [clashes[i]])
        for i in sorted(clashes):
            imp.rejects.write(lines[i], [clashes[i]])
        dropped = {prepared[i].row["id"] for i in clashes}
        prepared = [p for i, p in enumerate(prepared) if i not in clashes]
        new_keys = [k for k in new_keys if k["key_id"] not in dropped]
        rejected += len(clashes)
    imp.pending = (prepared, new_keys)
    return len(prepared), rejected


def _check_resolved(imp: _Importer, rec: dict[str, Any]) -> None:
    errs = []
    for f, s in imp.ref_fields:
        for i, item in enumerate(rec.get(f.name) or []):
            if item.get(s.name) not in imp.direct:
                continue
            if not imp.vault.store.current(s.collection or "", [uuid.UUID(item[s.name]).bytes]):
                errs.append(FieldError(f"{f.name}[{i}].{s.name}", "no such person"))
    if errs:
        raise ValidationError(errs)


def _state_row(iid: str, coll: str, path: Path, pos: int, line: int, acc: int, rej: int,
               rpos: int, status: str) -> dict[str, Any]:  # fmt: skip
    return {
        "id": iid, "collection": coll, "source": str(path.resolve())[:1024], "position": pos,
        "line": line, "accepted": acc, "rejected": rej, "rejects_position": rpos,
        "status": status, "updated_at": time.time_ns() // 1_000_000,
    }  # fmt: skip


def _commit_progress(vault: Vault, iid: str, coll: str, path: Path, pos: int, line: int,
                     acc: int, rej: int, rpos: int, status: str,
                     pending: tuple[list[Prepared], list[Any]]) -> None:  # fmt: skip
    prepared, new_keys = pending
    vault.keyring.save_keys(new_keys)
    try:
        with vault.store.begin() as conn:
            vault.store.insert_records(conn, [p.row for p in prepared])
            vault.store.insert_tokens(conn, [t for p in prepared for t in p.tokens])
            vault.store.save_import_state(
                conn, _state_row(iid, coll, path, pos, line, acc, rej, rpos, status)
            )
    except (SQLAlchemyError, StrongroomError) as exc:
        vault.keyring.forget_keys([k["key_id"] for k in new_keys])
        if isinstance(exc, SQLAlchemyError):
            raise StoreError("an import batch could not be written") from exc
        raise


__all__ = ["ImportSummary", "StrictStop", "import_file"]
