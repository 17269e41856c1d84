"""Text-like field types: personal names, free text, dates, timestamps and sex.

All text is NFKC-normalised first, so full-width forms (common in Chinese input methods)
fold to their ASCII equivalents. Errors name the field and the reason, never the value.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from typing import Final, Literal

from strongroom.errors import ValidationError

__all__ = ["normalize_name", "normalize_sex", "normalize_text", "parse_date", "parse_timestamp"]

# --- names -------------------------------------------------------------------------------

# Look-alikes folded to the canonical character after NFKC: the middle dot of transliterated
# minority and foreign names ("阿沛·阿旺晋美") is often typed as a bullet, a katakana middle
# dot or a hyphenation point; typographic apostrophes and hyphens fold to ASCII.
_NAME_FOLD: Final = str.maketrans(
    {
        "\u2022": "\u00b7",  # bullet
        "\u2027": "\u00b7",  # hyphenation point
        "\u2219": "\u00b7",  # bullet operator
        "\u22c5": "\u00b7",  # dot operator
        "\u30fb": "\u00b7",  # katakana middle dot (NFKC target of the half-width one)
        "\u2018": "'",
        "\u2019": "'",
        "\u02bc": "'",
        "\u2010": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2212": "-",
    }
)
_LATIN_LETTERS: Final = "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u1e00-\u1eff"
_HAN_LETTERS: Final = (
    "\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f\U00030000-\U000323af"
)
_COMBINING: Final = "\u0300-\u036f"
_NAME_CHARS: Final = re.compile(f"[{_LATIN_LETTERS}{_HAN_LETTERS}{_COMBINING}\u00b7'\\-. ]+")
_NAME_LETTER: Final = re.compile(f"[{_LATIN_LETTERS}{_HAN_LETTERS}]")
# Whitespace that can survive NFKC (NFKC maps U+00A0, U+2000-U+200A, U+3000 to a space).
_NAME_SPACE: Final = re.compile("[ \t\n\r\u1680\u2028\u2029]+")

# --- free text ---------------------------------------------------------------------------

_NEWLINES: Final = re.compile("\r\n?")
# C0 and C1 controls except TAB and LF (CR has been folded to LF), and lone surrogates.
_TEXT_FORBIDDEN: Final = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")

# --- dates and timestamps ----------------------------------------------------------------

_DATE: Final = re.compile(r"(\d{4})-(\d{2})-(\d{2})|(\d{4})(\d{2})(\d{2})", re.ASCII)
_TIMESTAMP: Final = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?(?P<zone>Z|[+-]\d{2}:?\d{2})?",
    re.ASCII,
)

# --- sex ---------------------------------------------------------------------------------

_SEX: Final[dict[str, Literal["M", "F"]]] = {
    "m": "M",
    "male": "M",
    "男": "M",
    "男性": "M",
    "f": "F",
    "female": "F",
    "女": "F",
    "女性": "F",
}


def _require_str(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise ValidationError.single(field, "must be a string")
    return value


def _nfkc(value: str) -> str:
    return value if value.isascii() else unicodedata.normalize("NFKC", value)


def normalize_name(value: str, *, field: str = "name", max_length: int = 64) -> str:
    """A personal name in Chinese or Latin script, NFKC-normalised with whitespace folded.

    Letters may be joined by single spaces, the middle dot ``·`` (its look-alikes are folded
    to it), hyphens, apostrophes and periods. ``max_length`` counts code points after
    normalisation. Control and format characters are rejected.
    """
    text = _nfkc(_require_str(value, field)).translate(_NAME_FOLD)
    text = _NAME_SPACE.sub(" ", text).strip(" ")
    if not text:
        raise ValidationError.single(field, "must not be empty")
    if len(text) > max_length:
        raise ValidationError.single(field, f"must be at most {max_length} characters")
    if _NAME_CHARS.fullmatch(text) is None:
        if any(unicodedata.category(ch).startswith("C") for ch in text):
            raise ValidationError.single(field, "must not contain control characters")
        raise ValidationError.single(
            field,
            "may contain only Chinese or Latin letters, spaces, middle dots, hyphens, "
            "apostrophes and periods",
        )
    if _NAME_LETTER.search(text) is None:
        raise ValidationError.single(field, "must contain a letter")
    return text


def normalize_text(value: str, *, field: str, max_length: int, allow_empty: bool = False) -> str:
    """Free text: NFKC, CR LF and CR folded to LF, stripped; TAB and LF are the only controls.

    ``max_length`` counts code points after normalisation.
    """
    text = _nfkc(_require_str(value, field))
    if "\r" in text:
        text = _NEWLINES.sub("\n", text)
    text = text.strip()
    if not text and not allow_empty:
        raise ValidationError.single(field, "must not be empty")
    if len(text) > max_length:
        raise ValidationError.single(field, f"must be at most {max_length} characters")
    bad = _TEXT_FORBIDDEN.search(text)
    if bad is not None:
        char = bad.group()
        if char == "\x00":
            raise ValidationError.single(field, "must not contain NUL characters")
        if "\ud800" <= char <= "\udfff":
            raise ValidationError.single(field, "must be valid Unicode text")
        raise ValidationError.single(field, "must not contain control characters")
    return text


def parse_date(
    value: str, *, field: str, today: date | None = None, allow_future: bool = False
) -> date:
    """A calendar date written ``YYYY-MM-DD`` or ``YYYYMMDD``; not after ``today`` by default."""
    text = _nfkc(_require_str(value, field)).strip()
    match = _DATE.fullmatch(text)
    if match is None:
        raise ValidationError.single(field, "must be a date in the form YYYY-MM-DD")
    year, month, day = (g for g in match.groups() if g is not None)
    try:
        result = date(int(year), int(month), int(day))
    except ValueError:
        # ``from None``: the ValueError text can quote the year, which may be personal data.
        raise ValidationError.single(field, "is not a real date") from None
    if not allow_future and result > (today if today is not None else date.today()):
        raise ValidationError.single(field, "is in the future")
    return result


def parse_timestamp(value: str, *, field: str) -> datetime:
    """An ISO 8601 timestamp with an explicit offset or ``Z``; returns an aware datetime.

    The offset given is kept (not converted to UTC). Naive timestamps are rejected: a time
    without a zone is ambiguous.
    """
    text = _nfkc(_require_str(value, field)).strip().upper()
    match = _TIMESTAMP.fullmatch(text)
    if match is None:
        raise ValidationError.single(
            field, "must be an ISO 8601 timestamp such as 2024-05-01T08:30:00+08:00"
        )
    if match["zone"] is None:
        raise ValidationError.single(field, "must carry a time zone")
    try:
        result = datetime.fromisoformat(text.replace(",", "."))
    except ValueError:
        # ``from None``: the ValueError text quotes the input.
        raise ValidationError.single(field, "is not a real date and time") from None
    return result


def normalize_sex(value: str, *, field: str = "sex") -> Literal["M", "F"]:
    """``M`` or ``F`` from M/F, male/female or 男/女 (any case, surrounding spaces ignored)."""
    key = _nfkc(_require_str(value, field)).strip().casefold()
    sex = _SEX.get(key)
    if sex is None:
        raise ValidationError.single(field, "must be M or F (male/female, 男/女)")
    return sex
