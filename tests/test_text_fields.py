"""Names, free text, dates, timestamps and sex."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from strongroom.errors import ValidationError
from strongroom.schema._text import (
    normalize_name,
    normalize_sex,
    normalize_text,
    parse_date,
    parse_timestamp,
)

TODAY = date(2026, 1, 1)
CST = timezone(timedelta(hours=8))


def fullwidth(text: str) -> str:
    """The full-width (FF01-FF5E) form of printable ASCII, as typed with a CJK input method."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def reason(exc_info: pytest.ExceptionInfo[ValidationError], field: str) -> str:
    [error] = exc_info.value.errors
    assert error.field == field
    return error.reason


# --- names -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("张三", "张三", id="han"),
        pytest.param("  欧阳  娜娜 ", "欧阳 娜娜", id="han-spaces-folded"),
        pytest.param("阿沛·阿旺晋美", "阿沛·阿旺晋美", id="middle-dot"),
        pytest.param("阿沛\u2022阿旺晋美", "阿沛·阿旺晋美", id="bullet-folded"),
        pytest.param("阿沛\u30fb阿旺晋美", "阿沛·阿旺晋美", id="katakana-dot-folded"),
        pytest.param("阿沛\uff65阿旺晋美", "阿沛·阿旺晋美", id="halfwidth-katakana-dot-folded"),
        pytest.param("阿沛\u2027阿旺晋美", "阿沛·阿旺晋美", id="hyphenation-point-folded"),
        pytest.param("Li Lei", "Li Lei", id="latin"),
        pytest.param("Mary\t Ann \n Smith", "Mary Ann Smith", id="latin-whitespace-runs"),
        pytest.param("O'Neil-Smith Jr.", "O'Neil-Smith Jr.", id="apostrophe-hyphen-period"),
        pytest.param("O\u2019Neil", "O'Neil", id="typographic-apostrophe-folded"),
        pytest.param("Jean\u2010Luc", "Jean-Luc", id="unicode-hyphen-folded"),
        pytest.param("José Müller", "José Müller", id="latin-accents"),
        pytest.param("Jose\u0301", "José", id="combining-accent-composed"),
        pytest.param("Nguyễn Văn", "Nguyễn Văn", id="vietnamese"),
        pytest.param(fullwidth("LI Lei"), "LI Lei", id="full-width-latin"),
        pytest.param("李\u3000雷", "李 雷", id="ideographic-space"),
        pytest.param("𠮷野", "𠮷野", id="han-extension-b"),
        pytest.param("王〇", "王〇", id="ideographic-zero"),
    ],
)
def test_names_accepted(raw: str, expected: str) -> None:
    assert normalize_name(raw) == expected


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        pytest.param("", "must not be empty", id="empty"),
        pytest.param(" \t\u3000 ", "must not be empty", id="blank"),
        pytest.param("张\x00三", "control characters", id="nul"),
        pytest.param("张\x07三", "control characters", id="bell"),
        pytest.param("张\x1c三", "control characters", id="file-separator"),
        pytest.param("张\u200b三", "control characters", id="zero-width-space"),
        pytest.param("张\u202e三", "control characters", id="bidi-override"),
        pytest.param("Zhang3", "may contain only", id="digit"),
        pytest.param("张三😀", "may contain only", id="emoji"),
        pytest.param("Иван", "may contain only", id="cyrillic"),
        pytest.param("张@三", "may contain only", id="at-sign"),
        pytest.param("·-.'", "must contain a letter", id="punctuation-only"),
    ],
)
def test_names_rejected(raw: str, why: str) -> None:
    with pytest.raises(ValidationError) as info:
        normalize_name(raw, field="people[0].name")
    assert why in reason(info, "people[0].name")


def test_name_length_counts_code_points() -> None:
    assert normalize_name("张" * 64) == "张" * 64
    assert normalize_name("𠮷" * 4, max_length=4) == "𠮷" * 4
    with pytest.raises(ValidationError) as info:
        normalize_name("张" * 65)
    assert reason(info, "name") == "must be at most 64 characters"


def test_name_length_is_measured_after_folding() -> None:
    assert normalize_name("Li     Lei", max_length=6) == "Li Lei"


# --- free text ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("  hello  ", "hello", id="stripped"),
        pytest.param("line 1\nline 2\tend", "line 1\nline 2\tend", id="lf-and-tab-kept"),
        pytest.param("a\r\nb\rc", "a\nb\nc", id="cr-folded-to-lf"),
        pytest.param(fullwidth("ABC 123"), "ABC 123", id="nfkc"),
        pytest.param(f"嫌疑人于 {fullwidth('2024')} 年逃离", "嫌疑人于 2024 年逃离", id="mixed"),
    ],
)
def test_text_accepted(raw: str, expected: str) -> None:
    assert normalize_text(raw, field="notes", max_length=100) == expected


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        pytest.param("", "must not be empty", id="empty"),
        pytest.param("a\x00b", "must not contain NUL characters", id="nul"),
        pytest.param("a\x1bb", "must not contain control characters", id="escape"),
        pytest.param("a\x7fb", "must not contain control characters", id="delete"),
        pytest.param("a\x85b", "must not contain control characters", id="c1-next-line"),
        pytest.param("a\ud800b", "must be valid Unicode text", id="lone-surrogate"),
        pytest.param("x" * 11, "must be at most 10 characters", id="too-long"),
    ],
)
def test_text_rejected(raw: str, why: str) -> None:
    with pytest.raises(ValidationError) as info:
        normalize_text(raw, field="notes", max_length=10)
    assert reason(info, "notes") == why


def test_text_may_be_empty_when_allowed() -> None:
    assert normalize_text("  ", field="notes", max_length=10, allow_empty=True) == ""


# --- dates -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("2024-02-29", id="iso"),
        pytest.param("20240229", id="basic"),
        pytest.param(" 2024-02-29 ", id="whitespace"),
        pytest.param(fullwidth("2024-02-29"), id="full-width"),
    ],
)
def test_dates_accepted(raw: str) -> None:
    assert parse_date(raw, field="dob", today=TODAY) == date(2024, 2, 29)


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        pytest.param("", "must be a date in the form YYYY-MM-DD", id="empty"),
        pytest.param("2024/02/29", "must be a date in the form YYYY-MM-DD", id="slashes"),
        pytest.param("2024-0229", "must be a date in the form YYYY-MM-DD", id="mixed-form"),
        pytest.param("2024-W09-4", "must be a date in the form YYYY-MM-DD", id="week-date"),
        pytest.param("24-02-29", "must be a date in the form YYYY-MM-DD", id="two-digit-year"),
        pytest.param("2023-02-29", "is not a real date", id="not-leap"),
        pytest.param("2024-13-01", "is not a real date", id="month-13"),
        pytest.param("0000-01-01", "is not a real date", id="year-0"),
        pytest.param("2026-01-02", "is in the future", id="tomorrow"),
    ],
)
def test_dates_rejected(raw: str, why: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse_date(raw, field="dob", today=TODAY)
    assert reason(info, "dob") == why


def test_today_is_not_the_future() -> None:
    assert parse_date("2026-01-01", field="dob", today=TODAY) == TODAY


def test_future_date_allowed_on_request() -> None:
    assert parse_date("2030-01-01", field="expires", allow_future=True) == date(2030, 1, 1)


# --- timestamps --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(
            "2024-05-01T08:30:00+08:00", datetime(2024, 5, 1, 8, 30, tzinfo=CST), id="offset"
        ),
        pytest.param("2024-05-01T00:30:00Z", datetime(2024, 5, 1, 0, 30, tzinfo=UTC), id="zulu"),
        pytest.param("2024-05-01t00:30z", datetime(2024, 5, 1, 0, 30, tzinfo=UTC), id="lower"),
        pytest.param(
            "2024-05-01 08:30:00+0800", datetime(2024, 5, 1, 8, 30, tzinfo=CST), id="space-hhmm"
        ),
        pytest.param(
            "2024-05-01T08:30:00.25+08:00",
            datetime(2024, 5, 1, 8, 30, 0, 250000, tzinfo=CST),
            id="fraction",
        ),
        pytest.param(
            "2024-05-01T08:30:00,25+08:00",
            datetime(2024, 5, 1, 8, 30, 0, 250000, tzinfo=CST),
            id="comma-fraction",
        ),
        pytest.param(
            fullwidth("2024-05-01T08:30:00+08:00"),
            datetime(2024, 5, 1, 8, 30, tzinfo=CST),
            id="full-width",
        ),
    ],
)
def test_timestamps_accepted(raw: str, expected: datetime) -> None:
    result = parse_timestamp(raw, field="occurred_at")
    assert result == expected
    assert result.utcoffset() == expected.utcoffset()


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        pytest.param("2024-05-01T08:30:00", "must carry a time zone", id="naive"),
        pytest.param("2024-05-01 08:30", "must carry a time zone", id="naive-minutes"),
        pytest.param("2024-05-01", "must be an ISO 8601 timestamp", id="date-only"),
        pytest.param("yesterday", "must be an ISO 8601 timestamp", id="words"),
        pytest.param("2024-05-01T08:30:00 +08:00", "must be an ISO 8601 timestamp", id="gap"),
        pytest.param("2024-02-30T08:30:00Z", "is not a real date and time", id="feb-30"),
        pytest.param("2024-05-01T24:30:00Z", "is not a real date and time", id="hour-24"),
        pytest.param("2024-05-01T08:30:00+24:00", "is not a real date and time", id="offset-24"),
    ],
)
def test_timestamps_rejected(raw: str, why: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse_timestamp(raw, field="occurred_at")
    assert why in reason(info, "occurred_at")


# --- sex ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        *(pytest.param(r, "M", id=f"male-{r.strip()}") for r in ["M", "m", " Male ", "MALE"]),
        *(pytest.param(r, "F", id=f"female-{r.strip()}") for r in ["F", "f", "Female", "fEmAlE"]),
        pytest.param("男", "M", id="nan"),
        pytest.param("女", "F", id="nv"),
        pytest.param(" 男 ", "M", id="nan-spaces"),
        pytest.param(fullwidth("F"), "F", id="full-width-f"),
    ],
)
def test_sex_accepted(raw: str, expected: str) -> None:
    assert normalize_sex(raw) == expected


@pytest.mark.parametrize("raw", ["", "X", "U", "unknown", "mf", "男女", "1"])
def test_sex_rejected(raw: str) -> None:
    with pytest.raises(ValidationError) as info:
        normalize_sex(raw)
    assert reason(info, "sex").startswith("must be M or F")


# --- privacy of error messages -----------------------------------------------------------

PRIVATE_FAILURES = [
    pytest.param(lambda: normalize_name("Secret\x07Name"), "Secret", id="name-control"),
    pytest.param(lambda: normalize_name("秘密😀"), "秘密", id="name-emoji"),
    pytest.param(lambda: normalize_name("秘" * 70), "秘秘秘", id="name-long"),
    pytest.param(
        lambda: normalize_text("secret\x00text", field="n", max_length=99), "secret", id="text"
    ),
    pytest.param(lambda: parse_date("1987-02-30", field="d"), "1987", id="date-unreal"),
    pytest.param(lambda: parse_date("0000-01-01", field="d"), "0000", id="date-year-0"),
    pytest.param(
        lambda: parse_timestamp("1987-06-05T04:03:02", field="t"), "1987", id="timestamp-naive"
    ),
    pytest.param(
        lambda: parse_timestamp("1987-06-05T04:03:02+25:00", field="t"),
        "1987",
        id="timestamp-bad-offset",
    ),
    pytest.param(lambda: normalize_sex("secretive"), "secret", id="sex"),
]


@pytest.mark.parametrize(("call", "secret"), PRIVATE_FAILURES)
def test_error_messages_never_contain_the_value(call: object, secret: str) -> None:
    assert callable(call)
    with pytest.raises(ValidationError) as info:
        call()
    texts = [str(info.value), *(e.reason for e in info.value.errors)]
    chained = info.value.__cause__ or (
        None if info.value.__suppress_context__ else info.value.__context__
    )
    if chained is not None:
        texts.append(str(chained))
    for text in texts:
        assert secret not in text
