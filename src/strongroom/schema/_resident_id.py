"""Chinese citizen identity numbers: GB 11643-1999 with the ISO 7064 MOD 11-2 check character.

An 18-character number reads ``AAAAAA YYYYMMDD SSS C``: a six-digit address code (GB/T 2260)
whose first two digits name the province, the birth date, a three-digit sequence whose last
digit is odd for men and even for women, and a check character computed with ISO 7064
MOD 11-2 (``X`` stands for ten).

The same layout is used by the residence permits for Hong Kong and Macao residents (address
code ``810000`` / ``820000``), for Taiwan residents (``830000``), and by the 2023 foreigners'
permanent residence identity card (first digit ``9``).

The 15-digit legacy form of GB 11643-1989 (``AAAAAA YYMMDD SSS``) is accepted and upgraded to
18 characters by inserting ``19`` before the year and computing the check character.

County codes are deliberately *not* checked: counties are renamed and abolished, but the
numbers issued under the old codes remain valid for life.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import date
from typing import Final, Literal

from strongroom.errors import ValidationError

__all__ = ["ResidentId", "ResidentIdKind", "parse_resident_id", "resident_id_check_char"]

ResidentIdKind = Literal["resident", "hk_macao_permit", "taiwan_permit", "foreign_permanent"]

#: ISO 7064 MOD 11-2 weights for positions 1..17 (2 ** (18 - i) mod 11); listed for reference,
#: the hot path uses the equivalent base-13 trick in :func:`_check_char`.
_WEIGHTS: Final = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
#: check character indexed by the weighted sum mod 11
_CHECK_MAP: Final = "10X98765432"

_CHECK_CHARS: Final = frozenset("0123456789X")
_ODD: Final = frozenset("13579")
_EARLIEST: Final = date(1850, 1, 1)
_PERMIT_ADDRESS_SUFFIX: Final = "0000"


def _province_kinds() -> dict[str, ResidentIdKind]:
    kinds: dict[str, ResidentIdKind] = {}
    for low, high in ((11, 15), (21, 23), (31, 37), (41, 46), (50, 54), (61, 65), (71, 71)):
        for code in range(low, high + 1):
            kinds[str(code)] = "resident"
    kinds["81"] = "hk_macao_permit"
    kinds["82"] = "hk_macao_permit"
    kinds["83"] = "taiwan_permit"
    for code in range(90, 100):
        kinds[str(code)] = "foreign_permanent"
    return kinds


#: first two digits -> kind of card; a missing key is an unknown province
_PROVINCE_KIND: Final = _province_kinds()

_R_EMPTY: Final = "must not be empty"
_R_STRING: Final = "must be a string"
_R_LENGTH: Final = "must be 18 characters (or the 15-digit legacy form)"
_R_CHARS: Final = "must contain only digits and a final check character"
_R_LEGACY_DIGITS: Final = "the 15-digit legacy form must contain only digits"
_R_LEGACY_KIND: Final = "the 15-digit legacy form exists only for resident identity cards"
_R_PROVINCE: Final = "unknown province code"
_R_PERMIT_ADDRESS: Final = "unknown address code for a residence permit"
_R_DATE: Final = "birth date is not a real date"
_R_FUTURE: Final = "birth date is in the future"
_R_EARLY: Final = "birth date is before 1850-01-01"
_R_CHECK: Final = "check character does not match"


@dataclass(frozen=True, slots=True)
class ResidentId:
    """A validated identity number. ``repr`` hides the number and birth date (personal data)."""

    number: str = dc_field(repr=False)
    kind: ResidentIdKind
    birth_date: date = dc_field(repr=False)
    sex: Literal["M", "F"] = dc_field(repr=False)
    province: str


def _check_char(first17: str) -> str:
    # ISO 7064 MOD 11-2: S = sum(d_i * 2**(18-i)) mod 11. Since 13 = 2 (mod 11),
    # int(first17, 13) = sum(d_i * 2**(17-i)) (mod 11), so S = 2 * int(first17, 13) (mod 11).
    # int() runs in C: several times faster than a Python-level weighted sum.
    # Callers guarantee first17 is exactly 17 ASCII digits (int() would accept more).
    return _CHECK_MAP[int(first17, 13) * 2 % 11]


def resident_id_check_char(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character (``0``-``9`` or ``X``) for 17 leading digits."""
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise ValidationError.single("first17", "must be exactly 17 digits")
    return _check_char(first17)


def _normalise(value: object, field: str) -> str:
    """Slow path: fold and check the shape; returns 17 ASCII digits plus a check character."""
    if not isinstance(value, str):
        raise ValidationError.single(field, _R_STRING)
    text = value.strip()
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text).strip()
    text = text.replace("x", "X")
    if not text:
        raise ValidationError.single(field, _R_EMPTY)
    length = len(text)
    if length == 18:
        if not (text.isascii() and text[:17].isdigit() and text[17] in _CHECK_CHARS):
            raise ValidationError.single(field, _R_CHARS)
        return text
    if length == 15:
        if not (text.isascii() and text.isdigit()):
            raise ValidationError.single(field, _R_LEGACY_DIGITS)
        kind = _PROVINCE_KIND.get(text[:2])
        if kind is None:
            raise ValidationError.single(field, _R_PROVINCE)
        if kind != "resident":
            raise ValidationError.single(field, _R_LEGACY_KIND)
        first17 = f"{text[:6]}19{text[6:]}"
        return first17 + _check_char(first17)
    raise ValidationError.single(field, _R_LENGTH)


def parse_resident_id(
    value: str, *, field: str = "resident_id", today: date | None = None
) -> ResidentId:
    """Validate and normalise a GB 11643-1999 identity number (or a permit of the same form).

    Accepts surrounding whitespace, full-width characters (NFKC), a lower-case ``x`` and the
    15-digit legacy form; the result always carries the 18-character form. Raises
    :class:`~strongroom.errors.ValidationError` naming ``field`` (never the value) when the
    shape, province code, birth date (a real date, from 1850-01-01 to ``today``, default the
    current date) or the ISO 7064 MOD 11-2 check character is wrong.
    """
    # Fast path: an already-normalised 18-character ASCII number skips all folding.
    if (
        value.__class__ is str
        and len(value) == 18
        and value.isascii()
        and value[:17].isdigit()
        and value[17] in _CHECK_CHARS
    ):
        number = value
    else:
        number = _normalise(value, field)

    kind = _PROVINCE_KIND.get(number[:2])
    if kind is None:
        raise ValidationError.single(field, _R_PROVINCE)
    if number[0] == "8" and number[2:6] != _PERMIT_ADDRESS_SUFFIX:
        raise ValidationError.single(field, _R_PERMIT_ADDRESS)

    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        # ``from None``: the ValueError text can quote the year, which is personal data.
        raise ValidationError.single(field, _R_DATE) from None
    if born > (today if today is not None else date.today()):
        raise ValidationError.single(field, _R_FUTURE)
    if born < _EARLIEST:
        raise ValidationError.single(field, _R_EARLY)

    if number[17] != _check_char(number[:17]):
        raise ValidationError.single(field, _R_CHECK)

    # positional arguments: measurably faster than keywords for a frozen slotted dataclass
    return ResidentId(number, kind, born, "M" if number[16] in _ODD else "F", number[:2])
