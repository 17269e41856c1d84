"""The scanner's vocabulary: chunks of text to scan, and findings.

Targets (files, archives, database tables) are read into :class:`Chunk` objects — a piece of
text plus where it came from and any context the format gives (a column header, a JSON key).
Detectors turn chunks into :class:`Finding` objects. A finding never carries the matched value
in clear beyond what :attr:`Finding.masked` shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

#: the kinds of personal data the scanner knows
Kind = Literal["resident_id", "mobile", "bank_card", "passport", "email", "name"]
KINDS: tuple[Kind, ...] = ("resident_id", "mobile", "bank_card", "passport", "email", "name")


@dataclass(frozen=True, slots=True)
class Location:
    """Where a chunk (or a finding) is: a file position or a table cell."""

    target: str  # file path (inside an archive: "archive.zip!member.csv") or "table.column"
    line: int | None = None  # 1-based line of the chunk's first character (files)
    column: int | None = None  # 1-based column of the chunk's first character (files)
    row_key: str | None = None  # tables: the row's primary key, or its ordinal


@dataclass(frozen=True, slots=True)
class Chunk:
    """A piece of text to scan.

    ``context`` holds names the format attaches to the text — a CSV/SQL column header, a JSON
    key — which count as context words for scoring (a name counts only in a name-like
    column or next to other findings in the same ``row``). ``row`` groups chunks of one
    record (one CSV line, one JSON object, one table row) so detectors can see neighbours.
    """

    text: str
    location: Location
    context: tuple[str, ...] = ()
    row: int | None = None
    #: a block of independent text lines (logs, text): each line is a record of its own
    lines: bool = False
    #: a block of delimited lines without quotes (CSV/TSV): ``context`` is the header, each
    #: line a record whose cells are split on this delimiter (cell i at column i + 1)
    delimiter: str | None = None
    #: a ``lines`` block read from a file, as UTF-8 bytes (no carriage returns): ``text`` is
    #: then empty, and the scanner prefilters the bytes as they are, decoding only the lines
    #: with a trigger (or the whole block, when it holds full-width characters)
    data: bytes | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Finding:
    kind: Kind
    location: Location  # the match's own line/column where known
    confidence: float  # 0..1, from the pattern → validation → context ladder
    masked: str  # e.g. "110105********002X"; never the whole value
    value_digest: str = field(default="", repr=False)  # keyed digest for de-duplication only
    validated: bool = False  # checksum / date / range checks passed
    context_hit: bool = False  # a context word or header supported it
