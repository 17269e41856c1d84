"""Delimited blocks read a column at a time.

A CSV/TSV block without quotes (see :func:`strongroom.scan._targets._delimited_blocks`) is cut
into lines and cells once, and its cells are regrouped into columns. A cell's outcome (a
:class:`~strongroom.scan._hit.Cell`) depends only on its text and its column, so a column's
values are worked out together:

- **one class, one regular-expression pass**: when every value of a column has a shape whose
  outcome cannot differ from one value to the next, one pass over the joined column shows it,
  and the class's outcome, worked out once from its first member, stands in for all of them.
  The classes: allocated 11-digit mobiles (a plain number is read as one group, with no
  context word inside it), strict addresses under a header that names email (the header
  gives the context, and an ``@`` rules out a name);
- **18-character numbers** are validated one by one, but cheaply: a number whose address
  code (first six digits) and birth date the project's validator has already accepted needs
  only its check character computed (both of those checks depend on those digits alone); any
  other goes through the validator, which teaches the fast path;
- **other columns**: each distinct value is worked out once (cities, notes, names repeat).

The record's support (another cell with a finding lets a name count) is then an OR across a
row's cells, and counts come from counting the outcomes; findings are built only for the
cells whose findings are kept (:meth:`strongroom.scan._detect.Scanner._scan_table`).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from itertools import repeat, zip_longest
from typing import Final

from strongroom.scan._hit import EMPTY, Cell
from strongroom.scan._model import Kind
from strongroom.scan._validate import mobile_pattern, resident_id

__all__ = ["EMAIL_CELL", "Column", "cells_of", "count", "split", "support"]

#: the longest cell read as one address without the prefilter (its window would hold it)
EMAIL_CELL: Final = 72
#: the longest local part the validator accepts
_EMAIL_LOCAL: Final = 64
#: distinct values remembered per column (then the memo starts again)
_MEMO_SIZE: Final = 16_384
#: address codes and birth dates the validator accepted, remembered at most
_LEARNED_SIZE: Final = 200_000


def _column_of(value: str) -> re.Pattern[str]:
    """Every line of a joined column is ``value`` or empty."""
    return re.compile(rf"(?:(?:{value})?\n)*(?:{value})?", re.ASCII)


#: an allocated mobile, alone: 11 ASCII digits (lengths checked apart) in the ranges the
#: validator accepts
_MOBILES: Final = _column_of(rf"(?:{mobile_pattern()})")
#: an address that the scanner reads whole as one address, and the validator accepts: a local
#: part of dot-separated atoms (64 at most, and 72 in all: lengths checked apart), a first
#: label, then letter-only labels
_EMAILS: Final = _column_of(
    r"[A-Za-z0-9_%+\-]+(?:\.[A-Za-z0-9_%+\-]+)*"
    r"@[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z]{2,63})+"
)
#: 17 digits and a check character (an X in either case)
_IDS: Final = _column_of(r"[0-9]{17}[0-9Xx]")

#: the check character by ``int(first 17 digits, 13) * 2 % 11`` (ISO 7064 MOD 11-2; see
#: :func:`strongroom.schema._resident_id._check_char`, which this is checked against)
_CHECK: Final = "10X98765432"
_AREAS: set[str] = set()
_DATES: set[str] = set()


def _known_valid(number: str) -> bool:
    """Whether an 18-character number (17 digits and a check character) is a valid resident
    ID, from its address code and birth date having passed the validator before; False means
    "not known", not "invalid". (:func:`_resident_ids` does the same over a column.)"""
    number = number.upper()
    return (
        number[:6] in _AREAS
        and number[6:14] in _DATES
        and _CHECK[int(number[:17], 13) * 2 % 11] == number[17]
    )


def _learn(number: str) -> bool:
    """Validate with the project's validator; remember what a valid number's digits showed."""
    if resident_id(number) is None:
        return False
    if len(_AREAS) >= _LEARNED_SIZE or len(_DATES) >= _LEARNED_SIZE:
        _AREAS.clear()
        _DATES.clear()
    _AREAS.add(number[:6])
    _DATES.add(number[6:14])
    return True


class Column:
    """What a scanner has worked out for one column (by its header): the outcomes of the
    values it has seen, and the stand-ins of its classes."""

    __slots__ = ("email_header", "memo", "stand_ins")

    def __init__(self, email_header: bool) -> None:
        #: the header supports email, so a strict address's outcome is the same for all
        self.email_header = email_header
        self.memo: dict[str, Cell] = {}
        self.stand_ins: dict[str, Cell] = {}


def split(text: str, delimiter: str) -> tuple[int, list[Sequence[str]]]:
    """The lines of a block (the last line feed ends the last line) and its columns; short
    rows are padded with empty cells (which yield nothing)."""
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    rows = len(lines)
    counts = set(map(str.count, lines, repeat(delimiter)))
    if len(counts) == 1:  # every line has as many cells: one split, then every width-th cell
        width = counts.pop() + 1
        body = text[:-1] if text.endswith("\n") else text
        cells = body.replace("\n", delimiter).split(delimiter)
        return rows, [cells[c::width] for c in range(width)]
    return rows, list(zip_longest(*(line.split(delimiter) for line in lines), fillvalue=""))


def cells_of(values: Sequence[str], column: Column, cell_of: Callable[[str], Cell]) -> list[Cell]:
    """The outcome of every value of a column (``cell_of``: one value's, worked out)."""
    joined = "\n".join(values)
    if _MOBILES.fullmatch(joined) is not None and set(map(len, values)) <= {0, 11}:
        return _one_class(values, column, "mobile", cell_of)
    if (
        column.email_header
        and _EMAILS.fullmatch(joined) is not None
        and max(map(len, values)) <= EMAIL_CELL
        and max(map(str.find, values, repeat("@"))) <= _EMAIL_LOCAL
    ):
        return _one_class(values, column, "email", cell_of)
    if _IDS.fullmatch(joined) is not None:
        return _resident_ids(values, column, cell_of, "x" in joined)
    return _distinct(values, column, cell_of)


def _one_class(
    values: Sequence[str], column: Column, name: str, cell_of: Callable[[str], Cell]
) -> list[Cell]:
    stand_in = column.stand_ins.get(name)
    if stand_in is None:
        first = next((v for v in values if v), None)
        if first is None:
            return [EMPTY] * len(values)
        stand_in = column.stand_ins[name] = cell_of(first).stand_in()
    if "" not in values:
        return [stand_in] * len(values)
    return [stand_in if v else EMPTY for v in values]


def _resident_ids(
    values: Sequence[str], column: Column, cell_of: Callable[[str], Cell], lower_x: bool
) -> list[Cell]:
    """A column of 17 digits and a check character (or empty): valid numbers share a
    stand-in once their address code and birth date are known (see :func:`_known_valid`)."""
    upper = [v.upper() for v in values] if lower_x else values
    areas, dates, check = _AREAS, _DATES, _CHECK
    known = [
        v[:6] in areas and v[6:14] in dates and check[int(v[:17], 13) * 2 % 11] == v[17]
        for v in upper
    ]
    stand_in = column.stand_ins.get("resident_id")
    if stand_in is None and True in known:
        first = values[known.index(True)]
        stand_in = column.stand_ins["resident_id"] = cell_of(first).stand_in()
    if stand_in is not None and all(known):
        return [stand_in] * len(values)
    out: list[Cell] = []
    append = out.append
    for value, ok in zip(values, known, strict=True):
        if ok:
            append(stand_in)  # type: ignore[arg-type]  # set above when any is known
        elif not value:
            append(EMPTY)
        elif (valid := _learn(value)) and stand_in is not None:
            append(stand_in)  # a member of the class all the same
        else:
            cell = cell_of(value)
            if valid:
                stand_in = column.stand_ins["resident_id"] = cell.stand_in()
            append(cell)
    return out


def _distinct(values: Sequence[str], column: Column, cell_of: Callable[[str], Cell]) -> list[Cell]:
    """Any column: each value not seen before in this column is worked out once."""
    memo = column.memo
    missing = set(values).difference(memo)
    if len(memo) + len(missing) > _MEMO_SIZE:
        memo.clear()
        missing = set(values)
    for value in missing:
        memo[value] = cell_of(value) if value else EMPTY
    return list(map(memo.__getitem__, values))


def support(columns: list[list[Cell]], rows: int) -> list[bool]:
    """Per row: whether any of its cells is an anchor (lets a name in the row count)."""
    anchored: list[list[Cell]] = []
    for cells in columns:
        kinds = set(cells)
        if all(c.anchor for c in kinds):
            return [True] * rows
        if any(c.anchor for c in kinds):
            anchored.append(cells)
    if not anchored:
        return [False] * rows
    flags = [[c.anchor for c in cells] for cells in anchored]
    return list(map(any, zip(*flags, strict=True)))


def count(columns: list[list[Cell]], rows_support: list[bool], counts: Counter[Kind]) -> float:
    """Add the findings of every cell to ``counts``; return the highest confidence."""
    top = 0.0
    uniform = all(rows_support) or not any(rows_support)
    loud = bool(rows_support) and rows_support[0]
    for cells in columns:
        tally: Counter[tuple[Cell, bool]]
        if uniform and cells.count(cells[0]) == len(cells):  # one outcome (identity first)
            tally = Counter({(cells[0], loud): len(cells)})
        elif uniform:
            tally = Counter({(c, loud): n for c, n in Counter(cells).items()})
        else:
            tally = Counter(zip(cells, rows_support, strict=True))
        for (cell, supported), n in tally.items():
            for hit, confidence in cell.loud if supported else cell.quiet:
                counts[hit.kind] += n
                if confidence > top:
                    top = confidence
    return top
