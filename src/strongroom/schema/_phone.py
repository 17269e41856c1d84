"""Phone numbers, normalised to E.164 (``+8613812345678``).

Mainland mobile numbers (by far the most common input) take a fast path: after folding
full-width characters and dropping spaces and dashes, an optional ``+86`` / ``0086`` / ``86``
prefix and an 11-digit national number are matched by one precompiled regular expression.
That expression is built once, at import, from the mobile pattern in the ``phonenumbers``
metadata for CN, so the fast path accepts exactly the mobile numbers ``phonenumbers`` itself
considers valid. Everything else (landlines, other countries, odd punctuation) is parsed
with ``phonenumbers`` with CN as the default region and must be a valid number.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

import phonenumbers

from strongroom.errors import ValidationError

__all__ = ["normalize_phone"]

#: longest input handed to phonenumbers; real numbers with punctuation are far shorter
MAX_INPUT_LENGTH: Final = 64


def _mobile_pattern() -> str:
    metadata = phonenumbers.PhoneMetadata.metadata_for_region("CN")
    mobile = metadata.mobile if metadata is not None else None
    pattern = mobile.national_number_pattern if mobile is not None else None
    # Fallback if a future metadata release ever lacks the pattern: the mainland mobile range.
    return str(pattern) if pattern else r"1[3-9]\d{9}"


# re.ASCII: \d must not match other scripts' digits (e.g. Arabic-Indic), which NFKC keeps.
_MOBILE_FAST: Final = re.compile(rf"(?:\+86|0086|86)?((?:{_mobile_pattern()}))", re.ASCII)


def normalize_phone(value: str, *, field: str = "phones") -> str:
    """Return ``value`` as an E.164 number or raise a ValidationError naming ``field``."""
    if not isinstance(value, str):
        raise ValidationError.single(field, "must be a string")
    if not value.isascii():
        value = unicodedata.normalize("NFKC", value)
    value = value.strip()
    match = _MOBILE_FAST.fullmatch(value.replace(" ", "").replace("-", ""))
    if match is not None:
        return "+86" + match[1]
    return _parse_slow(value, field)


def _parse_slow(value: str, field: str) -> str:
    if not value:
        raise ValidationError.single(field, "must not be empty")
    if len(value) > MAX_INPUT_LENGTH:
        raise ValidationError.single(field, f"must be at most {MAX_INPUT_LENGTH} characters")
    try:
        number = phonenumbers.parse(value, "CN")
    except phonenumbers.NumberParseException as exc:
        raise ValidationError.single(field, "is not a phone number") from exc
    if number.extension:
        raise ValidationError.single(field, "must not carry an extension")
    if not phonenumbers.is_valid_number(number):
        raise ValidationError.single(field, "is not a valid phone number")
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
