"""Record schemas and field types.

Collections are declared in TOML (see ``strongroom/schemas/*.toml``); field types are
registered in :data:`FIELD_TYPES`. :class:`Collection` validates and normalises records,
produces the canonical form that gets sealed, and the values that blind indexes cover.
"""

from strongroom.schema._collection import Collection, Record
from strongroom.schema._model import (
    CollectionSpec,
    FieldSpec,
    IndexSpec,
    builtin_collection,
    load_collection_file,
    parse_collection,
)
from strongroom.schema._resident_id import ResidentId, parse_resident_id
from strongroom.schema._types import FIELD_TYPES

__all__ = [
    "FIELD_TYPES",
    "Collection",
    "CollectionSpec",
    "FieldSpec",
    "IndexSpec",
    "Record",
    "ResidentId",
    "builtin_collection",
    "load_collection_file",
    "parse_collection",
    "parse_resident_id",
]
