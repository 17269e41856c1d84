"""Units of work: whole files, and big line-oriented files cut into byte ranges.

A file bigger than ``chunk_bytes`` whose format is read line by line (CSV/TSV, JSON Lines, SQL
dumps, logs and other text) is cut into ranges of about ``chunk_bytes`` that start and end at
line boundaries, so each range can be scanned by a different process. What a range cannot see
from its own bytes travels with it:

- a CSV/TSV range carries the file's header line, so its cells keep their column context;
- a SQL range that starts inside a ``COPY … FROM stdin`` block carries that block's columns
  (the planner finds the blocks with ``mmap.find``, which reads the file at memory speed).

Line numbers inside a range count from 1; a range reports how many lines it held, and the
caller shifts the line numbers of later ranges of the same file (:func:`shift`).

Compressed files, archives, whole-document JSON, SQLite and Parquet files are one unit each.
A CSV field with a newline inside quotes, cut by a range boundary, is read as two broken rows
(its values are still scanned, without their column context).
"""

from __future__ import annotations

import csv
import io
import mmap
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Any

from strongroom.scan._model import Finding
from strongroom.scan._targets import (
    _COPY,
    _PARQUET_MAGIC,
    _SQLITE_MAGIC,
    Row,
    _cols,
    _delimited_blocks,
    _jsonl_rows,
    _lines,
    _sql_rows,
    _text_stream,
    read_target,
)

__all__ = ["DEFAULT_CHUNK_BYTES", "Unit", "plan", "read_unit", "shift"]

#: ranges of big files are about this long
DEFAULT_CHUNK_BYTES = 16 << 20
_WHOLE = (".gz", ".zip", ".json", ".parquet", ".db", ".sqlite", ".sqlite3")


@dataclass(frozen=True, slots=True)
class Unit:
    """One piece of work: a whole file (``end is None``) or the bytes ``[start, end)``."""

    path: str
    start: int = 0
    end: int | None = None
    size: int = 0  # bytes of this unit, for the progress bar
    header: str | None = None  # CSV/TSV: the file's header line, for ranges after the first
    copy_cols: tuple[str, ...] | None = None  # SQL: the COPY block the range starts in


def _splittable(path: Path) -> bool:
    if path.name.lower().endswith(_WHOLE):
        return False
    with path.open("rb") as fh:
        head = fh.read(16)
    return not (head == _SQLITE_MAGIC or head[:4] == _PARQUET_MAGIC or zipfile.is_zipfile(path))


def _boundaries(fh: IO[bytes], size: int, chunk: int) -> list[int]:
    """Offsets where ranges start: about every ``chunk`` bytes, just after a newline."""
    cuts = [0]
    pos = chunk
    while pos < size:
        fh.seek(pos - 1)
        fh.readline()  # to the end of the line that holds byte pos - 1
        cut = fh.tell()
        if cut >= size:
            break
        cuts.append(cut)
        pos = cut + chunk
    return cuts


def _copy_blocks(path: Path) -> list[tuple[int, int, tuple[str, ...]]]:
    """``(body start, body end, columns)`` of every ``COPY … FROM stdin`` block of a dump."""
    blocks: list[tuple[int, int, tuple[str, ...]]] = []
    with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        size = len(mm)
        pos = 0
        while (at := mm.find(b"COPY ", pos)) >= 0:
            eol = mm.find(b"\n", at)
            eol = size if eol < 0 else eol
            m = _COPY.search(mm[at:eol].decode("utf-8", "replace"))
            if m is None or (at > 0 and mm[at - 1] != 0x0A):
                pos = eol + 1
                continue
            end = mm.find(b"\n\\.", eol)
            end = size if end < 0 else end + 1
            blocks.append((eol + 1, end, tuple(_cols(m.group(1)))))
            pos = end
    return blocks


def plan(paths: list[Path], chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> Iterator[Unit]:
    """The units of work for these files (already expanded), in file and offset order."""
    if chunk_bytes < 1:
        raise ValueError("chunk_bytes must be positive")
    for path in paths:
        size = path.stat().st_size
        if size <= chunk_bytes or not _splittable(path):
            yield Unit(str(path), size=size)
            continue
        with path.open("rb") as fh:
            cuts = _boundaries(fh, size, chunk_bytes)
            fh.seek(0)
            first = fh.readline().decode("utf-8", "replace")
        lower = path.name.lower()
        header = first if lower.endswith((".csv", ".tsv")) else None
        blocks = _copy_blocks(path) if lower.endswith(".sql") else []
        ends = [*cuts[1:], size]
        for start, end in zip(cuts, ends, strict=True):
            cols = next((c for a, b, c in blocks if a <= start < b), None)
            yield Unit(
                str(path),
                start,
                end,
                end - start,
                header if start > 0 else None,
                cols,
            )


class _Range(io.RawIOBase):
    """``length`` bytes of ``fh`` from where it stands."""

    def __init__(self, fh: io.BufferedReader, length: int) -> None:
        self._fh = fh
        self._left = length
        #: newlines read so far
        self.newlines = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._left <= 0:
            return 0
        view = memoryview(buffer).cast("B")[: self._left]
        n = self._fh.readinto(view) or 0
        self._left -= n
        self.newlines += view[:n].tobytes().count(b"\n")
        return n


def _range_rows(unit: Unit, raw: IO[bytes]) -> Iterator[Row]:
    name, lower = unit.path, unit.path.lower()
    if not lower.endswith((".csv", ".tsv", ".jsonl", ".ndjson", ".sql")):
        yield from _lines(name, raw)
        return
    if lower.endswith((".csv", ".tsv")):
        delimiter = "\t" if lower.endswith(".tsv") else ","
        header = None
        if unit.header is not None:
            header = next(csv.reader([unit.header], delimiter=delimiter), [])
        yield from _delimited_blocks(name, raw, delimiter, [h.strip() for h in header or []])
        return
    with _text_stream(raw) as text:
        if lower.endswith((".jsonl", ".ndjson")):
            yield from _jsonl_rows(name, text)
        else:
            yield from _sql_rows(name, text, list(unit.copy_cols) if unit.copy_cols else None)


def read_unit(unit: Unit, lines: list[int] | None = None) -> Iterator[Row]:
    """The rows of one unit; line numbers of a range count from its first line, and once the
    rows are read, the number of lines of the range is appended to ``lines``."""
    path = Path(unit.path)
    if unit.end is None:
        yield from read_target(path, blocks=True)
        return
    with path.open("rb") as fh:
        fh.seek(unit.start)
        window = _Range(fh, unit.end - unit.start)
        yield from _range_rows(unit, io.BufferedReader(window, 1 << 20))
        if lines is not None:
            lines.append(window.newlines)


def shift(finding: Finding, lines: int) -> Finding:
    """The finding with its line moved down by ``lines`` (findings of later ranges)."""
    loc = finding.location
    if not lines or loc.line is None:
        return finding
    return replace(finding, location=replace(loc, line=loc.line + lines))
