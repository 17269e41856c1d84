"""Streaming readers for CSV and JSON Lines that know the byte offset after each row.

The offset lets an interrupted import resume exactly where its last committed batch ended.
Memory stays constant: one row at a time.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple


class RawRow(NamedTuple):
    line: int  # 1-based physical line where the row starts
    end: int  # byte offset just past the row
    data: dict[str, Any] | None
    error: str | None = None  # why the row could not be read at all


def detect_format(path: Path, fmt: str | None) -> str:
    if fmt:
        return fmt
    name = path.name.lower()
    if name.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    return "csv"


class _Lines:
    """Iterates decoded lines of a binary file and tracks the byte offset consumed."""

    def __init__(self, fh: BinaryIO, offset: int, line: int) -> None:
        self.fh = fh
        self.offset = offset
        self.line = line

    def __iter__(self) -> Iterator[str]:
        for raw in self.fh:
            self.offset += len(raw)
            self.line += 1
            yield raw.decode("utf-8", errors="replace")


def read_rows(path: Path, fmt: str, start: int = 0, start_line: int = 0) -> Iterator[RawRow]:
    """Rows of ``path`` from byte ``start`` (0, or an offset a previous run reported)."""
    with path.open("rb") as fh:
        if fmt == "csv":
            header_line = fh.readline()
            if header_line.startswith(b"\xef\xbb\xbf"):
                header_line = header_line[3:]
            header = next(csv.reader(io.StringIO(header_line.decode("utf-8", "replace"))), [])
            header = [h.strip() for h in header]
            if start == 0:
                start, start_line = fh.tell(), 1
            fh.seek(start)
            lines = _Lines(fh, start, start_line)
            reader = csv.reader(lines)
            first = lines.line + 1
            for values in reader:
                if not values or (len(values) == 1 and not values[0].strip()):
                    first = lines.line + 1
                    continue
                if len(values) != len(header):
                    yield RawRow(
                        first,
                        lines.offset,
                        None,
                        f"has {len(values)} columns, the header has {len(header)}",
                    )
                else:
                    yield RawRow(first, lines.offset, dict(zip(header, values, strict=True)))
                first = lines.line + 1
        else:
            fh.seek(start)
            offset, line = start, start_line
            for raw in fh:
                offset += len(raw)
                line += 1
                if not raw.strip():
                    continue
                try:
                    obj = json.loads(raw)
                except ValueError:
                    yield RawRow(line, offset, None, "is not valid JSON")
                    continue
                if not isinstance(obj, dict):
                    yield RawRow(line, offset, None, "is not a JSON object")
                    continue
                yield RawRow(line, offset, obj)
