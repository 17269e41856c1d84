"""Detectors, scoring, masks, the prefilter engines, and precision/recall on the leak corpus."""

from __future__ import annotations

import csv
import gzip
import io
import json
import random
import sqlite3
import sys
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strongroom.scan import _prefilter
from strongroom.scan._corpus import write_leak_corpus
from strongroom.scan._detect import Scanner
from strongroom.scan._model import Chunk, Finding, Location
from strongroom.scan._prefilter import Prefilter, hyperscan_available
from strongroom.scan._targets import read_target

KEY = b"k" * 32
RID = "11010519491231002X"  # the GB 11643-1999 example number
RID2 = "440524188001010014"
MOBILE = "13812345678"
CARD = "6222021234567890128"  # UnionPay 19 digits, Luhn-valid
ENGINES = [
    "re",
    pytest.param(
        "hyperscan",
        marks=pytest.mark.skipif(not hyperscan_available(), reason="hyperscan cannot load here"),
    ),
]


def fw(text: str) -> str:
    """Full-width digits, plus sign and letters."""
    out = []
    for ch in text:
        if ch.isascii() and (ch.isalnum() or ch == "+"):
            out.append(chr(ord(ch) + 0xFEE0))
        else:
            out.append(ch)
    return "".join(out)


def scan(
    text: str, *, engine: str = "auto", threshold: float = 0.5, context: tuple[str, ...] = ()
) -> list[Finding]:
    scanner = Scanner(threshold, engine=engine, digest_key=KEY)  # type: ignore[arg-type]
    return scanner.scan(Chunk(text, Location("t", 1, 1), context))


def kinds(text: str, **kw: object) -> list[tuple[str, str]]:
    return [(f.kind, f.masked) for f in scan(text, **kw)]  # type: ignore[arg-type]


# ---- resident IDs


@pytest.mark.parametrize(
    "spelling",
    [
        RID,
        RID.lower(),
        fw(RID),
        f"{RID[:6]} {RID[6:14]} {RID[14:]}",
        f"{RID[:6]}-{RID[6:14]}-{RID[14:]}",
    ],
    ids=["plain", "lower-x", "full-width", "spaced", "dashed"],
)
def test_resident_id_spellings(spelling: str) -> None:
    assert kinds(f"证件 {spelling} end") == [("resident_id", "110105********002X")]


def test_resident_id_legacy_15_digits() -> None:
    legacy = RID2[:6] + RID2[8:17]  # 440524 800101 001: born 1880, read as 1980
    found = scan(f"旧证 {legacy}")
    assert [(f.kind, f.masked, f.confidence) for f in found] == [
        ("resident_id", "440524*****1001", 0.5)
    ]
    legacy = RID[:6] + RID[8:17]
    (found_legacy,) = scan(legacy)
    scanner = Scanner(digest_key=KEY)
    assert found_legacy.value_digest == scanner.digest("resident_id", RID)  # upgraded to 18


@pytest.mark.parametrize(
    "near_miss",
    [
        RID[:16] + "3X",  # one digit wrong
        "110105194902302X",  # not 18 digits
        "110105194902300021",  # 30 February
        "202401311234567890",  # order number
        "20240131235959123456",  # timestamp
        "9" + RID,  # inside a longer number
        RID[:17] + "5" + "0",
        "A" + RID,  # glued to letters
    ],
)
def test_resident_id_near_misses(near_miss: str) -> None:
    assert [f for f in scan(f"身份证号 {near_miss}") if f.kind == "resident_id"] == []


# ---- mobiles


@pytest.mark.parametrize(
    "spelling",
    [
        MOBILE,
        "138 1234 5678",
        "138-1234-5678",
        "+86 13812345678",
        "+8613812345678",
        "+86 138 1234 5678",
        "+86-138-1234-5678",
        "008613812345678",
        "0086 13812345678",
        "0086-138-1234-5678",
        "8613812345678",
        "86-13812345678",
        "(+86) 13812345678",
        "\uff08\uff0b86\uff09138 1234 5678",
        fw(MOBILE),
        fw("+86 13812345678"),
        "138 12345678",
    ],
)
def test_mobile_spellings(spelling: str) -> None:
    assert kinds(f"x {spelling} y") == [("mobile", "138****5678")]


@pytest.mark.parametrize(
    "near_miss",
    [
        "12012345678",
        "10012345678",
        "11112345678",
        "14012345678",
        "99" + MOBILE + "123",
        MOBILE + "0",
        "1" + MOBILE,
        "3." + MOBILE,
        "ab" + MOBILE,
        "01012345678",
    ],
)
def test_mobile_near_misses(near_miss: str) -> None:
    assert [f for f in scan(f"手机 {near_miss}") if f.kind == "mobile"] == []


def test_two_mobiles_side_by_side() -> None:
    assert kinds("13812345678 13912345678") == [
        ("mobile", "138****5678"),
        ("mobile", "139****5678"),
    ]


def test_mobile_in_email_is_an_email() -> None:
    assert kinds("13812345678@qq.com") == [("email", "1***@qq.com")]


# ---- bank cards


@pytest.mark.parametrize(
    "spelling",
    [CARD, "6222 0212 3456 7890 128", "6222-0212-3456-7890-128", fw(CARD)],
)
def test_card_spellings(spelling: str) -> None:
    assert kinds(f"卡号 {spelling}") == [("bank_card", "622202*********0128")]


@pytest.mark.parametrize(
    "number", ["4111111111111111", "5555555555554444", "378282246310005", "3530111333300000"]
)
def test_international_cards(number: str) -> None:
    assert [f.kind for f in scan(number)] == ["bank_card"]


@pytest.mark.parametrize(
    "near_miss", ["6222021234567890127", "9222021234567890128", "1" + CARD, "4111111111111"]
)
def test_card_near_misses(near_miss: str) -> None:
    assert scan(f"card {near_miss}") == []


# ---- passports and emails


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("E12345678", "E******78"),
        ("EA1234567", "EA*****67"),
        ("G12345678", "G******78"),
        ("D1234567", "D*****67"),
        ("SE1234567", "SE*****67"),
        ("P1234567", "P*****67"),
        (fw("E12345678"), "E******78"),
    ],
)
def test_passports(value: str, masked: str) -> None:
    assert kinds(f"护照 {value}") == [("passport", masked)]


@pytest.mark.parametrize(
    "near_miss", ["E1234567", "EI1234567", "A12345678", "XE12345678", "E123456789"]
)
def test_passport_near_misses(near_miss: str) -> None:
    assert scan(f"passport {near_miss}") == []


def test_passport_without_context_is_at_threshold() -> None:
    assert [f.confidence for f in scan("E12345678")] == [0.5]


@pytest.mark.parametrize(
    "address", ["a.b@example.com", "Zhang.San+x@mail.Example.CN", "12345@qq.com"]
)
def test_emails(address: str) -> None:
    found = scan(f"mailto:{address}.")
    assert [f.kind for f in found] == ["email"]
    assert found[0].masked == address[0] + "***@" + address.split("@")[1]


@pytest.mark.parametrize(
    "near_miss", ["a@localhost", "a..b@example.com", "a@-x.com", "@example.com"]
)
def test_email_near_misses(near_miss: str) -> None:
    assert scan(near_miss) == []


# ---- names


@pytest.mark.parametrize("header", ["姓名", "name", "full_name", "firstName", "联系人"])
def test_name_in_name_column(header: str) -> None:
    found = scan(" 王小明 ", context=(header,))
    assert [(f.kind, f.masked, f.confidence) for f in found] == [("name", "王*", 0.9)]


def test_name_elsewhere_needs_a_neighbour() -> None:
    scanner = Scanner(digest_key=KEY)
    alone = [Chunk("王小明", Location("t", 1, 1), ("c1",), row=1)]
    assert scanner.scan_row(alone) == []
    row = [*alone, Chunk(MOBILE, Location("t", 1, 5), ("c2",), row=1)]
    assert sorted(f.kind for f in scanner.scan_row(row)) == ["mobile", "name"]
    place = [Chunk("黄浦区", Location("t", 1, 1), ("c1",)), row[1]]
    assert [f.kind for f in scanner.scan_row(place)] == ["mobile"]


def test_name_after_a_key_in_text() -> None:
    assert kinds('{"name": "欧阳娜娜", "x": 1}') == [("name", "欧*")]
    assert kinds("姓名\uff1a李四\uff0c男") == [("name", "李*")]
    assert kinds("file_name=报告") == []


# ---- scoring and locations


def test_scoring_ladder() -> None:
    assert [f.confidence for f in scan(RID)] == [0.7]
    assert [f.confidence for f in scan(f"身份证号码: {RID}")] == [1.0]
    assert [f.confidence for f in scan(RID, context=("id_number",))] == [1.0]
    assert [f.confidence for f in scan(MOBILE)] == [0.6]
    assert [f.confidence for f in scan(f"tel {MOBILE}")] == [0.9]
    bad = RID[:16] + "3X"
    assert scan(f"身份证 {bad}") == []
    found = scan(f"身份证 {bad}", threshold=0.3)
    assert [(f.kind, f.validated, f.confidence) for f in found] == [("resident_id", False, 0.4)]


def test_context_word_must_be_near() -> None:
    far = "手机" + "。" * 60 + MOBILE
    assert [f.context_hit for f in scan(far)] == [False]
    assert [f.context_hit for f in scan("validity " + MOBILE)] == [False]


def test_locations_and_digests() -> None:
    scanner = Scanner(digest_key=KEY)
    chunk = Chunk(f"a\nbb {MOBILE}\n{RID}", Location("f.txt", 10, 1))
    found = scanner.scan(chunk)
    assert [(f.location.line, f.location.column) for f in found] == [(11, 4), (12, 1)]
    assert found[0].value_digest == scanner.digest("mobile", "+86" + MOBILE)
    assert MOBILE not in repr(found[0])


def test_kinds_and_threshold_are_checked() -> None:
    assert [
        f.kind for f in Scanner(kinds=["mobile"]).scan(Chunk(f"{RID} {MOBILE}", Location("t")))
    ] == ["mobile"]
    with pytest.raises(ValueError, match="threshold"):
        Scanner(1.5)
    with pytest.raises(ValueError, match="unknown kinds"):
        Scanner(kinds=["ssn"])  # type: ignore[list-item]


# ---- engines

MIXED = (
    f"姓名\uff1a张三 证件 {fw(RID)} 电话 +86 138 1234 5678 邮箱 zhang.san@example.com "
    f"卡 6222 0212 3456 7890 128 护照 E12345678 订单 202401311234567890 "
) * 3


@pytest.mark.skipif(not hyperscan_available(), reason="hyperscan cannot load here")
def test_engines_give_the_same_findings() -> None:
    hs = Scanner(engine="hyperscan", digest_key=KEY)
    fallback = Scanner(engine="re", digest_key=KEY)
    assert hs.engine == "hyperscan" and fallback.engine == "re"
    chunk = Chunk(MIXED, Location("t", 1, 1))
    assert hs.scan(chunk) == fallback.scan(chunk)
    assert len(hs.scan(chunk)) == 18


def test_falls_back_to_re_when_hyperscan_cannot_load(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "hyperscan", None)  # import raises ImportError
    _prefilter._database.cache_clear()
    try:
        assert not hyperscan_available()
        assert Prefilter().engine == "re"
        assert Scanner().engine == "re"
        with pytest.raises(RuntimeError, match="hyperscan"):
            Prefilter("hyperscan")
        assert len(Scanner(digest_key=KEY).scan(Chunk(MIXED, Location("t", 1, 1)))) == 18
    finally:
        _prefilter._database.cache_clear()


@pytest.mark.parametrize("engine", ENGINES)
def test_windows_hold_whole_tokens(engine: str) -> None:
    text = "x" * 500 + " 电话 " + "\uff0b86 138 1234 5678" + " y" * 300
    prefilter = Prefilter(engine)  # type: ignore[arg-type]
    ((start, end),) = prefilter.windows(text)
    assert text[start:end].strip() == "\uff0b86 138 1234 5678"


# ---- the labelled corpus

Key = tuple[str, int, str, str]


def _text_chunks(file: str, text: str) -> Iterator[list[Chunk]]:
    """Rows of chunks: a CSV/TSV line split into cells under their headers, else the line."""
    lines = text.split("\n")
    delimiter = "\t" if file.endswith(".tsv") else "," if file.endswith(".csv") else None
    header: list[str] = []
    for number, line in enumerate(lines, start=1):
        if not line:
            continue
        if delimiter is None:
            yield [Chunk(line, Location(file, number, 1), row=number)]
            continue
        cells = next(csv.reader(io.StringIO(line), delimiter=delimiter))
        if number == 1:
            header = cells
            continue
        yield [
            Chunk(c, Location(file, number, 1), (h,), row=number)
            for h, c in zip(header, cells, strict=True)
        ]


def _sqlite_chunks(path: Path) -> Iterator[list[Chunk]]:
    with sqlite3.connect(path) as db:
        columns = [r[1] for r in db.execute("PRAGMA table_info(customers)")][1:]
        for row in db.execute("SELECT * FROM customers"):
            yield [
                Chunk(value, Location(path.name, row_key=str(row[0])), (column,), row=row[0])
                for column, value in zip(columns, row[1:], strict=True)
                if value
            ]
    db.close()


def _corpus_rows(root: Path) -> Iterator[list[Chunk]]:
    for path in sorted(root.iterdir()):
        name = path.name
        if name == "answers.jsonl":
            continue
        if name.endswith(".gz"):
            yield from _text_chunks(name, gzip.decompress(path.read_bytes()).decode())
        elif name.endswith(".zip"):
            with zipfile.ZipFile(path) as archive:
                for member in archive.namelist():
                    yield from _text_chunks(f"{name}!{member}", archive.read(member).decode())
        elif name.endswith(".sqlite"):
            yield from _sqlite_chunks(path)
        elif name.endswith(".parquet"):  # positions are 0-based rows, as in the answer key
            for row in read_target(path):
                yield [replace(c, location=Location(name, row_key=c.location.row_key)) for c in row]
        else:
            yield from _text_chunks(name, path.read_text())


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_leak_corpus(tmp_path_factory.mktemp("corpus"), seed=11).parent


def test_corpus_is_deterministic(corpus: Path, tmp_path: Path) -> None:
    again = write_leak_corpus(tmp_path, seed=11).parent
    for path in sorted(corpus.iterdir()):
        assert (again / path.name).read_bytes() == path.read_bytes(), path.name
    assert (
        write_leak_corpus(tmp_path / "other", seed=12).read_bytes()
        != (corpus / "answers.jsonl").read_bytes()
    )


def test_corpus_has_every_format_and_label(corpus: Path) -> None:
    answers = [json.loads(line) for line in (corpus / "answers.jsonl").read_text().splitlines()]
    files = {a["file"] for a in answers}
    assert files >= {
        "people.csv",
        "contacts.tsv",
        "records.json",
        "events.jsonl",
        "dump.sql",
        "app.log",
        "old.log.gz",
        "bundle.zip!customers.csv",
        "bundle.zip!notes.txt",
        "leak.sqlite",
    }
    labels = Counter((a["kind"], a["label"]) for a in answers)
    for kind in ("resident_id", "mobile", "bank_card", "passport", "email"):
        assert labels[kind, "tp"] > 50 and labels[kind, "near_miss"] > 10, kind
    whys = {a["why"] for a in answers if a["label"] == "near_miss"}
    assert {
        "order number",
        "timestamp",
        "one digit wrong",
        "unallocated",
        "inside a longer number",
        "fails the Luhn check",
    } <= whys


@pytest.mark.parametrize("engine", ENGINES)
def test_corpus_precision_and_recall(corpus: Path, engine: str) -> None:
    scanner = Scanner(engine=engine, digest_key=KEY)  # type: ignore[arg-type]
    truth: Counter[Key] = Counter()
    for line in (corpus / "answers.jsonl").read_text().splitlines():
        a = json.loads(line)
        if a["label"] == "tp":
            position = a["line"] if "line" in a else a["row"]
            truth[a["file"], position, a["kind"], scanner.digest(a["kind"], a["value"])] += 1
    found: Counter[Key] = Counter()
    for row in _corpus_rows(corpus):
        for f in scanner.scan_row(row):
            position = (
                f.location.line if f.location.line is not None else int(f.location.row_key or 0)
            )
            found[f.location.target, position, f.kind, f.value_digest] += 1

    report = {}
    for kind in ("resident_id", "mobile", "bank_card", "passport", "email", "name"):
        t = Counter({k: n for k, n in truth.items() if k[2] == kind})
        f = Counter({k: n for k, n in found.items() if k[2] == kind})
        hit = sum((t & f).values())
        precision = hit / max(1, sum(f.values()))
        recall = hit / max(1, sum(t.values()))
        report[kind] = (round(precision, 4), round(recall, 4), sum(t.values()))
    print(f"\nprecision, recall, true positives ({engine}):")
    for kind, values in report.items():
        print(f"  {kind:12} {values}")
    for kind in ("resident_id", "mobile"):
        precision, recall, _ = report[kind]
        assert precision >= 0.99 and recall >= 0.99, (kind, report[kind])


@pytest.mark.parametrize("engine", ENGINES)
def test_full_width_at_sign_and_uneven_groups_are_found(engine: str) -> None:
    # the prefilter folds before it looks: full-width at signs and dots are an address's; groups
    # of 5-3-3 digits joined by ideographic spaces are one mobile
    scanner = Scanner(engine=engine, digest_key=KEY)  # type: ignore[arg-type]
    text = "邮箱 zhang\uff20example\uff0ecom 手机 13812\u3000345\u3000678 单 60110000000000000001"
    found = scanner.scan(Chunk(text, Location("t", 1, 1)))
    assert [(f.kind, f.masked) for f in found] == [
        ("email", "z***@example.com"),
        ("mobile", "138****5678"),
    ]
    low = Scanner(0.3, engine=engine, digest_key=KEY)  # type: ignore[arg-type]
    assert [f.kind for f in low.scan(Chunk("x 13012345678901 y", Location("t")))] == ["bank_card"]


# ---- lone digit runs that fail validation: their lines are not read

_AROUND = ("", " ", "/", "=", "+", "(", ")", "-", ".", "@", "_", "x", "X", "E", "号", "\t", ",")
_AROUND += (
    ":",
    "\uff08",
    "\uff09",
    "手机 ",
    "身份证",
    "13 ",
    "name: 张三 ",
    "张三 ",
    " 5",
    "a@b.cc ",
)


def _number(rng: random.Random) -> str:
    pick = rng.randrange(7)
    if pick == 0:
        return RID if rng.random() < 0.5 else RID[:17] + "5"  # valid, wrong check character
    if pick == 1:
        return MOBILE if rng.random() < 0.5 else "12012345678"
    if pick == 2:
        return CARD if rng.random() < 0.5 else CARD[:-1] + "9"  # Luhn-valid, or not
    if pick == 3:  # valid only with the group before it ("13 ", "62 ")
        return rng.choice((MOBILE[2:], CARD[2:], RID[:17]))
    return "".join(rng.choice("0123456789") for _ in range(rng.randint(11, 20)))


@given(seed=st.integers(0, 2**32))
@settings(max_examples=40, deadline=None)
def test_lines_of_dead_numbers_are_skipped_exactly(
    seed: int, tmp_path_factory: pytest.TempPathFactory
) -> None:
    rng = random.Random(seed)
    lines = [
        " ".join(
            rng.choice(_AROUND) + _number(rng) + rng.choice(_AROUND)
            for _ in range(rng.randint(1, 3))
        )
        for _ in range(60)
    ]
    path = tmp_path_factory.mktemp("dead") / "app.log"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    for threshold in (0.5, 0.45, 0.9, 0.3):
        scanner = Scanner(threshold, digest_key=KEY)
        skipped = [f for row in read_target(path) for f in scanner.scan_row(row)]
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr("strongroom.scan._detect._dead_number", lambda data, end: False)
            read_all = [f for row in read_target(path) for f in scanner.scan_row(row)]
        assert skipped == read_all
