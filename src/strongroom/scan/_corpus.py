"""The labelled leak corpus: files in every format the scanner reads, with an answer key.

:func:`write_leak_corpus` writes, for a seed, byte-identical files:

=====================  ==========================================================
file                   layout
=====================  ==========================================================
``people.csv``         Chinese headers (姓名, 身份证号, 手机 …), one person a row
``contacts.tsv``       headers ``c1``..``c7`` that say nothing (no context)
``records.json``       a pretty-printed array, one key a line
``events.jsonl``       one event a line, the person nested under ``user``
``dump.sql``           ``CREATE TABLE``, one ``INSERT`` a row, a ``COPY … FROM stdin`` block
``app.log``            log lines: free text, ``key=value`` pairs, trace ids, timestamps
``old.log.gz``         another log, gzipped (lines count inside the decompressed text)
``bundle.zip``         ``customers.csv`` (English headers) and ``notes.txt`` (prose)
``leak.sqlite``        table ``customers``; positions are ``row`` (the ``id``) and column
``customers.parquet``  only when ``pyarrow`` can be imported; positions are 0-based rows
=====================  ==========================================================

``answers.jsonl`` holds one object a line: ``file`` (``bundle.zip!notes.txt`` inside an
archive), ``line`` (1-based, text files) or ``table``/``column``/``row`` (SQLite, Parquet),
``kind``, ``label`` (``"tp"`` or ``"near_miss"``), ``value`` (the normalised true value:
18-character ID, E.164 mobile, card digits, upper-case passport, lower-case email, name) and
``raw`` (the spelling in the file). Near misses carry ``why`` instead of ``value``. The data
are synthetic (:func:`strongroom.synth.generate_persons`); nothing describes a real person.
"""

from __future__ import annotations

import csv
import gzip
import importlib
import io
import json
import random
import sqlite3
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

from strongroom.scan._corpus_values import Values, national
from strongroom.scan._validate import mobile_ok
from strongroom.synth import SynthPerson, generate_persons

__all__ = ["SIZES", "write_leak_corpus"]

#: rows per table-like file for each size
SIZES: Final = {"small": 150, "medium": 3_000, "large": 30_000}

#: a cell: (text in the file, kind or None, normalised value or None, near-miss reason or None)
_Cell = tuple[str, str | None, str | None, str | None]
_FIELDS: Final = ("name", "resident_id", "mobile", "bank_card", "email", "passport", "note")


class _Key:
    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def add(self, cell: _Cell, file: str, **where: Any) -> None:
        raw, kind, value, why = cell
        if kind is None:
            return
        entry: dict[str, Any] = {"file": file, **where, "kind": kind, "raw": raw}
        if why is None:
            entry.update(label="tp", value=value)
        else:
            entry.update(label="near_miss", why=why)
        self.rows.append(entry)


class _People:
    """Persons and their cells, drawn for one file."""

    def __init__(self, persons: Iterator[SynthPerson], seed: int, file: str) -> None:
        self._persons = persons
        # synthetic data drawn reproducibly from the seed, not secrets
        self.values = Values(random.Random(f"leak-corpus:{seed}:{file}"))  # noqa: S311

    def cells(self) -> dict[str, _Cell]:
        v = self.values
        rng = v.rng
        person = next(self._persons)
        numbers = [national(p) for p in person.phones if mobile_ok(national(p))]
        cells: dict[str, _Cell] = {"name": (person.name, "name", person.name, None)}
        raw, value = v.resident_id(person)
        cells["resident_id"] = (raw, "resident_id", value, None)
        empty: _Cell = ("", None, None, None)
        if numbers:
            raw, value = v.mobile(numbers[0])
            cells["mobile"] = (raw, "mobile", value, None)
        else:
            cells["mobile"] = empty
        if rng.random() < 0.6:
            raw, value = v.bank_card()
            cells["bank_card"] = (raw, "bank_card", value, None)
        else:
            cells["bank_card"] = empty
        if rng.random() < 0.7:
            raw, value = v.email()
            cells["email"] = (raw, "email", value, None)
        else:
            cells["email"] = empty
        if rng.random() < 0.4:
            raw, value = v.passport()
            cells["passport"] = (raw, "passport", value, None)
        else:
            cells["passport"] = empty
        if rng.random() < 0.6:
            raw, imitates, why = v.near_miss(person)
            cells["note"] = (raw, imitates, None, why)
        else:
            cells["note"] = (v.noise(), None, None, None)
        return cells


def _csv_text(
    file: str, header: list[str], people: _People, rows: int, key: _Key, delimiter: str = ","
) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    for line in range(2, rows + 2):
        cells = people.cells()
        writer.writerow([cells[f][0] for f in _FIELDS])
        for f in _FIELDS:
            key.add(cells[f], file, line=line)
    return buffer.getvalue()


def _json_text(file: str, people: _People, rows: int, key: _Key) -> str:
    lines = ["["]
    names = {"mobile": "phone", "note": "remark"}
    for index in range(rows):
        cells = people.cells()
        lines.append("  {")
        present = [f for f in _FIELDS if cells[f][0]]
        for position, f in enumerate(present):
            comma = "," if position < len(present) - 1 else ""
            member = json.dumps(cells[f][0], ensure_ascii=False)
            lines.append(f"    {json.dumps(names.get(f, f))}: {member}{comma}")
            key.add(cells[f], file, line=len(lines))
        lines.append("  }," if index < rows - 1 else "  }")
    lines.append("]")
    return "\n".join(lines) + "\n"


def _jsonl_text(file: str, people: _People, rows: int, key: _Key) -> str:
    lines = []
    for line in range(1, rows + 1):
        cells = people.cells()
        event = {
            "ts": f"2024-03-{line % 28 + 1:02d}T10:{line % 60:02d}:00+08:00",
            "event": "profile.update",
            "user": {"name": cells["name"][0], "mobile": cells["mobile"][0]},
            "id_card": cells["resident_id"][0],
            "email": cells["email"][0],
            "msg": cells["note"][0],
        }
        lines.append(json.dumps(event, ensure_ascii=False))
        for f in ("name", "mobile", "resident_id", "email", "note"):
            key.add(cells[f], file, line=line)
    return "\n".join(lines) + "\n"


def _sql_text(file: str, people: _People, rows: int, key: _Key) -> str:
    lines = [
        "-- PostgreSQL database dump",
        "CREATE TABLE public.customers (id integer, name text, id_card text, phone text,"
        " card_no text, remark text);",
    ]
    for row in range(1, rows + 1):
        cells = people.cells()
        quoted = ", ".join(
            "'" + cells[f][0].replace("'", "''") + "'"
            for f in ("name", "resident_id", "mobile", "bank_card", "note")
        )
        lines.append(f"{_INSERT}({row}, {quoted});")
        for f in ("name", "resident_id", "mobile", "bank_card", "note"):
            key.add(cells[f], file, line=len(lines))
    lines.append("COPY public.orders (order_no, customer, phone, email, note) FROM stdin;")
    for _ in range(rows):
        cells = people.cells()
        order: _Cell = (people.values.near_miss_order(), "resident_id", None, "order number")
        row_cells = [order, cells["name"], cells["mobile"], cells["email"], cells["note"]]
        lines.append("\t".join(c[0] or "\\N" for c in row_cells))
        for cell in row_cells:
            key.add(cell, file, line=len(lines))
    lines.append("\\.")
    return "\n".join(lines) + "\n"


#: the head of each INSERT line of the dump (text written to a file, never executed)
_INSERT: Final = "INSERT INTO public.customers (id, name, id_card, phone, card_no, remark) VALUES "

_LOG_TEMPLATES: Final = (
    ("用户 {name} 登录成功\uff0c手机号 {mobile}", ("name", "mobile")),
    ("verify id_card={resident_id} result=ok", ("resident_id",)),
    ("send sms to {mobile} template=SMS_1024", ("mobile",)),
    ("payment card {bank_card} declined code=51", ("bank_card",)),
    ("trace={note} status=200", ("note",)),
    ("contact updated: 姓名:{name} 邮箱 {email}", ("name", "email")),
    ("border check passport {passport} ok", ("passport",)),
    ("{note}", ("note",)),
)


def _log_text(file: str, people: _People, rows: int, key: _Key) -> str:
    lines = []
    for line in range(1, 2 * rows + 1):
        cells = people.cells()
        template, fields = _LOG_TEMPLATES[(line - 1) % len(_LOG_TEMPLATES)]
        if any(not cells[f][0] for f in fields):
            template, fields = "{note}", ("note",)
        message = template.format(**{f: cells[f][0] for f in fields})
        stamp = f"2024-01-{line % 28 + 1:02d} 23:59:{line % 60:02d}.{line % 1000:03d}"
        lines.append(f"{stamp} INFO [worker-{line % 4}] {message}")
        for f in fields:
            key.add(cells[f], file, line=line)
    return "\n".join(lines) + "\n"


def _notes_text(file: str, people: _People, rows: int, key: _Key) -> str:
    lines = []
    for line in range(1, rows + 1):
        cells = people.cells()
        lines.append(
            f"客户的身份证号码是{cells['resident_id'][0]}\uff0c联系电话{cells['mobile'][0]}。"
            f"备注\uff1a{cells['note'][0]}"
        )
        for f in ("resident_id", "mobile", "note"):
            key.add(cells[f], file, line=line)
    return "\n".join(lines) + "\n"


def _sqlite_file(path: Path, file: str, people: _People, rows: int, key: _Key) -> None:
    columns = ("name", "id_card", "phone", "email", "bank_card", "remark")
    fields = ("name", "resident_id", "mobile", "email", "bank_card", "note")
    path.unlink(missing_ok=True)
    with sqlite3.connect(path) as db:
        db.execute(f"CREATE TABLE customers (id INTEGER PRIMARY KEY, {', '.join(columns)})")
        for row in range(1, rows + 1):
            cells = people.cells()
            db.execute(
                "INSERT INTO customers VALUES (?, ?, ?, ?, ?, ?, ?)",
                (row, *(cells[f][0] or None for f in fields)),
            )
            for column, f in zip(columns, fields, strict=True):
                key.add(cells[f], file, table="customers", column=column, row=row)
    db.close()


def _parquet_file(path: Path, file: str, people: _People, rows: int, key: _Key) -> bool:
    try:
        pa = importlib.import_module("pyarrow")
        pq = importlib.import_module("pyarrow.parquet")
    except ImportError:
        return False
    fields = ("name", "resident_id", "mobile", "email", "note")
    data: dict[str, list[str]] = {f: [] for f in fields}
    for row in range(rows):
        cells = people.cells()
        for f in fields:
            data[f].append(cells[f][0])
            key.add(cells[f], file, table="customers", column=f, row=row)
    pq.write_table(pa.table(data), path)
    return True


def _write_text(path: Path, text: str) -> None:
    path.write_bytes(text.encode())


def write_leak_corpus(out_dir: Path, seed: int, *, size: str = "small") -> Path:
    """Write the corpus for ``seed`` into ``out_dir``; return the answer key's path."""
    if size not in SIZES:
        raise ValueError(f"size must be one of {sorted(SIZES)}")
    rows = SIZES[size]
    out_dir.mkdir(parents=True, exist_ok=True)
    persons = iter(generate_persons(rows * 16, seed=seed))
    key = _Key()

    def people(file: str) -> _People:
        return _People(persons, seed, file)

    header_cn = ["姓名", "身份证号", "手机", "银行卡号", "邮箱", "护照号", "备注"]
    text = _csv_text("people.csv", header_cn, people("people.csv"), rows, key)
    _write_text(out_dir / "people.csv", text)
    header_blank = [f"c{i}" for i in range(1, 8)]
    text = _csv_text("contacts.tsv", header_blank, people("contacts.tsv"), rows, key, "\t")
    _write_text(out_dir / "contacts.tsv", text)
    _write_text(
        out_dir / "records.json", _json_text("records.json", people("records.json"), rows, key)
    )
    _write_text(
        out_dir / "events.jsonl", _jsonl_text("events.jsonl", people("events.jsonl"), rows, key)
    )
    _write_text(out_dir / "dump.sql", _sql_text("dump.sql", people("dump.sql"), rows, key))
    _write_text(out_dir / "app.log", _log_text("app.log", people("app.log"), rows, key))

    old_log = _log_text("old.log.gz", people("old.log.gz"), rows, key).encode()
    with (
        (out_dir / "old.log.gz").open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz,
    ):
        gz.write(old_log)

    header_en = ["name", "id_number", "mobile", "card_number", "email", "passport_no", "remark"]
    members = {
        "customers.csv": _csv_text(
            "bundle.zip!customers.csv", header_en, people("zip-csv"), rows, key
        ),
        "notes.txt": _notes_text("bundle.zip!notes.txt", people("zip-notes"), rows, key),
    }
    with zipfile.ZipFile(out_dir / "bundle.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, content.encode())

    _sqlite_file(out_dir / "leak.sqlite", "leak.sqlite", people("leak.sqlite"), rows, key)
    _parquet_file(out_dir / "customers.parquet", "customers.parquet", people("parquet"), rows, key)

    answers = out_dir / "answers.jsonl"
    _write_text(answers, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in key.rows))
    return answers
