"""Phone numbers normalised to E.164: mainland mobile fast path and the phonenumbers path."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strongroom.errors import ValidationError
from strongroom.schema._phone import normalize_phone


def fullwidth(text: str) -> str:
    """The full-width (FF01-FF5E) form of printable ASCII, as typed with a CJK input method."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


MOBILE_FORMS = [
    pytest.param("13812345678", id="bare"),
    pytest.param("138 1234 5678", id="spaces-3-4-4"),
    pytest.param("138-1234-5678", id="dashes-3-4-4"),
    pytest.param("1381-234-5678", id="dashes-odd-grouping"),
    pytest.param("  13812345678\t", id="surrounding-whitespace"),
    pytest.param("+8613812345678", id="plus86"),
    pytest.param("+86 138 1234 5678", id="plus86-spaces"),
    pytest.param("+86-138-1234-5678", id="plus86-dashes"),
    pytest.param("8613812345678", id="86"),
    pytest.param("86 13812345678", id="86-space"),
    pytest.param("008613812345678", id="0086"),
    pytest.param("0086 138 1234 5678", id="0086-spaces"),
    pytest.param("0086-138-1234-5678", id="0086-dashes"),
    pytest.param(fullwidth("13812345678"), id="full-width"),
    pytest.param(fullwidth("+86 138-1234-5678"), id="full-width-plus86"),
    pytest.param("\u3000138\u30001234\u30005678\u3000", id="ideographic-spaces"),
    pytest.param("138\u00a01234\u00a05678", id="no-break-spaces"),
]


@pytest.mark.parametrize("raw", MOBILE_FORMS)
def test_mobile_forms(raw: str) -> None:
    assert normalize_phone(raw) == "+8613812345678"


@pytest.mark.parametrize("raw", MOBILE_FORMS)
def test_mobile_forms_take_the_fast_path(raw: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_parse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("fast path must not call phonenumbers.parse")

    monkeypatch.setattr(phonenumbers, "parse", no_parse)
    assert normalize_phone(raw) == "+8613812345678"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("010-12345678", "+861012345678", id="beijing-landline"),
        pytest.param("(010) 1234 5678", "+861012345678", id="beijing-landline-parens"),
        pytest.param("+86 10 1234 5678", "+861012345678", id="beijing-landline-plus86"),
        pytest.param("021-87654321", "+862187654321", id="shanghai-landline"),
        pytest.param("0755-12345678", "+8675512345678", id="shenzhen-landline"),
        pytest.param(fullwidth("010-12345678"), "+861012345678", id="full-width-landline"),
        pytest.param("(+86) 138 1234 5678", "+8613812345678", id="mobile-parens"),
        pytest.param("+86 (138) 1234-5678", "+8613812345678", id="mobile-parens-inner"),
        pytest.param("138.1234.5678", "+8613812345678", id="mobile-dots"),
        pytest.param("+852 2123 4567", "+85221234567", id="hong-kong"),
        pytest.param("+1 650-253-0000", "+16502530000", id="usa"),
        pytest.param("+44 20 7946 0958", "+442079460958", id="uk"),
    ],
)
def test_other_numbers(raw: str, expected: str) -> None:
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        pytest.param("", "must not be empty", id="empty"),
        pytest.param("   ", "must not be empty", id="blank"),
        pytest.param("abc", "is not a phone number", id="letters"),
        pytest.param("12345", "is not a valid phone number", id="too-short"),
        pytest.param("1381234567", "is not a valid phone number", id="mobile-10-digits"),
        pytest.param("138123456789", "is not a valid phone number", id="mobile-12-digits"),
        pytest.param("12012345678", "is not a valid phone number", id="mobile-bad-prefix"),
        pytest.param("+86 138 1234 567", "is not a valid phone number", id="plus86-short"),
        pytest.param("+999 1234 5678", "is not a phone number", id="unknown-country"),
        pytest.param("13812345678 ext. 12", "must not carry an extension", id="extension"),
        pytest.param("1" * 80, "must be at most 64 characters", id="too-long"),
    ],
)
def test_invalid_numbers_rejected(raw: str, reason: str) -> None:
    with pytest.raises(ValidationError) as info:
        normalize_phone(raw, field="contact.phone")
    [error] = info.value.errors
    assert error.field == "contact.phone"
    assert reason in error.reason


def test_other_scripts_digits_come_out_as_ascii() -> None:
    # NFKC keeps Arabic-Indic digits; the fast path (re.ASCII) leaves them to phonenumbers,
    # which reads them as digits. E.164 output must be ASCII digits only.
    arabic_indic = "".join(chr(0x660 + int(c)) for c in "13812345678")
    assert normalize_phone(arabic_indic) == "+8613812345678"


def test_non_string_rejected() -> None:
    with pytest.raises(ValidationError, match="must be a string"):
        normalize_phone(13812345678)  # type: ignore[arg-type]


def test_parse_error_is_chained() -> None:
    with pytest.raises(ValidationError) as info:
        normalize_phone("not a number")
    assert isinstance(info.value.__cause__, phonenumbers.NumberParseException)


def slow_path(raw: str) -> str | None:
    try:
        number = phonenumbers.parse(raw, "CN")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


@settings(database=None, max_examples=500)
@given(
    prefix=st.sampled_from(["", "+86", "0086", "86", "+86 "]),
    national=st.from_regex(r"\A1[0-9]{10}\Z"),
)
def test_fast_path_agrees_with_phonenumbers(prefix: str, national: str) -> None:
    raw = prefix + national
    try:
        ours: str | None = normalize_phone(raw)
    except ValidationError:
        ours = None
    assert ours == slow_path(raw)


@pytest.mark.parametrize(
    "raw",
    [
        "12012345678",
        "+86 138 1234 567",
        "0086-139-0000",
        "138123456789012",
        "+999 1234 5678",
        "13812345678 ext. 12",
    ],
)
def test_error_messages_never_contain_the_value(raw: str) -> None:
    with pytest.raises(ValidationError) as info:
        normalize_phone(raw)
    texts = [str(info.value), *(e.reason for e in info.value.errors)]
    if info.value.__cause__ is not None:
        texts.append(str(info.value.__cause__))
    digits = "".join(c for c in raw if c.isdigit())
    for text in texts:
        assert raw not in text
        assert digits not in "".join(c for c in text if c.isdigit())
