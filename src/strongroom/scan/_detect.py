"""The detectors and their scores: chunks of text in, :class:`Finding` objects out.

Pipeline for one chunk::

    text ──prefilter──▶ windows ──fold──▶ exact expressions ──validators──▶ hits
         ──context words / column header──▶ confidence ──threshold──▶ findings

Numbers (resident IDs, mobiles, bank cards) are read as *tokens*: runs of digits joined by
single spaces or dashes, with an optional ``+``/``(+86)`` in front and an optional ``X`` at
the end, never touching another letter or digit (a match inside a longer run of digits is
not a match; passports likewise must not touch letters or digits). A token's groups are
read greedily from the left, longest plausible combination first, so ``+86 138 1234 5678``
is one mobile and ``13812345678 13912345678`` two. Each combination is tried as a resident
ID (18 or 15 digits), then a mobile (11 digits after an optional ``86``/``0086``), then a
bank card (13-19 digits, issuer prefix, Luhn).

Scoring ladder (``confidence``):

=====================================  =========================  ==========================
rung                                   alone                      with a context word/header
=====================================  =========================  ==========================
pattern only (failed validation)       0.3                        0.4
validated resident ID (18), email      0.7                        1.0
validated mobile, bank card            0.6                        0.9
validated passport, legacy 15-digit    0.5                        0.8
name next to another finding           0.6                        —
name in a name column or after a key   —                          0.9
=====================================  =========================  ==========================

With the default threshold of 0.5, nothing unvalidated is ever reported.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import lru_cache, partial
from typing import Final

from strongroom.scan._columns import EMAIL_CELL, Column, cells_of, count, split, support
from strongroom.scan._context import header_kinds, near
from strongroom.scan._hit import EMPTY, Cell, Hit, Scored
from strongroom.scan._model import KINDS, Chunk, Finding, Kind, Location
from strongroom.scan._names import is_name_header, looks_like_name, mask_name
from strongroom.scan._prefilter import NUMBER, Engine, Prefilter, lone_run
from strongroom.scan._report import Report
from strongroom.scan._validate import (
    card_issuer,
    email_ok,
    fold,
    luhn_ok,
    mobile_ok,
    passport_ok,
    resident_id,
)

__all__ = ["DEFAULT_THRESHOLD", "Scanner"]

DEFAULT_THRESHOLD: Final = 0.5
#: the kinds whose values ``scan_row(collect=...)`` gathers (the vault can look them up)
COLLECTED: Final[frozenset[Kind]] = frozenset({"resident_id", "mobile"})

PATTERN_SCORE: Final = 0.3
#: what a context word adds to a validated match (an unvalidated one gains only 0.1)
CONTEXT_BONUS: Final = 0.3
_VALIDATED: Final[dict[Kind, float]] = {
    "resident_id": 0.7,
    "mobile": 0.6,
    "bank_card": 0.6,
    "passport": 0.5,
    "email": 0.7,
    "name": 0.6,
}
_LEGACY_ID: Final = 0.5
#: the highest confidence of a match that failed validation (with a context word)
_UNVALIDATED_MAX: Final = 0.4
#: the longest cell read whole as a name
_NAME_CELL: Final = 40
#: how far from another finding in the same chunk a delimited name may be
_NAME_REACH: Final = 80
#: at most this many digit groups form one number (4-4-4-4-3 cards, +86 3-4-4 mobiles)
_MAX_GROUPS: Final = 5

_NUMBER: Final = re.compile(
    r"(?<![0-9A-Za-z])(?<![0-9]\.)"
    r"(?:\(\+?(?:86|0086)\)[ -]?|\+)?"
    r"[0-9]+(?:[ -][0-9]+)*"
    r"(?:[Xx](?![0-9A-Za-z]))?"
    r"(?![0-9A-Za-z])(?!\.[0-9])"
)
_GROUP: Final = re.compile(r"[0-9]+[Xx]?")
_PASSPORT: Final = re.compile(r"(?<![0-9A-Za-z])[A-Z]{1,2}[0-9]{7,8}(?![0-9A-Za-z])")
_EMAIL: Final = re.compile(
    r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}(?![A-Za-z0-9\-])"
)
_NAME_VALUE: Final = (
    r"[\u4e00-\u9fff]{1,8}[·•・][\u4e00-\u9fff]{1,10}"
    r"|[\u4e00-\u9fff]{2,4}(?![\u4e00-\u9fff])"
    r"|[A-Z][A-Za-zÀ-ÖØ-öø-ÿ'\-]*(?: [A-Z][A-Za-zÀ-ÖØ-öø-ÿ'\-]*){1,3}"
)
_NAME_KEY: Final = re.compile(
    r"(?:姓名|名字|(?<![A-Za-z])(?i:(?:full|real|first|last|given|family|contact)?[_ ]?name)"
    r"(?![a-z]))[\"']?\s*[:\uff1a=]\s*[\"']?(?P<v>" + _NAME_VALUE + ")"
)
_DELIMITED_NAME: Final = re.compile(
    r"(?<![^\s,;|'\"=:\uff1a\uff0c\u3001(\uff08])"
    r"([\u4e00-\u9fff]{1,8}·[\u4e00-\u9fff]{1,10}|[\u4e00-\u9fff]{2,4})"
    r"(?![^\s,;|'\"\uff0c\u3001)\uff09])"
)


#: a cell that is one number: ASCII digits, perhaps ending in an X
_PLAIN_NUMBER: Final = re.compile(r"[0-9]+[Xx]?")
_EMAIL_TRIGGER: Final = re.compile(r"[A-Za-z0-9._%+\-]@[A-Za-z0-9\-]+\.[A-Za-z]{2}")
#: texts up to this long that hold nothing are remembered (cities, notes, names) ...
_MEMO_TEXT: Final = 64
#: ... this many at most (then the memo starts again)
_MEMO_SIZE: Final = 65_536
#: columns (by header) whose values a scanner remembers at once (each up to 16,384 values)
_COLUMNS: Final = 64


def _mask_id(digits: str) -> str:
    return digits[:6] + "*" * (len(digits) - 10) + digits[-4:].upper()


def _mask_mobile(national: str) -> str:
    return national[:3] + "****" + national[-4:]


def _mask_passport(value: str) -> str:
    letters = len(value) - len(value.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    return value[:letters] + "*" * (len(value) - letters - 2) + value[-2:]


def _mask_email(address: str) -> str:
    local, _, domain = address.rpartition("@")
    return f"{local[:1]}***@{domain}"


def _classify(digits: str) -> tuple[Kind, str, str, float] | None:
    """(kind, normalised value, mask, score) for a validated number, else None."""
    n = len(digits)
    if n in (15, 18):
        number = resident_id(digits)
        if number is not None:
            return (
                "resident_id",
                number,
                _mask_id(digits),
                _VALIDATED["resident_id"] if (n == 18) else _LEGACY_ID,
            )
    if not digits[-1].isdigit():
        return None
    national = digits
    if n == 15 and digits.startswith("0086"):
        national = digits[4:]
    elif n == 13 and digits.startswith("86"):
        national = digits[2:]
    if mobile_ok(national):
        return "mobile", "+86" + national, _mask_mobile(national), _VALIDATED["mobile"]
    if card_issuer(digits) is not None and luhn_ok(digits):
        return "bank_card", digits, _mask_id(digits), _VALIDATED["bank_card"]
    return None


def _pattern_only(digits: str) -> tuple[Kind, str] | None:
    """The kind a single unvalidated group looks like, by length, and its mask."""
    n = len(digits)
    if n == 18:
        return "resident_id", _mask_id(digits)
    if not digits[-1].isdigit():
        return None
    if n == 11 and digits[0] == "1":
        return "mobile", _mask_mobile(digits)
    if 13 <= n <= 19:
        return "bank_card", _mask_id(digits)
    return None


def _numbers(window: str, match: re.Match[str], offset: int, out: list[Hit]) -> None:
    groups = [(g.start(), g.end()) for g in _GROUP.finditer(window, match.start(), match.end())]
    count = len(groups)
    i = 0
    while i < count:
        for j in range(min(count, i + _MAX_GROUPS) - 1, i - 1, -1):
            if j > i and (
                groups[i][1] - groups[i][0] < 2
                or any(groups[k][1] - groups[k][0] < 3 for k in range(i + 1, j + 1))
                or any(not window[groups[k][1] - 1].isdigit() for k in range(i, j))
            ):
                continue
            digits = "".join(window[s:e] for s, e in groups[i : j + 1])
            found = _classify(digits)
            if found is not None:
                kind, value, masked, score = found
                start = match.start() if i == 0 else groups[i][0]
                out.append(
                    Hit(kind, offset + start, offset + groups[j][1], value, masked, score, True)
                )
                i = j + 1
                break
        else:
            s, e = groups[i]
            guess = _pattern_only(window[s:e])
            if guess is not None:
                out.append(
                    Hit(guess[0], offset + s, offset + e, window[s:e].upper(), guess[1], 0.0, False)
                )
            i += 1


def _dead_number(data: bytes, end: int) -> bool:
    """Whether the number trigger that ends at byte ``end`` of a text block is a lone run of
    ASCII digits (its window holds the run alone: :func:`~strongroom.scan._prefilter.lone_run`)
    that fails every validation. The number reader reads such a run as one group
    (:func:`_single_group`): a match that fails validation scores 0.4 at most and lends no
    name support, so with a threshold above that the run yields nothing."""
    run = lone_run(data, end)
    return run is not None and _classify(run) is None


def _single_group(digits: str) -> list[Hit]:
    """The hit (if any) of a token that is one group of digits, as :func:`_numbers` reads it."""
    found = _classify(digits)
    if found is not None:
        kind, value, masked, score = found
        return [Hit(kind, 0, len(digits), value, masked, score, True)]
    guess = _pattern_only(digits)
    if guess is not None:
        return [Hit(guess[0], 0, len(digits), digits.upper(), guess[1], 0.0, False)]
    return []


def _email_cell(text: str) -> Hit | None:
    """The hit of an ASCII cell that is one address (with one ``@``) and that the prefilter
    would wake for, else None (the general path decides)."""
    at = text.index("@")
    if at < 1 or _EMAIL_TRIGGER.match(text, at - 1) is None or _EMAIL.fullmatch(text) is None:
        return None
    return Hit(
        "email", 0, len(text), text.lower(), _mask_email(text), _VALIDATED["email"], email_ok(text)
    )


@lru_cache(maxsize=4096)
def _name_field(context: tuple[str, ...]) -> bool:
    return any(is_name_header(h) for h in context)


_WHOLE_NAMES: dict[tuple[str, bool], list[Hit]] = {}


def _whole_name_cached(text: str, in_name_field: bool) -> list[Hit]:
    if text.isascii() and not text.lstrip()[:1].isupper():  # no Latin name starts so
        return []
    key = (text, in_name_field)
    found = _WHOLE_NAMES.get(key)
    if found is None:
        found = _whole_name(text, in_name_field=in_name_field)
        if len(_WHOLE_NAMES) >= _MEMO_SIZE:
            _WHOLE_NAMES.clear()
        _WHOLE_NAMES[key] = found
    return found


class Scanner:
    """Finds personal data in :class:`Chunk` objects.

    ``threshold`` is the lowest confidence reported; ``kinds`` limits the detectors;
    ``engine`` picks the prefilter (``"auto"``: hyperscan when it loads, else ``re``);
    ``digest_key`` keys :attr:`Finding.value_digest` (a random key per scanner by default,
    so digests de-duplicate within one run and mean nothing outside it).

    A scanner holds a hyperscan scratch space: use one per thread.
    """

    __slots__ = ("_columns", "_digest_key", "_memo", "_prefilter", "kinds", "threshold")

    def __init__(
        self,
        threshold: float = DEFAULT_THRESHOLD,
        kinds: Iterable[Kind] = KINDS,
        *,
        engine: Engine = "auto",
        digest_key: bytes | None = None,
    ) -> None:
        if not 0.0 <= threshold <= 1.0:
            raise ValueError("threshold must be between 0 and 1")
        self.threshold = threshold
        self.kinds: frozenset[Kind] = frozenset(kinds)
        unknown = self.kinds - set(KINDS)
        if unknown:
            raise ValueError(f"unknown kinds: {sorted(unknown)}")
        # unvalidated matches score 0.4 at most: above that, only validatable numbers matter
        self._prefilter = Prefilter(engine, validated_only=threshold > _UNVALIDATED_MAX)
        self._digest_key = digest_key if digest_key is not None else secrets.token_bytes(32)
        self._memo: dict[str, list[Hit]] = {}
        self._columns: dict[tuple[str, ...], Column] = {}

    @property
    def engine(self) -> str:
        """The prefilter engine in use: ``"hyperscan"`` or ``"re"``."""
        return self._prefilter.engine

    def __repr__(self) -> str:
        return f"Scanner(threshold={self.threshold}, engine={self.engine!r})"

    def digest(self, kind: Kind, value: str) -> str:
        """The keyed digest a finding of ``kind`` with normalised ``value`` carries."""
        message = f"{kind}\x00{value}".encode()
        return hmac.new(self._digest_key, message, hashlib.sha256).hexdigest()[:32]

    def scan(self, chunk: Chunk) -> list[Finding]:
        """Findings in one chunk, read as a row of its own."""
        return self.scan_row((chunk,))

    def scan_row(
        self, chunks: Sequence[Chunk], collect: set[tuple[Kind, str]] | None = None
    ) -> list[Finding]:
        """Findings in the chunks of one record; names count next to other findings.

        ``collect`` receives ``(kind, normalised value)`` of each validated resident ID and
        mobile reported (18-character ID, E.164 mobile), for look-ups in a vault.
        """
        findings: list[Finding] = []
        self._row(chunks, collect, findings.append, None)
        return findings

    def count_row(
        self, chunks: Sequence[Chunk], report: Report, collect: set[tuple[Kind, str]] | None
    ) -> None:
        """Add the findings of one record to ``report``, as ``report.add(scan_row(...))``
        would, building :class:`Finding` objects (and digests) only for the samples it keeps
        (or for every finding when it keeps them all)."""
        self._row(chunks, collect, None, report)

    def _row(
        self,
        chunks: Sequence[Chunk],
        collect: set[tuple[Kind, str]] | None,
        emit: Callable[[Finding], None] | None,
        report: Report | None,
    ) -> None:
        if len(chunks) == 1:
            first = chunks[0]
            if first.lines:
                self._scan_lines(first, collect, emit, report)
                return
            if first.delimiter is not None:
                self._scan_table(first, collect, emit, report)
                return
        trackers: dict[int, _Lines] = {}

        def locate(i: int, start: int) -> Location:
            tracker = trackers.get(i)
            if tracker is None:
                tracker = trackers[i] = _Lines(chunks[i])
            return tracker.locate(start)

        self._cells(
            [c.text for c in chunks], [c.context for c in chunks], locate, collect, emit, report
        )

    def _scan_table(
        self,
        block: Chunk,
        collect: set[tuple[Kind, str]] | None,
        emit: Callable[[Finding], None] | None,
        report: Report | None,
    ) -> None:
        """A block of delimited lines without quotes: each line a record, split on the
        delimiter, its cells under the header (as the ``csv`` module reads such lines), read
        a column at a time (:mod:`strongroom.scan._columns`)."""
        header = block.context
        rows, values = split(block.text, block.delimiter or ",")
        contexts: list[tuple[str, ...]] = [
            (header[c],) if c < len(header) else () for c in range(len(values))
        ]
        columns = [self._column(ctx) for ctx in contexts]
        cells = [
            cells_of(column_values, column, partial(self._cell, context=ctx))
            for column_values, column, ctx in zip(values, columns, contexts, strict=True)
        ]
        supported = support(cells, rows)
        table = (block.location, values, contexts, cells, supported)
        if emit is None and collect is None and report is not None and not report.keep:
            # counts from the outcomes; findings only for the samples kept
            report.top = max(report.top, count(cells, supported, report.counts))
            wanted = {k for k in report.counts if len(report.examples.get(k, ())) < report.samples}
            for scored, locate in self._table_hits(*table, wanted):
                for hit, confidence in scored:
                    shown = report.examples.setdefault(hit.kind, [])
                    if len(shown) < report.samples:
                        shown.append(self._finding(locate(hit.start), hit, confidence))
                        if len(shown) >= report.samples:
                            wanted.discard(hit.kind)
            return
        for scored, locate in self._table_hits(*table, None):
            self._emit(scored, locate, collect, emit, report)

    def _table_hits(
        self,
        loc: Location,
        values: list[Sequence[str]],
        contexts: list[tuple[str, ...]],
        cells: list[list[Cell]],
        supported: list[bool],
        wanted: set[Kind] | None,
    ) -> Iterator[tuple[tuple[Scored, ...], Callable[[int], Location]]]:
        """The reported hits of each cell of a table block and where they start, in row and
        column order; with ``wanted``, only cells with one of those kinds, until it is empty
        (the caller takes kinds out as their samples fill up)."""
        first = loc.line or 1
        for r, loud in enumerate(supported):
            if wanted is not None and not wanted:
                return
            for c, column_cells in enumerate(cells):
                cell = column_cells[r]
                scored = cell.loud if loud else cell.quiet
                if not scored or (
                    wanted is not None and all(h.kind not in wanted for h, _ in scored)
                ):
                    continue
                if not cell.exact:
                    cell = self._cell(values[c][r], contexts[c])
                    scored = cell.loud if loud else cell.quiet

                def locate(start: int, line: int = first + r, col: int = c + 1) -> Location:
                    return Location(loc.target, line, col + start, loc.row_key)

                yield scored, locate

    def _column(self, context: tuple[str, ...]) -> Column:
        column = self._columns.get(context)
        if column is None:
            if len(self._columns) >= _COLUMNS:  # many files, many headers: start again
                self._columns.clear()
            column = self._columns[context] = Column("email" in header_kinds(context))
        return column

    def _cell(self, text: str, context: tuple[str, ...]) -> Cell:
        """What one cell yields, from its text and its column header or key alone."""
        threshold = self.threshold
        hits = self._cell_hits(text)
        name_field = _name_field(context)
        if name_field and not any(h.kind == "name" for h in hits):
            hits = hits + _whole_name_cached(text, True)
        scored: list[Scored] = []
        anchor = False
        if hits:
            headers = header_kinds(context)
            plain = _PLAIN_NUMBER.fullmatch(text) is not None  # no context word can be inside
            for h in hits:
                if not h.context and (
                    h.kind in headers or (not plain and near(h.kind, text, h.start, h.end))
                ):
                    h = Hit(h.kind, h.start, h.end, h.value, h.masked, h.score, h.validated, True)
                confidence = _confidence(h)
                scored.append((h, confidence))
                if h.kind != "name" and confidence >= threshold:
                    anchor = True
        loud = scored
        if not name_field and not any(h.kind == "name" for h, _ in scored):
            anchors = [h for h, c in scored if h.kind != "name" and c >= threshold]
            names = _neighbour_names(text, anchors)
            if names:
                loud = scored + [(h, _confidence(h)) for h in names]
        if not loud:
            return EMPTY
        return Cell(self._reported(scored), self._reported(loud), anchor)

    def _reported(self, scored: list[Scored]) -> tuple[Scored, ...]:
        """The hits reported (the scanner's kinds, at or above its threshold), by offset."""
        if len(scored) > 1:
            scored = sorted(scored, key=_start)
        kinds, threshold = self.kinds, self.threshold
        return tuple(s for s in scored if s[0].kind in kinds and s[1] >= threshold)

    def _cells(
        self,
        texts: list[str],
        contexts: list[tuple[str, ...]],
        locate: Callable[[int, int], Location],
        collect: set[tuple[Kind, str]] | None,
        emit: Callable[[Finding], None] | None,
        report: Report | None,
    ) -> None:
        """The findings of one record's cells (text and context each)."""
        cells = [self._cell(t, c) for t, c in zip(texts, contexts, strict=True)]
        loud = any(c.anchor for c in cells)
        for i, cell in enumerate(cells):
            scored = cell.loud if loud else cell.quiet
            if scored:
                self._emit(scored, partial(locate, i), collect, emit, report)

    def _emit(
        self,
        scored: tuple[Scored, ...],
        locate: Callable[[int], Location],
        collect: set[tuple[Kind, str]] | None,
        emit: Callable[[Finding], None] | None,
        report: Report | None,
    ) -> None:
        """Report or emit the findings of one cell's hits."""
        for hit, confidence in scored:
            kind = hit.kind
            if collect is not None and hit.validated and kind in COLLECTED:
                collect.add((kind, hit.value))
            if report is not None:
                report.counts[kind] += 1
                if confidence > report.top:
                    report.top = confidence
                shown = report.examples.setdefault(kind, [])
                if not report.keep and len(shown) >= report.samples:
                    continue
            finding = self._finding(locate(hit.start), hit, confidence)
            if emit is not None:
                emit(finding)
            else:
                if len(shown) < report.samples:  # type: ignore[union-attr]
                    shown.append(finding)
                if report.keep:  # type: ignore[union-attr]
                    report.findings.append(finding)  # type: ignore[union-attr]

    def _cell_hits(self, text: str) -> list[Hit]:
        """``_hits(text)``, with shortcuts for a cell that is one plain number or one address,
        and a memo of the (short, repeated) texts that hold nothing."""
        if text.isascii():
            size = len(text)
            if _PLAIN_NUMBER.fullmatch(text) is not None:
                # one group: exactly what the number reader makes of it; when the prefilter
                # would not wake for it, the result is an unvalidated match, never reported
                if size < 11 or size > 19:
                    return []
                return _single_group(text)
            if size <= EMAIL_CELL and text.count("@") == 1:
                hit = _email_cell(text)
                if hit is not None:
                    return [hit]
        memo = self._memo
        found = memo.get(text)
        if found is not None:
            return found
        hits = self._hits(text)
        if not hits and len(text) <= _MEMO_TEXT:
            if len(memo) >= _MEMO_SIZE:
                memo.clear()
            memo[text] = hits
        return hits

    def _scan_lines(
        self,
        block: Chunk,
        collect: set[tuple[Kind, str]] | None,
        emit: Callable[[Finding], None] | None,
        report: Report | None,
    ) -> None:
        """A block of independent lines: one prefilter pass over the block, then each line
        that holds a trigger is scanned as a row of its own (the same findings as scanning
        every line, without a Python call per line)."""
        text, loc, data = block.text, block.location, block.data
        if data is not None:
            found = self._prefilter.scan_bytes(data)
            if found is not None:  # no full-width characters: the bytes' triggers are all
                self._scan_line_bytes(block, data, found, collect, emit, report)
                return
            text = data.decode("utf-8", "replace")
        starts = sorted({text.rfind("\n", 0, s) + 1 for _, s, _ in self._prefilter.triggers(text)})
        line, pos = loc.line or 1, 0
        for start in starts:
            line += text.count("\n", pos, start)
            pos = start
            end = text.find("\n", start)
            piece = text[start : len(text) if end < 0 else end].rstrip("\r")
            if piece.strip():
                one = Chunk(piece, Location(loc.target, line, 1, loc.row_key), block.context, line)
                self._row((one,), collect, emit, report)

    def _scan_line_bytes(
        self,
        block: Chunk,
        data: bytes,
        found: list[tuple[int, int, int]],
        collect: set[tuple[Kind, str]] | None,
        emit: Callable[[Finding], None] | None,
        report: Report | None,
    ) -> None:
        """:meth:`_scan_lines` over the UTF-8 bytes of a block without carriage returns, given
        the prefilter's byte spans: only the lines that hold a trigger are decoded."""
        loc = block.location
        # a line whose triggers are all lone digit runs that fail validation yields nothing
        # when unvalidated matches are not reported: it is not decoded (see _dead_number)
        skip_dead = self._prefilter.validated_only
        wanted: dict[int, bool] = {}
        for ident, s, e in found:
            start = data.rfind(b"\n", 0, s) + 1
            if not wanted.get(start):
                wanted[start] = not (skip_dead and ident == NUMBER and _dead_number(data, e))
        starts = sorted(start for start, want in wanted.items() if want)
        line, pos = loc.line or 1, 0
        for start in starts:
            line += data.count(b"\n", pos, start)
            pos = start
            end = data.find(b"\n", start)
            piece = data[start : len(data) if end < 0 else end].decode("utf-8", "replace")
            if piece.strip():
                one = Chunk(piece, Location(loc.target, line, 1, loc.row_key), block.context, line)
                self._row((one,), collect, emit, report)

    def _hits(self, text: str) -> list[Hit]:
        hits: list[Hit] = []
        for ws, we in self._prefilter.windows(text):
            window = fold(text[ws:we])
            emails: list[tuple[int, int]] = []
            if "@" in window:
                for m in _EMAIL.finditer(window):
                    address = m.group()
                    valid = email_ok(address)
                    hits.append(
                        Hit(
                            "email",
                            ws + m.start(),
                            ws + m.end(),
                            address.lower(),
                            _mask_email(address),
                            _VALIDATED["email"],
                            valid,
                        )
                    )
                    emails.append((ws + m.start(), ws + m.end()))
            numbers: list[Hit] = []
            for m in _NUMBER.finditer(window):
                _numbers(window, m, ws, numbers)
            for m in _PASSPORT.finditer(window):
                value = m.group()
                numbers.append(
                    Hit(
                        "passport",
                        ws + m.start(),
                        ws + m.end(),
                        value,
                        _mask_passport(value),
                        _VALIDATED["passport"],
                        passport_ok(value),
                    )
                )
            if emails:
                numbers = [
                    h for h in numbers if not any(s < h.end and h.start < e for s, e in emails)
                ]
            hits.extend(numbers)
            for m in _NAME_KEY.finditer(window):
                name = m.group("v")
                if looks_like_name(name, in_name_field=False):
                    hits.append(
                        Hit(
                            "name",
                            ws + m.start("v"),
                            ws + m.end("v"),
                            name,
                            mask_name(name),
                            _VALIDATED["name"],
                            True,
                            True,
                        )
                    )
        hits.sort(key=lambda h: h.start)
        return hits

    def _finding(self, location: Location, hit: Hit, confidence: float) -> Finding:
        return Finding(
            kind=hit.kind,
            location=location,
            confidence=confidence,
            masked=hit.masked,
            value_digest=self.digest(hit.kind, hit.value),
            validated=hit.validated,
            context_hit=hit.context,
        )


def _start(scored: tuple[Hit, float]) -> int:
    return scored[0].start


def _confidence(hit: Hit) -> float:
    key = (hit.score, hit.validated, hit.context)
    found = _CONFIDENCE.get(key)
    if found is None:
        found = _CONFIDENCE[key] = _score(hit)
    return found


_CONFIDENCE: dict[tuple[float, bool, bool], float] = {}


def _score(hit: Hit) -> float:
    if hit.validated:
        score = hit.score + (CONTEXT_BONUS if hit.context else 0.0)
    else:
        score = PATTERN_SCORE + (0.1 if hit.context else 0.0)
    return round(min(score, 1.0), 2)


def _whole_name(text: str, *, in_name_field: bool) -> list[Hit]:
    name = text.strip()
    if not name or len(name) > _NAME_CELL or not looks_like_name(name, in_name_field=in_name_field):
        return []
    start = text.index(name)
    return [
        Hit(
            "name",
            start,
            start + len(name),
            name,
            mask_name(name),
            _VALIDATED["name"],
            True,
            in_name_field,
        )
    ]


def _neighbour_names(text: str, anchors: list[Hit]) -> list[Hit]:
    """Names in a chunk of a row that has other findings: the whole cell, or a delimited
    name-shaped token within :data:`_NAME_REACH` characters of a finding of the chunk's own
    (a log line, an INSERT statement, a COPY line)."""
    whole = _whole_name_cached(text, False)
    if whole or not anchors or text.isascii():  # the delimited names are Han
        return list(whole)
    names: list[Hit] = []
    for anchor in anchors:
        start = max(0, anchor.start - _NAME_REACH)
        for m in _DELIMITED_NAME.finditer(text, start, min(len(text), anchor.end + _NAME_REACH)):
            name = m.group(1)
            if looks_like_name(name, in_name_field=False) and all(
                n.start != m.start(1) for n in names
            ):
                hit = Hit(
                    "name", m.start(1), m.end(1), name, mask_name(name), _VALIDATED["name"], True
                )
                names.append(hit)
    return names


class _Lines:
    """Line and column of offsets into a chunk, counted incrementally (offsets ascending)."""

    __slots__ = ("_chunk", "_line", "_newline", "_pos")

    def __init__(self, chunk: Chunk) -> None:
        self._chunk = chunk
        self._pos = 0
        self._line = chunk.location.line or 0
        self._newline = -1  # offset of the last newline before _pos

    def locate(self, start: int) -> Location:
        loc = self._chunk.location
        if loc.line is None:
            return loc
        text = self._chunk.text
        if start < self._pos:  # callers pass ascending offsets; start over if not
            self._pos, self._line, self._newline = 0, loc.line, -1
        count = text.count("\n", self._pos, start)
        if count:
            self._line += count
            self._newline = text.rfind("\n", self._pos, start)
        self._pos = start
        if self._newline < 0:
            return Location(loc.target, loc.line, (loc.column or 1) + start, loc.row_key)
        return Location(loc.target, self._line, start - self._newline, loc.row_key)
