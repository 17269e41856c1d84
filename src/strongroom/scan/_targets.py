"""Targets: files, archives and SQLite databases read as rows of :class:`Chunk` objects.

Everything streams: one line, one JSON object, one table row at a time, whatever the size.
A row is a list of chunks that belong together (the cells of a CSV line, the values of a JSON
object, a table row), each with the column header or key as context.

=====================  ======================================================================
format                 how it is read
=====================  ======================================================================
``.csv`` ``.tsv``      csv module; the header row gives each cell's context
``.jsonl`` ``.ndjson`` one object per line; every string or number value is a chunk, its key
                       path the context
``.json``              the same for an array of objects or one object (read whole, so capped
                       at 256 MiB; larger files are scanned as text)
``.sql``               text lines; ``INSERT INTO t (a, b) VALUES (...)`` values get their column
                       names, and ``COPY t (a, b) FROM stdin`` blocks their columns
``.db`` ``.sqlite``    every text value of every table; numbers and blobs are not read
``.sqlite3``           (SQLite files are recognised by their header too)
``.parquet``           string columns only, a batch of rows at a time (``pyarrow``); the
                       table is the file's stem, rows are 0-based (``customers.name`` row 7)
``.gz``                decompressed on the fly, then by the inner name
``.zip``               every member, by its name (``archive.zip!member.csv``)
anything else          text lines (UTF-8, undecodable bytes replaced)
=====================  ======================================================================
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import importlib
import io
import json
import re
import sqlite3
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any, cast

from strongroom.scan._model import Chunk, Location

Row = list[Chunk]
_JSON_WHOLE_LIMIT = 256 << 20
#: characters of text lines read (and prefiltered) at once
_BLOCK = 1 << 20
_SQLITE_MAGIC = b"SQLite format 3\x00"
_PARQUET_MAGIC = b"PAR1"
#: rows per Parquet batch: memory stays at one batch of the string columns
_PARQUET_BATCH = 8192
_INSERT = re.compile(r"INSERT\s+INTO\s+[`\"\[]?[\w.]+[`\"\]]?\s*\(([^)]*)\)\s*VALUES", re.I)
_COPY = re.compile(r"COPY\s+[\w.\"]+\s*\(([^)]*)\)\s+FROM\s+stdin", re.I)
#: a line as a text stream with ``newline=""`` reads it (ends kept)
_TEXT_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")
_SQL_VALUE = re.compile(r"'((?:[^']|'')*)'|(-?\d+(?:\.\d+)?)|NULL", re.I)


@contextlib.contextmanager
def _text_stream(raw: IO[bytes]) -> Iterator[io.TextIOWrapper]:
    """Decoded text over ``raw``, detached afterwards (the caller owns and closes ``raw``)."""
    text = io.TextIOWrapper(raw, encoding="utf-8", errors="replace", newline="")
    try:
        yield text
    finally:
        text.detach()


def _cols(spec: str) -> list[str]:
    return [c.strip().strip('`"[]') for c in spec.split(",")]


def _lines(name: str, raw: IO[bytes]) -> Iterator[Row]:
    """Blocks of about :data:`_BLOCK` bytes of whole lines, as ``lines`` chunks: the scanner
    prefilters a block at once and reads only the lines that hold a candidate.

    Lines end at ``\\n``, ``\\r\\n`` or a lone ``\\r`` (as a text stream with ``newline=""``
    reads them) and lose their line ends. A block without carriage returns comes as its bytes
    (:attr:`Chunk.data`, its text left empty): the scanner prefilters them as they are and
    decodes only what it must."""
    n = 1
    while True:
        data = raw.read(_BLOCK)
        if not data:
            return
        if not data.endswith(b"\n"):
            data += raw.readline()
        if b"\r" in data:
            lines = _TEXT_LINE.findall(data.decode("utf-8", "replace"))
            block = "\n".join(line.rstrip("\r\n") for line in lines)
            yield [Chunk(block, Location(name, n, 1), (), n, lines=True)]
            n += len(lines)
            continue
        count = data.count(b"\n")
        if data.endswith(b"\n"):
            data = data[:-1]
        else:
            count += 1
        yield [Chunk("", Location(name, n, 1), (), n, lines=True, data=data)]
        n += count


def _delimited(name: str, raw: IO[bytes], delimiter: str, blocks: bool) -> Iterator[Row]:
    if blocks:
        yield from _delimited_blocks(name, raw, delimiter)
        return
    with _text_stream(raw) as text:
        yield from _delimited_rows(name, csv.reader(text, delimiter=delimiter))


class _Prefixed(io.RawIOBase):
    """``head``, then the rest of ``raw``."""

    def __init__(self, head: bytes, raw: IO[bytes]) -> None:
        self._head = memoryview(head)
        self._raw = raw

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._head:
            n = min(len(buffer), len(self._head))
            buffer[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._raw.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _plain(data: bytes) -> bool:
    """Lines the scanner may split itself: no quotes, carriage returns or NULs."""
    return not (b'"' in data or b"\r" in data or b"\x00" in data)


def _delimited_blocks(
    name: str, raw: IO[bytes], delimiter: str, header: list[str] | None = None
) -> Iterator[Row]:
    """The rows of ``_delimited_rows``, but blocks of about :data:`_BLOCK` bytes of whole
    lines without quotes, carriage returns or NULs come as one ``delimiter`` chunk each (the
    scanner splits them as the ``csv`` module would), decoded a block at a time; from the
    first line or block that has one of those characters on, the ``csv`` module reads the
    rest (``header`` given: ``raw`` starts after the header line)."""
    names = list(header or [])
    done = 0
    data = b""
    while not names:  # the header row: the first line that holds a cell
        data = raw.readline()
        if not data:
            return
        if not _plain(data):
            break
        done += 1
        values = next(csv.reader([data.decode("utf-8", "replace")], delimiter=delimiter), [])
        names = [h.strip() for h in values]
        yield [Chunk(" ".join(values), Location(name, done, 1), (), done)]  # headers too
        data = b""
    context = tuple(names)
    while not data:
        data = raw.read(_BLOCK)
        if not data:
            return
        if not data.endswith(b"\n"):
            data += raw.readline()
        if not _plain(data):
            break
        first = done + 1
        block = data.decode("utf-8", "replace")
        yield [Chunk(block, Location(name, first, 1), context, first, delimiter=delimiter)]
        done += data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
        data = b""
    with _text_stream(io.BufferedReader(_Prefixed(data, raw))) as text:
        reader = csv.reader(text, delimiter=delimiter)
        yield from _delimited_rows(name, reader, names, done)


def _delimited_rows(
    name: str, reader: Any, header: list[str] | None = None, offset: int = 0
) -> Iterator[Row]:
    """Rows of a CSV reader; ``header`` given when the reader starts after the header line
    (``offset`` lines into the file or range)."""
    header = list(header or [])
    for values in reader:
        line = reader.line_num + offset
        if not header:
            header = [h.strip() for h in values]
            yield [Chunk(" ".join(values), Location(name, line, 1), (), line)]  # headers too
            continue
        row = []
        for i, cell in enumerate(values):
            if cell:
                ctx = (header[i],) if i < len(header) else ()
                row.append(Chunk(cell, Location(name, line, i + 1), ctx, line))
        if row:
            yield row


def _flatten(obj: Any, path: str, out: list[tuple[str, str]]) -> None:
    if isinstance(obj, dict):
        for k, v in obj.items():
            _flatten(v, f"{path}.{k}" if path else str(k), out)
    elif isinstance(obj, list):
        for v in obj:
            _flatten(v, path, out)
    elif isinstance(obj, str | int) and not isinstance(obj, bool):
        out.append((path, str(obj)))


def _json_row(name: str, obj: Any, line: int) -> Row:
    pairs: list[tuple[str, str]] = []
    _flatten(obj, "", pairs)
    return [
        Chunk(value, Location(name, line, None), tuple(p for p in path.split(".") if p), line)
        for path, value in pairs
    ]


def _jsonl(name: str, raw: IO[bytes]) -> Iterator[Row]:
    with _text_stream(raw) as text:
        yield from _jsonl_rows(name, text)


def _jsonl_rows(name: str, text: Iterable[str]) -> Iterator[Row]:
    for n, line in enumerate(text, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            yield [Chunk(line.rstrip("\r\n"), Location(name, n, 1), (), n)]
            continue
        yield _json_row(name, obj, n)


def _json(name: str, raw: IO[bytes], size: int | None) -> Iterator[Row]:
    if size is not None and size > _JSON_WHOLE_LIMIT:
        yield from _lines(name, raw)
        return
    data = raw.read()
    try:
        doc = json.loads(data)
    except ValueError:
        yield from _lines(name, io.BytesIO(data))
        return
    items = doc if isinstance(doc, list) else [doc]
    for i, obj in enumerate(items, start=1):
        yield _json_row(name, obj, i)


def _sql(name: str, raw: IO[bytes]) -> Iterator[Row]:
    with _text_stream(raw) as text:
        yield from _sql_rows(name, text)


def _sql_rows(
    name: str, text_lines: Iterable[str], copy_cols: list[str] | None = None
) -> Iterator[Row]:
    """Rows of a dump; ``copy_cols`` given when the lines start inside a ``COPY`` block."""
    for n, line in enumerate(text_lines, start=1):
        text = line.rstrip("\r\n")
        if copy_cols is not None:
            if text == "\\.":
                copy_cols = None
                continue
            cells = text.split("\t")
            yield [
                Chunk(c, Location(name, n, None), (copy_cols[i],) if i < len(copy_cols) else (), n)
                for i, c in enumerate(cells)
                if c and c != "\\N"
            ]
            continue
        m = _COPY.search(text)
        if m:
            copy_cols = _cols(m.group(1))
            continue
        m = _INSERT.search(text)
        if m:
            cols = _cols(m.group(1))
            values = [a if a else b for a, b in _SQL_VALUE.findall(text[m.end() :])]
            row = [
                Chunk(v.replace("''", "'"), Location(name, n, None), (cols[i % len(cols)],), n)
                for i, v in enumerate(values)
                if v
            ]
            if row:
                yield row
            continue
        if text.strip():
            yield [Chunk(text, Location(name, n, 1), (), n)]


def _sqlite(name: str, path: Path) -> Iterator[Row]:
    uri = f"file:{path}?mode=ro"
    conn = sqlite3.connect(uri, uri=True)
    conn.text_factory = lambda b: b.decode("utf-8", "replace")
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            quoted = '"' + table.replace('"', '""') + '"'
            cols = [r[1] for r in conn.execute(f"PRAGMA table_info({quoted})")]
            if not cols:
                continue
            select = ", ".join('"' + c.replace('"', '""') + '"' for c in cols)
            try:
                cur = conn.execute(f"SELECT rowid, {select} FROM {quoted}")  # noqa: S608
            except sqlite3.OperationalError:  # WITHOUT ROWID tables
                cur = conn.execute(f"SELECT NULL, {select} FROM {quoted}")  # noqa: S608
            for n, values in enumerate(cur, start=1):
                key = str(values[0]) if values[0] is not None else str(n)
                row = [
                    Chunk(str(v), Location(f"{name}:{table}.{cols[i]}", row_key=key), (cols[i],), n)
                    for i, v in enumerate(values[1:])
                    if isinstance(v, str) and v  # text values only, as the issue says
                ]
                if row:
                    yield row
    finally:
        conn.close()


def _parquet(name: str, source: Any) -> Iterator[Row]:
    """String columns of a Parquet file, one record batch at a time (constant memory)."""
    pa = importlib.import_module("pyarrow")
    pq = importlib.import_module("pyarrow.parquet")
    try:
        pf = pq.ParquetFile(source)
    except (pa.ArrowException, OSError):  # not Parquet after all: read it as text
        if isinstance(source, Path):
            with source.open("rb") as fh:
                yield from _lines(name, fh)
        return

    def is_text(t: Any) -> bool:
        if pa.types.is_dictionary(t):
            t = t.value_type
        return bool(pa.types.is_string(t) or pa.types.is_large_string(t))

    schema = pf.schema_arrow
    columns = [f.name for f in schema if is_text(f.type)]
    if not columns:
        return
    table = Path(name.rsplit("!", 1)[-1]).name.split(".")[0]
    targets = [f"{name}:{table}.{c}" for c in columns]
    n = 0
    for batch in pf.iter_batches(batch_size=_PARQUET_BATCH, columns=columns):
        values = [batch.column(i).to_pylist() for i in range(len(columns))]
        for r in range(batch.num_rows):
            key = str(n)
            row = [
                Chunk(v, Location(targets[i], row_key=key), (columns[i],), n)
                for i, col in enumerate(values)
                if (v := col[r])
            ]
            if row:
                yield row
            n += 1


def _by_name(name: str, raw: IO[bytes], size: int | None, blocks: bool) -> Iterator[Row]:
    lower = name.lower()
    if lower.endswith(".parquet"):
        data = raw.read() if not raw.seekable() else raw
        yield from _parquet(name, io.BytesIO(data) if isinstance(data, bytes) else data)
    elif lower.endswith(".gz"):
        with gzip.GzipFile(fileobj=raw) as inner:
            yield from _by_name(name[:-3], cast("IO[bytes]", inner), None, blocks)
    elif lower.endswith(".csv"):
        yield from _delimited(name, raw, ",", blocks)
    elif lower.endswith(".tsv"):
        yield from _delimited(name, raw, "\t", blocks)
    elif lower.endswith((".jsonl", ".ndjson")):
        yield from _jsonl(name, raw)
    elif lower.endswith(".json"):
        yield from _json(name, raw, size)
    elif lower.endswith(".sql"):
        yield from _sql(name, raw)
    else:
        yield from _lines(name, raw)


def read_target(path: Path, *, blocks: bool = False) -> Iterator[Row]:
    """Rows of one file (or archive, or SQLite database); ``blocks``: CSV/TSV lines without
    quotes come a block at a time, as one chunk with a ``delimiter`` (for the scanner)."""
    name = str(path)
    with path.open("rb") as fh:
        head = fh.read(16)
    if head == _SQLITE_MAGIC:
        yield from _sqlite(name, path)
        return
    if head[:4] == _PARQUET_MAGIC or name.lower().endswith(".parquet"):
        yield from _parquet(name, path)
        return
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                if info.is_dir():
                    continue
                with zf.open(info) as member:
                    yield from _by_name(f"{name}!{info.filename}", member, info.file_size, blocks)
        return
    with path.open("rb") as fh:
        yield from _by_name(name, fh, path.stat().st_size, blocks)


def expand(paths: Iterable[Path]) -> Iterator[Path]:
    """Files under the given paths, recursively, in a stable order."""
    for p in paths:
        if p.is_dir():
            yield from sorted(f for f in p.rglob("*") if f.is_file())
        elif p.is_file():
            yield p
