"""The field types, registered in one place.

A field type turns one raw input value into its normalised, JSON-compatible form, or raises
:class:`~strongroom.errors.ValidationError` naming the field path and the reason (never the
value). The normalised form is what gets sealed and what blind-index tokens are computed over.

=============  ================================================================
type           normalised form
=============  ================================================================
name           NFKC, whitespace folded (:func:`normalize_name`)
text           NFKC, trimmed, no control characters (:func:`normalize_text`)
resident_id    18 characters, upper-case X (GB 11643-1999)
phone          E.164, e.g. ``+8613812345678``
date           ``YYYY-MM-DD``
timestamp      ISO 8601 with its zone offset
sex            ``M`` or ``F``
choice         one of the declared choices (case-folded)
code           a reference code such as a case number: letters (any script), digits,
               ``/ _ . : - ( ) [ ]``, starting with a letter or digit
region         a jurisdiction code: ``[A-Z0-9][A-Z0-9-]{1,15}``
ref            a record reference (UUID, lower-case)
object         nested fields (declared under the field)
=============  ================================================================
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Callable
from typing import Any

from strongroom.errors import ValidationError
from strongroom.schema._model import FieldSpec
from strongroom.schema._phone import normalize_phone
from strongroom.schema._resident_id import parse_resident_id
from strongroom.schema._text import (
    normalize_name,
    normalize_sex,
    normalize_text,
    parse_date,
    parse_timestamp,
)

Normaliser = Callable[[Any, FieldSpec, str], Any]

_REGION = re.compile(r"[A-Z0-9][A-Z0-9-]{1,15}")
_CODE = re.compile(r"[^\W_][\w/.:()\[\]-]*")


def _str(raw: Any, path: str) -> str:
    if not isinstance(raw, str):
        raise ValidationError.single(path, "must be a string")
    return raw


def _name(raw: Any, spec: FieldSpec, path: str) -> str:
    return normalize_name(_str(raw, path), field=path, max_length=spec.max_length or 64)


def _text(raw: Any, spec: FieldSpec, path: str) -> str:
    return normalize_text(_str(raw, path), field=path, max_length=spec.max_length or 1024)


def _resident_id(raw: Any, spec: FieldSpec, path: str) -> str:
    return parse_resident_id(_str(raw, path), field=path).number


def _phone(raw: Any, spec: FieldSpec, path: str) -> str:
    return normalize_phone(_str(raw, path), field=path)


def _date(raw: Any, spec: FieldSpec, path: str) -> str:
    return parse_date(_str(raw, path), field=path).isoformat()


def _timestamp(raw: Any, spec: FieldSpec, path: str) -> str:
    return parse_timestamp(_str(raw, path), field=path).isoformat()


def _sex(raw: Any, spec: FieldSpec, path: str) -> str:
    return normalize_sex(_str(raw, path), field=path)


def _choice(raw: Any, spec: FieldSpec, path: str) -> str:
    v = unicodedata.normalize("NFKC", _str(raw, path)).strip().lower()
    if v not in spec.choices:
        raise ValidationError.single(path, f"must be one of: {', '.join(spec.choices)}")
    return v


def _code(raw: Any, spec: FieldSpec, path: str) -> str:
    v = unicodedata.normalize("NFKC", _str(raw, path)).strip()
    limit = spec.max_length or 64
    if len(v) > limit:
        raise ValidationError.single(path, f"must be at most {limit} characters")
    if not _CODE.fullmatch(v):
        raise ValidationError.single(
            path, "must be letters, digits and / _ . : - ( ) [ ] (starting with a letter or digit)"
        )
    return v


def _region(raw: Any, spec: FieldSpec, path: str) -> str:
    v = unicodedata.normalize("NFKC", _str(raw, path)).strip().upper()
    if not _REGION.fullmatch(v):
        raise ValidationError.single(
            path, "must be a jurisdiction code of 2-16 letters, digits or '-'"
        )
    return v


def _ref(raw: Any, spec: FieldSpec, path: str) -> str:
    try:
        return str(uuid.UUID(_str(raw, path).strip()))
    except ValueError as exc:
        raise ValidationError.single(path, "must be a record reference (a UUID)") from exc


#: the registry: type name -> normaliser ("object" is handled by the collection itself)
FIELD_TYPES: dict[str, Normaliser] = {
    "name": _name,
    "text": _text,
    "resident_id": _resident_id,
    "phone": _phone,
    "date": _date,
    "timestamp": _timestamp,
    "sex": _sex,
    "choice": _choice,
    "code": _code,
    "region": _region,
    "ref": _ref,
}
