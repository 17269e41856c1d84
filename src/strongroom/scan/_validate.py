"""Validators for the scanner's candidates: one pure function per check, no scanning here.

- resident IDs: :func:`strongroom.schema.parse_resident_id` (province, real birth date,
  ISO 7064 MOD 11-2 check character; the 15-digit legacy form has no check character);
- mainland mobiles: the mobile number pattern of ``phonenumbers``' metadata for CN (the
  allocated ``1[3-9]x`` ranges), the same source :mod:`strongroom.schema._phone` uses;
- bank cards: the Luhn check plus an issuer prefix with a length that issuer uses;
- passports: the letter forms of the mainland passport series;
- emails: the shape of RFC 5321 addresses (lengths, labels, a letters-only top-level domain).

:func:`fold` maps full-width digits, letters, ``+ - ( ) @ .`` (U+FF0B …) and the
ideographic space to ASCII one character for one character, so offsets into the folded
text are offsets into the original.
"""

from __future__ import annotations

import re
from typing import Final

import phonenumbers

from strongroom.errors import ValidationError
from strongroom.schema._resident_id import parse_resident_id

__all__ = [
    "card_issuer",
    "email_ok",
    "fold",
    "luhn_ok",
    "mobile_ok",
    "mobile_pattern",
    "passport_ok",
    "resident_id",
]


def _fold_table() -> dict[int, int]:
    table = {0xFF10 + i: ord("0") + i for i in range(10)}
    table.update({0xFF21 + i: ord("A") + i for i in range(26)})
    table.update({0xFF41 + i: ord("a") + i for i in range(26)})
    table.update({0xFF0B: ord("+"), 0xFF0D: ord("-"), 0xFF08: ord("("), 0xFF09: ord(")")})
    table.update({0x3000: ord(" "), 0xFF20: ord("@"), 0xFF0E: ord(".")})
    return table


_FOLD: Final = _fold_table()


def fold(text: str) -> str:
    """Full-width digits, letters, ``+ - ( ) @ .`` and U+3000 to ASCII; same length."""
    return text if text.isascii() else text.translate(_FOLD)


def mobile_pattern() -> str:
    """The national number pattern of CN mobiles in ``phonenumbers``' metadata."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region("CN")
    mobile = metadata.mobile if metadata is not None else None
    pattern = mobile.national_number_pattern if mobile is not None else None
    return str(pattern) if pattern else r"1[3-9]\d{9}"


_MOBILE: Final = re.compile(mobile_pattern(), re.ASCII)


def mobile_ok(national: str) -> bool:
    """An 11-digit national number in an allocated mainland mobile range."""
    return len(national) == 11 and _MOBILE.fullmatch(national) is not None


def resident_id(digits: str) -> str | None:
    """The 18-character form of a valid resident ID (18 or legacy 15 digits), else None."""
    try:
        return parse_resident_id(digits).number
    except ValidationError:
        return None


def luhn_ok(digits: str) -> bool:
    """The Luhn (mod 10) check over ASCII digits."""
    total = 0
    double = False
    for ch in reversed(digits):
        n = ord(ch) - 48
        if double:
            n *= 2
            if n > 9:
                n -= 9
        total += n
        double = not double
    return total % 10 == 0


def card_issuer(digits: str) -> str | None:
    """The card scheme whose prefix and length ``digits`` has, or None.

    UnionPay 62 (16-19), Visa 4 (13, 16, 19), Mastercard 51-55 and 2221-2720 (16), American
    Express 34/37 (15), JCB 3528-3589 (16-19), Discover 6011/644-649/65 (16-19), Diners Club
    300-305/36/38/39 (14-19).
    """
    n = len(digits)
    if n < 13 or n > 19:
        return None
    two = int(digits[:2])
    four = int(digits[:4])
    if two == 62 and n >= 16:
        return "unionpay"
    if digits[0] == "4" and n in (13, 16, 19):
        return "visa"
    if n == 16 and (51 <= two <= 55 or 2221 <= four <= 2720):
        return "mastercard"
    if two in (34, 37) and n == 15:
        return "amex"
    if 3528 <= four <= 3589 and n >= 16:
        return "jcb"
    if n >= 16 and (four == 6011 or two == 65 or 644 <= int(digits[:3]) <= 649):
        return "discover"
    if n >= 14 and (300 <= int(digits[:3]) <= 305 or two in (36, 38, 39)):
        return "diners"
    return None


#: E + 8 digits (e-passport), E + letter (no I, O) + 7 digits once E's numbers ran out,
#: G + 8 digits (older ordinary), D/S/P (+E) + 7 digits (diplomatic, service, public affairs),
#: S + 8 digits (older service passports)
_PASSPORT: Final = re.compile(r"E[0-9]{8}|E[A-HJ-NP-Z][0-9]{7}|G[0-9]{8}|[DSP]E?[0-9]{7}|S[0-9]{8}")


def passport_ok(value: str) -> bool:
    """One of the mainland passport number forms."""
    return _PASSPORT.fullmatch(value) is not None


_LABEL: Final = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?")


def email_ok(address: str) -> bool:
    """Lengths, dots and labels of an address, with a letters-only top-level domain."""
    local, _, domain = address.rpartition("@")
    if not local or len(local) > 64 or len(address) > 254:
        return False
    if local.startswith(".") or local.endswith(".") or ".." in local:
        return False
    labels = domain.split(".")
    if len(labels) < 2 or not labels[-1].isalpha() or len(labels[-1]) < 2:
        return False
    return all(_LABEL.fullmatch(label) for label in labels)
