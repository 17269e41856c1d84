"""Field masks, and applying a :class:`Decision` to a record's fields.

Masks (exact forms)::

    resident ID     11010519491231002X  ->  110105********002X   (first 6, last 4)
    phone (E.164)   +8613812345678      ->  +86 138****5678      (country code, first 3 and
                                                                   last 4 national digits)
    name            王小明 / Anna Müller ->  王* / A*              (first character and one *)
    date of birth   1949-10-01          ->  1949                 (year only)

A mask never reveals more than its form: a value it cannot read (not a phone number, not a
date) becomes ``****``, and a field marked ``masked`` whose type has no mask is hidden.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Mapping
from functools import cache

import phonenumbers

from strongroom.policy._model import Decision
from strongroom.schema import builtin_collection

#: what a mask returns for a value it cannot read
UNREADABLE = "****"

_YEAR = re.compile(r"(\d{4})-\d{2}-\d{2}")


def mask_resident_id(value: str) -> str:
    """``11010519491231002X`` -> ``110105********002X``: first 6 and last 4 characters."""
    text = str(value).strip()
    if len(text) < 11:
        return "*" * len(text) if text else UNREADABLE
    return text[:6] + "*" * (len(text) - 10) + text[-4:]


def mask_phone(value: str) -> str:
    """``+8613812345678`` -> ``+86 138****5678``: country code, first 3 and last 4 digits."""
    try:
        number = phonenumbers.parse(str(value).strip(), None)
    except phonenumbers.NumberParseException:
        return UNREADABLE
    national = phonenumbers.national_significant_number(number)
    if not number.country_code or len(national) < 6:
        return UNREADABLE
    if len(national) >= 8:
        shown = national[:3] + "*" * (len(national) - 7) + national[-4:]
    else:
        shown = "*" * (len(national) - 2) + national[-2:]
    return f"+{number.country_code} {shown}"


def mask_name(value: str) -> str:
    """``王小明`` -> ``王*``, ``Anna Müller`` -> ``A*``: the first character and one ``*``."""
    text = unicodedata.normalize("NFC", str(value)).strip()
    return (text[0] + "*") if text else "*"


def mask_date_of_birth(value: str | dt.date) -> str:
    """``1949-10-01`` -> ``1949``: the year only."""
    if isinstance(value, dt.date):
        return f"{value.year:04d}"
    found = _YEAR.fullmatch(str(value).strip()[:10])
    return found.group(1) if found else UNREADABLE


#: masks by field type (the ``type`` of a field in the collection schema)
MASKS: Mapping[str, Callable[[str], str]] = {
    "resident_id": mask_resident_id,
    "phone": mask_phone,
    "name": mask_name,
    "date": mask_date_of_birth,
}


@cache
def _builtin_types() -> dict[str, str]:
    types: dict[str, str] = {}
    for collection in ("person", "incident"):
        for spec in builtin_collection(collection).fields:
            if spec.type in MASKS:
                types.setdefault(spec.name, spec.type)
    return types


def _one(value: object, mask: Callable[[str], str]) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.date):
        return mask(value.isoformat())
    return mask(str(value))


def _mask_value(value: object, mask: Callable[[str], str]) -> object:
    if isinstance(value, list | tuple):
        return [_one(v, mask) for v in value]
    return _one(value, mask)


def apply(
    decision: Decision,
    fields: Mapping[str, object],
    *,
    types: Mapping[str, str] | None = None,
) -> dict[str, object]:
    """The fields a decision releases: ``full`` as is, ``masked`` masked, ``hidden`` removed.

    A denied decision releases nothing; a field the decision does not name is hidden; lists
    are masked item by item. ``types`` maps field names to schema types (for choosing the
    mask); the default covers the shipped collections (``name``, ``resident_id``,
    ``phones``, ``date_of_birth``).
    """
    if not decision.allowed:
        return {}
    kinds = _builtin_types() if types is None else types
    out: dict[str, object] = {}
    for name, value in fields.items():
        level = decision.fields.get(name, "hidden")
        if level == "full":
            out[name] = value
        elif level == "masked":
            mask = MASKS.get(kinds.get(name, ""))
            if mask is not None:
                out[name] = _mask_value(value, mask)
    return out
