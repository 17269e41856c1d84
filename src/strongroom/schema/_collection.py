"""A compiled collection: validation, canonical form, blind-index values.

The canonical serialisation of a record (what gets sealed) is compact JSON of an *array* of
the protected field values in declared order, ``null`` for absent ones; an object-typed item
is an array of its sub-fields in declared order. ``region`` is not in it: it is stored beside
the ciphertext and bound by the AAD. The schema version is bound by the AAD too, so the
array's meaning can never drift.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from typing import Any

from strongroom.errors import FieldError, ValidationError
from strongroom.schema._model import CollectionSpec, FieldSpec, IndexSpec
from strongroom.schema._resident_id import parse_resident_id
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

    def _check_type(self, f: FieldSpec) -> None:
        if f.type == "object":
            for sub in f.fields:
                self._check_type(sub)
        elif f.type not in FIELD_TYPES:
            from strongroom.errors import ConfigError

            raise ConfigError(f"{self.spec.name}.{f.name}: unknown field type {f.type!r}")

    def field(self, name: str) -> FieldSpec | None:
        return self._by_name.get(name)

    # -- validation ----------------------------------------------------------------------
    def validate(self, raw: Mapping[str, Any], *, partial_of: Record | None = None) -> Record:
        """Normalise a whole record (or ``raw`` applied over ``partial_of``).

        Collects every failing field into one :class:`ValidationError`.
        """
        errors: list[FieldError] = []
        unknown = [k for k in raw if k not in self._by_name]
        for k in sorted(unknown):
            errors.append(FieldError(str(k)[:64], "unknown field"))
        out: Record = {}
        for f in self._fields:
            if f.name in raw:
                value = raw[f.name]
            elif partial_of is not None and f.name in partial_of:
                out[f.name] = partial_of[f.name]
                continue
            else:
                value = None
            if value is None or value == "" or value == []:
                if f.required:
                    errors.append(FieldError(f.name, "is required"))
                continue
            try:
                out[f.name] = self._value(f, value, f.name)
            except ValidationError as exc:
                errors.extend(exc.errors)
        if not errors:
            self._agreement(out, errors)
        if errors:
            raise ValidationError(errors)
        return out

    def _value(self, f: FieldSpec, value: Any, path: str) -> Any:
        if f.list:
            if isinstance(value, str | bytes) or not isinstance(value, list | tuple):
                raise ValidationError.single(path, "must be a list")
            if len(value) > f.max_items:
                raise ValidationError.single(path, f"must have at most {f.max_items} items")
            items: list[Any] = []
            errs: list[FieldError] = []
            for i, v in enumerate(value):
                try:
                    item = self._one(f, v, f"{path}[{i}]")
                except ValidationError as exc:
                    errs.extend(exc.errors)
                    continue
                if item not in items:
                    items.append(item)
            if errs:
                raise ValidationError(errs)
            return items
        return self._one(f, value, path)

    def _one(self, f: FieldSpec, value: Any, path: str) -> Any:
        if f.type != "object":
            return FIELD_TYPES[f.type](value, f, path)
        if not isinstance(value, Mapping):
            raise ValidationError.single(path, "must be an object")
        errs: list[FieldError] = []
        out: dict[str, Any] = {}
        known = {s.name for s in f.fields}
        for k in value:
            if k not in known:
                errs.append(FieldError(f"{path}.{str(k)[:64]}", "unknown field"))
        for sub in f.fields:
            v = value.get(sub.name)
            if v is None or v == "":
                if sub.required:
                    errs.append(FieldError(f"{path}.{sub.name}", "is required"))
                continue
            try:
                out[sub.name] = self._value(sub, v, f"{path}.{sub.name}")
            except ValidationError as exc:
                errs.extend(exc.errors)
        if errs:
            raise ValidationError(errs)
        return out

    def _agreement(self, rec: Record, errors: list[FieldError]) -> None:
        for f in self._fields:
            if not f.agrees_with or f.name not in rec:
                continue
            rid = parse_resident_id(rec[f.name], field=f.name)
            facts = {"date_of_birth": rid.birth_date.isoformat(), "sex": rid.sex}
            for other in f.agrees_with:
                if other in rec and other in facts and rec[other] != facts[other]:
                    errors.append(FieldError(other, f"does not agree with {f.name}"))

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
                    v = [{n: x for n, x in zip(names, item, strict=True) if x is not None}
                         for item in v]  # fmt: skip
                else:
                    v = {n: x for n, x in zip(names, v, strict=True) if x is not None}
            rec[f.name] = v
        rec["region"] = region
        return rec

    # -- blind-index values --------------------------------------------------------------
    def index_values(self, rec: Record) -> list[tuple[str, str]]:
        """(index name, normalised value) for every blind-index entry of a record."""
        out: list[tuple[str, str]] = []
        for ix in self.spec.indexes:
            for value in self.values_of(ix, rec):
                out.append((ix.name, value))
        return out

    def values_of(self, ix: IndexSpec, rec: Mapping[str, Any]) -> list[str]:
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
