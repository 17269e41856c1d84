"""Collections and their fields, as declared in TOML schema files.

A schema file (see ``strongroom/schemas/person.toml``) has a ``[collection]`` table (name,
version, key scope), an ordered array of ``[[fields]]`` and an array of ``[[indexes]]``. The
field order is the order of the canonical serialisation that gets sealed, so it is part of the
format: append fields and bump the version; never reorder.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from strongroom.errors import ConfigError

KeyScope = Literal["subject", "month"]
_FIELD_KEYS = {
    "name",
    "type",
    "required",
    "list",
    "max_items",
    "max_length",
    "choices",
    "fields",
    "collection",
    "agrees_with",
}


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One declared field."""

    name: str
    type: str
    required: bool = False
    list: bool = False
    max_items: int = 16
    max_length: int | None = None
    choices: tuple[str, ...] = ()
    fields: tuple[FieldSpec, ...] = ()
    collection: str | None = None  # for type "ref"
    agrees_with: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class IndexSpec:
    """An exact-match blind index over one field, or several joined."""

    name: str
    fields: tuple[str, ...]
    unique: bool = False


@dataclass(frozen=True, slots=True)
class CollectionSpec:
    """A collection as declared: name, schema version, key scope, fields and indexes."""

    name: str
    version: int
    key_scope: KeyScope
    fields: tuple[FieldSpec, ...]
    indexes: tuple[IndexSpec, ...]
    month_field: str | None = None


def _field(raw: Any, where: str) -> FieldSpec:
    if not isinstance(raw, dict) or "name" not in raw or "type" not in raw:
        raise ConfigError(f"{where}: every field needs a name and a type")
    unknown = set(raw) - _FIELD_KEYS
    if unknown:
        raise ConfigError(f"{where}.{raw['name']}: unknown keys {sorted(unknown)}")
    name = str(raw["name"])
    return FieldSpec(
        name=name,
        type=str(raw["type"]),
        required=bool(raw.get("required", False)),
        list=bool(raw.get("list", False)),
        max_items=int(raw.get("max_items", 16)),
        max_length=int(raw["max_length"]) if "max_length" in raw else None,
        choices=tuple(str(c) for c in raw.get("choices", ())),
        fields=tuple(_field(f, f"{where}.{name}") for f in raw.get("fields", ())),
        collection=str(raw["collection"]) if "collection" in raw else None,
        agrees_with=tuple(str(a) for a in raw.get("agrees_with", ())),
    )


def parse_collection(doc: dict[str, Any], where: str = "schema") -> CollectionSpec:
    """Build a :class:`CollectionSpec` from a parsed TOML document (checked, not trusted)."""
    head = doc.get("collection")
    if not isinstance(head, dict):
        raise ConfigError(f"{where}: missing [collection] table")
    try:
        name = str(head["name"])
        version = int(head["version"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: [collection] needs name and an integer version") from exc
    scope = head.get("key_scope", "subject")
    if scope not in ("subject", "month"):
        raise ConfigError(f"{where}: key_scope must be 'subject' or 'month'")
    fields = tuple(_field(f, f"{where}.fields") for f in doc.get("fields", ()))
    names = [f.name for f in fields]
    if len(set(names)) != len(names):
        raise ConfigError(f"{where}: duplicate field names")
    if "region" not in names or not next(f for f in fields if f.name == "region").required:
        raise ConfigError(f"{where}: every collection needs a required 'region' field")
    month_field = head.get("month_field")
    if scope == "month" and month_field not in names:
        raise ConfigError(f"{where}: key_scope 'month' needs month_field naming a field")
    indexes = []
    for ix in doc.get("indexes", ()):
        ix_fields = tuple(str(f) for f in ix.get("fields", ()))
        for f in ix_fields:
            if f.split(".")[0] not in names:
                raise ConfigError(f"{where}: index {ix.get('name')!r} names unknown field {f!r}")
        if not ix_fields or "name" not in ix:
            raise ConfigError(f"{where}: every index needs a name and fields")
        indexes.append(IndexSpec(str(ix["name"]), ix_fields, bool(ix.get("unique", False))))
    return CollectionSpec(
        name=name,
        version=version,
        key_scope=scope,
        fields=fields,
        indexes=tuple(indexes),
        month_field=str(month_field) if month_field else None,
    )


def load_collection_file(path: Path) -> CollectionSpec:
    """Read a user's TOML schema file."""
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read schema file {path}: {exc}") from exc
    return parse_collection(doc, str(path))


def builtin_collection(name: str) -> CollectionSpec:
    """One of the shipped collections, ``person`` or ``incident``."""
    text = resources.files("strongroom").joinpath("schemas", f"{name}.toml").read_text("utf-8")
    return parse_collection(tomllib.loads(text), f"{name}.toml")
