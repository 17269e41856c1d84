"""CSV/TSV blocks read a column at a time find exactly what the cell-by-cell path finds."""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strongroom.scan import _columns
from strongroom.scan._detect import Scanner
from strongroom.scan._report import Report
from strongroom.scan._targets import _plain, read_target
from strongroom.scan._validate import resident_id
from strongroom.schema._resident_id import resident_id_check_char

KEY = b"c" * 32
HEADERS = ("姓名", "身份证号", "手机", "邮箱", "email", "name", "备注", "id", "contact", "x")


def _rid(rng: random.Random, *, valid: bool = True) -> str:
    area = rng.choice(("110105", "440524", "810000", "820013", "910000", "000000", "510104"))
    born = date(1850, 1, 1) + timedelta(days=rng.randint(0, 75_000))  # some in the future
    body = f"{area}{born:%Y%m%d}{rng.randint(0, 999):03d}"
    check = resident_id_check_char(body)
    if not valid:
        check = rng.choice("0123456789X".replace(check, ""))
    return body + (check.lower() if check == "X" and rng.random() < 0.5 else check)


def _value(rng: random.Random) -> str:
    pick = rng.randrange(14)
    if pick == 0:
        return _rid(rng)
    if pick == 1:
        return _rid(rng, valid=False)
    if pick == 2:
        return rng.choice(("138", "199", "170", "120", "145")) + f"{rng.randrange(10**8):08d}"
    if pick == 3:
        local = rng.choice(("u1", "a.b", "A_b", ".x", "x.", "a..b", "z" * 70, "Li", "x+y"))
        domain = rng.choice(("example.com", "163.com", "a.b.cc", "mail.qq.com", "x-.com", "e.c"))
        return f"{local}@{domain}"
    if pick == 4:
        return rng.choice(("张三", "欧阳娜娜", "买买提·艾力", "Anna Müller", "北京市", "李", ""))
    if pick == 5:
        return rng.choice(("会员等级3", "身份证 11010519491231002X", "手机13812345678", "n/a"))
    if pick == 6:
        return "6222021234567890128" if rng.random() < 0.5 else "E12345678"
    if pick == 7:
        return str(rng.randrange(10**20))[: rng.randint(1, 20)]
    if pick == 8:
        return "".join(chr(0xFF10 + int(d)) for d in "13812345678")  # full-width
    return ""


def _email(rng: random.Random) -> str:
    if rng.random() < 0.9:
        return f"u{rng.randrange(10**6)}@example.com"
    local = rng.choice(("u1", "a.b", "A_b", ".x", "x.", "a..b", "z" * 70, "Li", "x+y", "1"))
    domain = rng.choice(("example.com", "163.com", "a.b.cc", "a.b1.cc", "x-.com", "e.c", "Q.CN"))
    return f"{local}@{domain}"


def _mobile(rng: random.Random) -> str:
    prefix = "138" if rng.random() < 0.9 else rng.choice(("120", "145", "170", "199", "100"))
    return prefix + f"{rng.randrange(10**8):08d}"


def _table(rng: random.Random, rows: int) -> str:
    width = rng.randint(1, 6)
    header = rng.sample(HEADERS, width)
    # columns mostly of one kind (so that whole columns take the one-class passes), some mixed
    makers = [rng.choice((_value, _rid, _email, _mobile)) for _ in range(width)]
    lines = [",".join(header)]
    for _ in range(rows):
        cells = [make(rng) for make in makers[: rng.randint(width - 1, width)]]
        if rng.random() < 0.1:
            cells.append(_value(rng))  # a row longer than the header
        lines.append(",".join(cells))
    return "\n".join(lines) + "\n"


def _compare(path: Path, threshold: float, *, split: bool = True) -> None:
    scanner = Scanner(threshold, digest_key=KEY)
    blocks = list(read_target(path, blocks=True))
    assert any(len(row) == 1 and row[0].delimiter for row in blocks) == split
    by_columns = [f for row in blocks for f in scanner.scan_row(row)]
    by_cells = [f for row in read_target(path) for f in scanner.scan_row(row)]
    assert by_columns == by_cells
    for keep in (False, True):
        a, b = Report(samples=2, keep=keep), Report(samples=2, keep=keep)
        va: set[tuple[str, str]] = set()
        vb: set[tuple[str, str]] = set()
        for row in blocks:
            scanner.count_row(row, a, va if keep else None)  # type: ignore[arg-type]
        for row in read_target(path):
            scanner.count_row(row, b, vb if keep else None)  # type: ignore[arg-type]
        assert (a.counts, a.top, a.examples, a.findings, va) == (
            b.counts,
            b.top,
            b.examples,
            b.findings,
            vb,
        )


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32), threshold=st.sampled_from([0.5, 0.3, 0.9]))
def test_columns_find_what_cells_find(
    tmp_path_factory: pytest.TempPathFactory, seed: int, threshold: float
) -> None:
    path = tmp_path_factory.mktemp("t") / "table.csv"
    path.write_text(_table(random.Random(seed), rows=40), encoding="utf-8")
    _compare(path, threshold)


def test_columns_of_one_class(tmp_path: Path) -> None:
    rng = random.Random(3)
    rows = ["姓名,身份证号,手机,邮箱,城市"]
    for _ in range(3000):
        rows.append(
            f"张三,{_rid(rng)},138{rng.randrange(10**8):08d},u{rng.randrange(10**6)}@example.com,北京市"
        )
    path = tmp_path / "people.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    _compare(path, 0.5)
    counts = Report()
    for row in read_target(path, blocks=True):
        Scanner(digest_key=KEY).count_row(row, counts, None)
    assert counts.counts["mobile"] == counts.counts["email"] == counts.counts["name"] == 3000
    assert len(counts.examples["resident_id"]) == 3


_GOOD_ID = "11010519491231002X"
_ODD = {
    "邮箱": [
        ".x@example.com",
        "x.@example.com",
        "a..b@example.com",
        "z" * 64 + "@e.com",
        "z" * 65 + "@e.com",
        "a@b.c",
        "a@x.b1.cc",
        "a@-x.com",
        "a@x-.com",
        "A@Example.COM",
        "a@x.c0m",
        "a@b@c.com",
        "ab@" + "x" * 64 + ".com",
        "ab@x." + "c" * 64,
        "Li Lei@x.com",
    ],
    "手机": ["12012345678", "1381234567", "138123456789", "13812345678", "8613812345678"],
    "身份证号": [
        _GOOD_ID.lower(),
        _GOOD_ID[:17] + "3",
        "11010520991231" + "002",
        "110105194902300021",
        "110105184912310021",
        "810105194912310021",
        "000105194912310021",
        "11010519491231002",
        "110105194912310021",
    ],
}


@pytest.mark.parametrize(("header", "odd"), [(h, v) for h, values in _ODD.items() for v in values])
def test_one_odd_value_in_a_column_of_one_class(tmp_path: Path, header: str, odd: str) -> None:
    rng = random.Random(5)
    good = {
        "邮箱": lambda: f"u{rng.randrange(10**6)}@example.com",
        "手机": lambda: f"138{rng.randrange(10**8):08d}",
        "身份证号": lambda: (
            _GOOD_ID[:14]
            + (body := f"{rng.randrange(1000):03d}")
            + resident_id_check_char(_GOOD_ID[:14] + body)
        ),
    }[header]
    rows = [f"{header},备注"] + [f"{good()},n" for _ in range(50)]
    rows[25] = f"{odd},n"
    path = tmp_path / "odd.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    for threshold in (0.5, 0.3):
        _compare(path, threshold)


@settings(max_examples=300, deadline=None)
@given(seed=st.integers(0, 2**32))
def test_known_valid_numbers_are_valid(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(20):
        _columns._learn(_rid(rng))  # teaches only what the validator accepts
    number = _rid(rng, valid=rng.random() < 0.7)
    if rng.random() < 0.5:  # a digit changed
        i = rng.randrange(17)
        number = number[:i] + str((int(number[i]) + rng.randint(1, 9)) % 10) + number[i + 1 :]
    if _columns._known_valid(number):
        assert resident_id(number) is not None


@given(first17=st.text("0123456789", min_size=17, max_size=17))
def test_check_characters_are_the_validators(first17: str) -> None:
    assert _columns._CHECK[int(first17, 13) * 2 % 11] == resident_id_check_char(first17)


@pytest.mark.parametrize(
    "head",
    [
        "姓名,身份证号,手机\n",
        "\n姓名,身份证号,手机\n",
        '"姓名","身份证号",手机\n',
        "姓名,身份证号,手机\r\n",
    ],
    ids=["plain", "empty-first-line", "quoted-header", "crlf-header"],
)
def test_table_blocks_as_bytes_then_the_csv_module(
    tmp_path: Path, head: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from strongroom.scan._run import Options, run
    from strongroom.scan._split import Unit, plan

    monkeypatch.setattr("strongroom.scan._targets._BLOCK", 2048)
    rng = random.Random(9)
    rows = [f"张三,{_rid(rng)},{_mobile(rng)}" for _ in range(400)]
    rows[150] = '"李四","11010519491231002X","备注\n跨行 13812345678"'  # quotes from here on
    rows[300] = "王五,\udcff,13912345678\r"  # a carriage return, undecodable bytes
    data = (head + "\n".join(rows) + "\n").encode("utf-8", "surrogateescape")
    path = tmp_path / "mixed.csv"
    path.write_bytes(data)
    _compare(path, 0.5, split=_plain(head.encode()))  # else the csv module reads it all
    if head.startswith("\n"):
        return  # ranges take the file's first line as the header (even an empty one)
    options = Options(0.5, KEY, keep=True)
    whole = run([Unit(str(path))], options).findings
    ranges = run(list(plan([path], chunk_bytes=4096)), options).findings
    assert len(whole) > 1000 and ranges == whole


def test_what_a_scanner_remembers_of_columns_is_bounded(tmp_path: Path) -> None:
    scanner = Scanner(digest_key=KEY)
    found = []
    for i in range(100):  # a hundred files, each with headers of its own
        path = tmp_path / f"t{i}.csv"
        path.write_text(f"身份证号{i},手机{i}\n{_GOOD_ID},13812345678\n", encoding="utf-8")
        found += [f.kind for row in read_target(path, blocks=True) for f in scanner.scan_row(row)]
        assert len(scanner._columns) <= 64
    assert found == ["resident_id", "mobile"] * 100
