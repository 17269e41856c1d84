"""What the detectors make of a piece of text before it becomes a :class:`Finding`.

A :class:`Hit` is one match (its offsets within the cell, its normalised value, its mask and
its validated score). A :class:`Cell` is everything one cell of a record yields, worked out
from the cell's text and its column (header or key) alone:

- ``quiet``: its findings when no other cell of the record holds one (names need a
  neighbour);
- ``loud``: its findings when another cell does (a name-shaped cell then counts too);
- ``anchor``: whether it holds a finding, other than a name, that lends a name that
  support.

Both lists are sorted by offset and hold only what the scanner reports (its kinds, at or
above its threshold), each hit with its confidence. Because a cell's outcome does not depend
on the other cells beyond ``anchor``, a column's repeated values are worked out once and a
whole column can be read at a time (:mod:`strongroom.scan._columns`).
"""

from __future__ import annotations

from typing import NamedTuple

from strongroom.scan._model import Kind

__all__ = ["EMPTY", "Cell", "Hit", "Scored"]


class Hit(NamedTuple):
    kind: Kind
    start: int
    end: int
    value: str  # normalised (18-character ID, E.164 mobile, digits, upper-case passport …)
    masked: str
    score: float  # the validated score; unused when not validated
    validated: bool
    context: bool = False  # support found by the detector itself (a name key)


#: a hit and its confidence
Scored = tuple[Hit, float]


class Cell:
    """The outcome of one cell: see the module docstring.

    ``exact`` is False for a stand-in shared by the values of one class of a column (valid
    resident IDs, say): its kinds and confidences are those of every value of the class, but
    its offsets and values are one member's, so findings are built from the cell's own
    outcome, worked out again.
    """

    __slots__ = ("anchor", "exact", "loud", "quiet")

    def __init__(
        self,
        quiet: tuple[Scored, ...],
        loud: tuple[Scored, ...],
        anchor: bool,
        exact: bool = True,
    ) -> None:
        self.quiet = quiet
        self.loud = loud
        self.anchor = anchor
        self.exact = exact

    def stand_in(self) -> Cell:
        """This outcome as the stand-in of a class of values."""
        return Cell(self.quiet, self.loud, self.anchor, exact=False)

    def __repr__(self) -> str:  # never the values
        kinds = [h.kind for h, _ in self.loud]
        return f"Cell(kinds={kinds}, anchor={self.anchor}, exact={self.exact})"


#: the outcome of an empty cell (and of any cell that yields nothing)
EMPTY = Cell((), (), False)
