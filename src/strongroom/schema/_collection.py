"""A compiled collection: validation, canonical form, blind-index values.

The canonical serialisation of a record (what gets sealed) is compact JSON of an *array* of
the protected field values in declared order, ``null`` for absent ones; an object-typed item
is an array of its sub-fields in declared order. ``region`` is not in it: it is stored beside
the ciphertext and bound by the AAD. The schema version is bound by the AAD too, so the
array's meaning can never drift.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from strongroom.errors import ConfigError, FieldError, ValidationError
from strongroom.schema._model import CollectionSpec, FieldSpec, IndexSpec
from strongroom.schema._types import FIELD_TYPES

Record = dict[str, Any]
_SEP = "\x1f"  # joins the parts of a composite index value


class Collection:
    """Everything the vault needs to know about one collection's records."""

    def __init__(self, spec: CollectionSpec) -> None:
        self.spec = spec
        self.name = spec.name
        self.version = spec.version
        self._fields = spec.fields
        self._by_name = {f.name: f for f in spec.fields}
        self._sealed = tuple(f for f in spec.fields if f.name != "region")
        for f in spec.fields:
            self._check_type(f)
        self.indexes: dict[str, IndexSpec] = {ix.name: ix for ix in spec.indexes}
        self._names = frozenset(self._by_name)
        self._plan = [(f.name, f.required, self._compile(f)) for f in spec.fields]
        self._agree = [(f.name, f.agrees_with) for f in spec.fields if f.agrees_with]
        for name, _ in self._agree:
            if self._by_name[name].type != "resident_id":
                raise ConfigError(f"{spec.name}.{name}: agrees_with needs a resident_id field")
        self._extract = [(ix, _extractor(ix)) for ix in spec.indexes]

    def _check_type(self, f: FieldSpec) -> None:
        if f.type == "object":
            for sub in f.fields:
                self._check_type(sub)
        elif f.type not in FIELD_TYPES:
            raise ConfigError(f"{self.spec.name}.{f.name}: unknown field type {f.type!r}")

    def field(self, name: str) -> FieldSpec | None:
        return self._by_name.get(name)

    # -- validation ----------------------------------------------------------------------
    def validate(self, raw: Mapping[str, Any], *, partial_of: Record | None = None) -> Record:
        """Normalise a whole record (or ``raw`` applied over ``partial_of``).

        Collects every failing field into one :class:`ValidationError`.
        """
        errors: list[FieldError] = []
        if not self._names.issuperset(raw.keys()):
            unknown = sorted(str(k)[:64] for k in raw if k not in self._names)
            errors.extend(FieldError(k, "unknown field") for k in unknown)
        out: Record = {}
        for name, required, fn in self._plan:
            value = raw.get(name)
            if value is None and partial_of is not None and name not in raw:
                if name in partial_of:
                    out[name] = partial_of[name]
                continue
            if value is None or value == "" or value == []:
                if required:
                    errors.append(FieldError(name, "is required"))
                continue
            try:
                out[name] = fn(value, name)
            except ValidationError as exc:
                errors.extend(exc.errors)
        if not errors and self._agree:
            self._agreement(out, errors)
        if errors:
            raise ValidationError(errors)
        return out

    def _compile(self, f: FieldSpec) -> Callable[[Any, str], Any]:
        """One specialised function per field: normalise a value given at ``path``."""
        if f.type == "object":
            one = self._object_fn(f)
        else:
            typed = FIELD_TYPES[f.type]

            def one(value: Any, path: str, _f: FieldSpec = f) -> Any:
                return typed(value, _f, path)

        if not f.list:
            return one
        limit = f.max_items

        def many(value: Any, path: str) -> Any:
            if isinstance(value, str | bytes) or not isinstance(value, list | tuple):
                raise ValidationError.single(path, "must be a list")
            if len(value) > limit:
                raise ValidationError.single(path, f"must have at most {limit} items")
            items: list[Any] = []
            errs: list[FieldError] = []
            for i, v in enumerate(value):
                try:
                    item = one(v, f"{path}[{i}]")
                except ValidationError as exc:
                    errs.extend(exc.errors)
                    continue
                if item not in items:
                    items.append(item)
            if errs:
                raise ValidationError(errs)
            return items

        return many

    def _object_fn(self, f: FieldSpec) -> Callable[[Any, str], Any]:
        subs = [(s.name, s.required, self._compile(s)) for s in f.fields]
        known = {s.name for s in f.fields}

        def obj(value: Any, path: str) -> Any:
            if not isinstance(value, Mapping):
                raise ValidationError.single(path, "must be an object")
            errs = [
                FieldError(f"{path}.{str(k)[:64]}", "unknown field")
                for k in value
                if k not in known
            ]
            out: dict[str, Any] = {}
            for name, required, fn in subs:
                v = value.get(name)
                if v is None or v == "":
                    if required:
                        errs.append(FieldError(f"{path}.{name}", "is required"))
                    continue
                try:
                    out[name] = fn(v, f"{path}.{name}")
                except ValidationError as exc:
                    errs.extend(exc.errors)
            if errs:
                raise ValidationError(errs)
            return out

        return obj

    def _agreement(self, rec: Record, errors: list[FieldError]) -> None:
        """Fields that must agree with a resident ID (read from the normalised number)."""
        for name, others in self._agree:
            number = rec.get(name)
            if number is None:
                continue
            facts = {
                "date_of_birth": f"{number[6:10]}-{number[10:12]}-{number[12:14]}",
                "sex": "M" if int(number[16]) % 2 else "F",
            }
            for other in others:
                if other in rec and other in facts and rec[other] != facts[other]:
                    errors.append(FieldError(other, f"does not agree with {name}"))

    def month_of(self, rec: Record) -> str:
        """``YYYY-MM`` of the month field (UTC), for month-scoped keys."""
        from datetime import UTC, datetime

        assert self.spec.month_field is not None  # noqa: S101 - checked when the spec loaded
        ts = datetime.fromisoformat(rec[self.spec.month_field]).astimezone(UTC)
        return f"{ts.year:04d}-{ts.month:02d}"

    # -- canonical form ------------------------------------------------------------------
    def canonical(self, rec: Record) -> bytes:
        """The bytes that get sealed (see the module docstring)."""
        arr = [self._canon(f, rec.get(f.name)) for f in self._sealed]
        return json.dumps(arr, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    def _canon(self, f: FieldSpec, v: Any) -> Any:
        if v is None or f.type != "object":
            return v
        if f.list:
            return [[item.get(s.name) for s in f.fields] for item in v]
        return [v.get(s.name) for s in f.fields]

    def from_canonical(self, data: bytes, region: str) -> Record:
        """Rebuild a record dict from its canonical bytes."""
        arr = json.loads(data)
        rec: Record = {}
        for f, v in zip(self._sealed, arr, strict=True):
            if v is None:
                continue
            if f.type == "object":
                names = [s.name for s in f.fields]
                if f.list:
                    v = [
                        {n: x for n, x in zip(names, item, strict=True) if x is not None}
                        for item in v
                    ]
                else:
                    v = {n: x for n, x in zip(names, v, strict=True) if x is not None}
            rec[f.name] = v
        rec["region"] = region
        return rec

    # -- blind-index values --------------------------------------------------------------
    def index_values(self, rec: Record) -> list[tuple[str, str]]:
        """(index name, normalised value) for every blind-index entry of a record."""
        return [(ix.name, v) for ix, fn in self._extract for v in fn(rec)]

    def index_extractors(self) -> list[tuple[IndexSpec, Callable[[Mapping[str, Any]], list[str]]]]:
        """(index, function giving a record's values for it), compiled once."""
        return self._extract

    def values_of(self, ix: IndexSpec, rec: Mapping[str, Any]) -> list[str]:
        return _values_of(ix, rec)


def _extractor(ix: IndexSpec) -> Callable[[Mapping[str, Any]], list[str]]:
    if len(ix.fields) == 1 and "." not in ix.fields[0]:
        name = ix.fields[0]

        def one(rec: Mapping[str, Any]) -> list[str]:
            v = rec.get(name)
            if v is None:
                return []
            return v if isinstance(v, list) else [v]

        return one

    if all("." not in f for f in ix.fields):
        names = ix.fields

        def joined(rec: Mapping[str, Any]) -> list[str]:
            parts: list[Any] = [rec.get(n) for n in names]
            if all(isinstance(p, str) for p in parts):
                return [_SEP.join(parts)]
            if any(p is None for p in parts):
                return []
            return _values_of(ix, rec)

        return joined

    def general(rec: Mapping[str, Any]) -> list[str]:
        return _values_of(ix, rec)

    return general


def _values_of(ix: IndexSpec, rec: Mapping[str, Any]) -> list[str]:
    parts: list[list[str]] = []
    for path in ix.fields:
        vals = _path_values(rec, path)
        if not vals:
            return []
        parts.append(vals)
    if len(parts) == 1:
        return parts[0]
    # composite: every combination (lists in composites are rare; kept bounded)
    combos = [""]
    for i, vals in enumerate(parts):
        combos = [c + (_SEP if i else "") + v for c in combos for v in vals][:64]
    return combos


def _path_values(rec: Mapping[str, Any], path: str) -> list[str]:
    head, _, rest = path.partition(".")
    v = rec.get(head)
    if v is None:
        return []
    items = v if isinstance(v, list) else [v]
    if not rest:
        return [x if isinstance(x, str) else _scalar(x) for x in items]
    out: list[str] = []
    for item in items:
        if isinstance(item, Mapping):
            out.extend(_path_values(item, rest))
    return out


def _scalar(x: Any) -> str:
    if isinstance(x, date):
        return x.isoformat()
    return str(x)
