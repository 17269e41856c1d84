"""Scan targets: every format read as rows of chunks with their column or key as context."""

from __future__ import annotations

import gzip
import json
import sqlite3
import zipfile
from collections import Counter
from pathlib import Path

import pytest

from strongroom.scan import Scanner, write_leak_corpus
from strongroom.scan._targets import expand, read_target

ID = "11010519491231002X"


def _texts(path: Path) -> list[tuple[str, tuple[str, ...]]]:
    """Each chunk's text (a text block read as bytes: its decoded bytes) and context."""
    return [
        (c.data.decode("utf-8", "replace") if c.data is not None else c.text, c.context)
        for row in read_target(path)
        for c in row
    ]


def test_csv_and_tsv_cells_carry_their_header(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text(f"姓名,身份证号\n王小明,{ID}\n", encoding="utf-8")
    (tmp_path / "a.tsv").write_text(f"name\tid\n王小明\t{ID}\n", encoding="utf-8")
    assert (ID, ("身份证号",)) in _texts(tmp_path / "a.csv")
    assert ("王小明", ("name",)) in _texts(tmp_path / "a.tsv")
    [row] = [r for r in read_target(tmp_path / "a.csv") if r[0].location.line == 2]
    assert [c.location.column for c in row] == [1, 2]


def test_json_and_jsonl_values_carry_their_key_path(tmp_path: Path) -> None:
    obj = {"person": {"name": "王小明", "ids": [ID]}, "n": 7, "flag": True}
    (tmp_path / "a.json").write_text(json.dumps([obj]), encoding="utf-8")
    (tmp_path / "a.jsonl").write_text(json.dumps(obj) + "\nnot json\n", encoding="utf-8")
    assert (ID, ("person", "ids")) in _texts(tmp_path / "a.json")
    texts = _texts(tmp_path / "a.jsonl")
    assert ("王小明", ("person", "name")) in texts
    assert ("not json", ()) in texts
    assert ("True", ("flag",)) not in texts


def test_sql_dump_inserts_and_copy_blocks(tmp_path: Path) -> None:
    dump = (
        "-- dump\n"
        f"INSERT INTO people (name, rid) VALUES ('王''小明', '{ID}'), ('李四', NULL);\n"
        "COPY public.calls (caller, phone) FROM stdin;\n"
        "张三\t13812345678\n"
        "\\.\n"
    )
    (tmp_path / "d.sql").write_text(dump, encoding="utf-8")
    texts = _texts(tmp_path / "d.sql")
    assert (ID, ("rid",)) in texts
    assert ("王'小明", ("name",)) in texts
    assert ("13812345678", ("phone",)) in texts


def test_sqlite_gzip_zip_and_text(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, phone TEXT)")
        conn.execute("INSERT INTO t (phone) VALUES ('13812345678')")
    conn.close()
    assert ("13812345678", ("phone",)) in _texts(db)
    (tmp_path / "c.csv.gz").write_bytes(gzip.compress(f"rid\n{ID}\n".encode()))
    assert (ID, ("rid",)) in _texts(tmp_path / "c.csv.gz")
    with zipfile.ZipFile(tmp_path / "z.zip", "w") as zf:
        zf.writestr("in/a.csv", f"rid\n{ID}\n")
        zf.writestr("log.txt", f"called {ID}\n")
    texts = _texts(tmp_path / "z.zip")
    assert (ID, ("rid",)) in texts and (f"called {ID}", ()) in texts
    (tmp_path / "b.log").write_bytes(b"bad \xff byte " + ID.encode() + b"\n")
    assert _texts(tmp_path / "b.log")[0][0].endswith(ID)
    assert [p.name for p in expand([tmp_path])] == sorted(
        p.name for p in tmp_path.iterdir() if p.is_file()
    )


def test_parquet_string_columns_in_batches(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    n = 20_000  # three batches
    table = pa.table(
        {
            "id": list(range(n)),
            "phone": [f"138{i:08d}" for i in range(n)],
            "note": pa.array(["a", None] * (n // 2)).dictionary_encode(),
        }
    )
    pq.write_table(table, tmp_path / "calls.parquet", row_group_size=5_000)
    rows = list(read_target(tmp_path / "calls.parquet"))
    assert len(rows) == n
    last = rows[-1]
    assert [c.text for c in last] == [f"138{n - 1:08d}"]  # no number column, no null
    assert last[0].location.target.endswith("calls.parquet:calls.phone")
    assert last[0].location.row_key == str(n - 1)
    assert [c.text for c in rows[0]] == ["13800000000", "a"]
    assert rows[0][1].context == ("note",)


def test_parquet_corpus_precision_and_recall(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    answers = write_leak_corpus(tmp_path, seed=5)
    scanner = Scanner(digest_key=b"k" * 32)
    truth: Counter[tuple[str, str, str, str]] = Counter()
    for line in answers.read_text(encoding="utf-8").splitlines():
        a = json.loads(line)
        if a["file"] == "customers.parquet" and a["label"] == "tp":
            digest = scanner.digest(a["kind"], a["value"])
            truth[a["column"], str(a["row"]), a["kind"], digest] += 1
    found: Counter[tuple[str, str, str, str]] = Counter()
    for row in read_target(tmp_path / "customers.parquet"):
        for f in scanner.scan_row(row):
            column = f.location.target.rsplit(".", 1)[-1]
            found[column, f.location.row_key or "", f.kind, f.value_digest] += 1
    for kind in ("resident_id", "mobile", "email", "name"):
        t = Counter({k: v for k, v in truth.items() if k[2] == kind})
        f = Counter({k: v for k, v in found.items() if k[2] == kind})
        hit = sum((t & f).values())
        precision, recall = hit / max(1, sum(f.values())), hit / max(1, sum(t.values()))
        assert sum(t.values()) > 50, kind
        if kind in ("resident_id", "mobile"):
            assert precision >= 0.99 and recall >= 0.99, (kind, precision, recall)
