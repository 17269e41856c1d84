"""The multi-pattern prefilter: find, cheaply, the few places worth validating.

Three triggers cover every detector:

===========  ===============================================  ==========================
trigger      pattern                                          detectors it wakes
===========  ===============================================  ==========================
``NUMBER``   3 digits, an optional space or dash, 4 digits    resident ID, mobile, card,
             (ASCII or full-width digits)                     passport
``EMAIL``    a local-part character, ``@``, a label, ``.``,   email
             two letters
``NAMEKEY``  ``姓名``, ``名字``, ``name`` (any case)           a name after its key
===========  ===============================================  ==========================

Two engines give the same windows:

- ``hyperscan``: one block-mode database of the three patterns (``HS_FLAG_SOM_LEFTMOST`` so a
  match reports its start), compiled once per process and scanned over the UTF-8 bytes of
  the text; byte offsets are mapped back to characters;
- ``re``: one alternation of the same three patterns over the ``str``, used when hyperscan
  cannot be imported (or is not wanted).

Each trigger becomes a *window*: the trigger widened over the characters a number or an
address can contain (at most :data:`LEFT` characters back, :data:`RIGHT` forward) so that a
whole token and the characters on either side of it are inside. Overlapping windows are
merged. The detectors then run their exact expressions over the windows only.

A :class:`Prefilter` holds a hyperscan scratch space and is not safe to share between
threads; make one per thread (the compiled database itself is shared).
"""

from __future__ import annotations

import functools
import importlib
import re
from collections.abc import Iterator
from typing import Any, Final, Literal

__all__ = ["LEFT", "RIGHT", "Engine", "Prefilter", "hyperscan_available"]

Engine = Literal["auto", "hyperscan", "re"]

NUMBER: Final = 0
EMAIL: Final = 1
NAMEKEY: Final = 2

#: how far a window may reach back (a 64-character email local part and a "(+86) " prefix fit)
LEFT: Final = 80
#: how far a window may reach forward (a long email domain fits)
RIGHT: Final = 260
#: how far past a name key a window reaches
NAME_REACH: Final = 40

_FW_DIGIT: Final = rb"\xEF\xBC[\x90-\x99]"
_HS_DIGIT: Final = rb"(?:[0-9]|" + _FW_DIGIT + rb")"
_HS_SEP: Final = rb"(?:[ \-]|\xE3\x80\x80|\xEF\xBC\x8D)?"
_HS_PATTERNS: Final = (
    (NUMBER, _HS_DIGIT + rb"{3}" + _HS_SEP + _HS_DIGIT + rb"{4}", 0),
    (EMAIL, rb"[A-Za-z0-9._%+\-]@[A-Za-z0-9\-]+\.[A-Za-z]{2}", 0),
    (NAMEKEY, "姓名|名字".encode() + rb"|name", 1),  # 1: caseless
)

# The re fallback runs one pass per trigger: an alternation of the three is 4x slower than
# the three passes together (Python's re tries every branch at every position). ``@`` and
# the Chinese keys are found with str.find, which is memchr-fast.
_RE_NUMBER: Final = re.compile(
    r"(?=[0-9\uff10-\uff19])[0-9\uff10-\uff19]{3}[ \-\u3000\uff0d]?[0-9\uff10-\uff19]{4}"
)
_RE_EMAIL: Final = re.compile(r"[A-Za-z0-9._%+\-]@[A-Za-z0-9\-]+\.[A-Za-z]{2}")
_RE_NAME: Final = re.compile(r"[Nn][Aa][Mm][Ee]")
_NAME_KEYS: Final = ("姓名", "名字")

#: characters a window widens over: those of numbers, addresses and phone prefixes
_TOKEN: Final = frozenset(
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ._%+-@()"
    + "".join(chr(c) for c in range(0xFF10, 0xFF1A))  # full-width digits
    + "".join(chr(c) for c in (0xFF0B, 0xFF0D, 0xFF08, 0xFF09, 0xFF20, 0xFF0E))  # + - ( ) @ .
    + "".join(chr(c) for c in range(0xFF21, 0xFF3B))
    + "".join(chr(c) for c in range(0xFF41, 0xFF5B))
)
#: separators a window crosses only between two digit-like characters ("+86 138 1234 5678")
_GAPS: Final = frozenset(" \u3000")
_DIGITISH: Final = frozenset(
    "0123456789+-()Xx"
    + "".join(chr(c) for c in (*range(0xFF10, 0xFF1A), 0xFF0B, 0xFF0D, 0xFF08, 0xFF09))
)


def _load_hyperscan() -> Any:
    """The hyperscan module, or None when it cannot be imported or loaded."""
    try:
        return importlib.import_module("hyperscan")
    except (ImportError, OSError):
        return None


@functools.cache
def _database() -> Any:
    """The compiled hyperscan database (once per process), or None without hyperscan."""
    hs = _load_hyperscan()
    if hs is None:
        return None
    db = hs.Database(mode=hs.HS_MODE_BLOCK)
    flags = [
        hs.HS_FLAG_SOM_LEFTMOST | (hs.HS_FLAG_CASELESS if caseless else 0)
        for _, _, caseless in _HS_PATTERNS
    ]
    db.compile(
        expressions=[pattern for _, pattern, _ in _HS_PATTERNS],
        ids=[ident for ident, _, _ in _HS_PATTERNS],
        elements=len(_HS_PATTERNS),
        flags=flags,
    )
    return db


def hyperscan_available() -> bool:
    """Whether the hyperscan engine can be used in this process."""
    return _database() is not None


class Prefilter:
    """Candidate windows of a text, from hyperscan or from the ``re`` fallback."""

    __slots__ = ("_db", "_hs", "_scratch", "engine")

    def __init__(self, engine: Engine = "auto") -> None:
        db = _database() if engine != "re" else None
        if engine == "hyperscan" and db is None:
            raise RuntimeError("hyperscan was asked for but cannot be loaded")
        self._db = db
        self._hs = _load_hyperscan() if db is not None else None
        self._scratch = self._hs.Scratch(db) if self._hs is not None else None
        #: the engine in use: ``"hyperscan"`` or ``"re"``
        self.engine: Literal["hyperscan", "re"] = "hyperscan" if db is not None else "re"

    def triggers(self, text: str) -> list[tuple[int, int, int]]:
        """``(trigger, start, end)`` character spans, in no particular order."""
        if self._db is None:
            return _re_triggers(text)
        data = text.encode("utf-8", "replace")
        found: list[tuple[int, int, int]] = []

        def on_match(ident: int, start: int, end: int, _flags: int, _ctx: object) -> None:
            found.append((ident, start, end))

        self._db.scan(data, match_event_handler=on_match, scratch=self._scratch)
        if len(data) == len(text) or not found:
            return found
        return _to_chars(data, found)

    def windows(self, text: str) -> list[tuple[int, int]]:
        """Merged, sorted ``(start, end)`` windows that hold every candidate token whole."""
        spans: list[tuple[int, int]] = []
        size = len(text)
        for ident, start, end in self.triggers(text):
            if ident == NAMEKEY:
                spans.append((start, _widen_right(text, min(size, end + NAME_REACH))))
            else:
                spans.append((_widen_left(text, start), _widen_right(text, end)))
        return list(_merge(spans))


def _re_triggers(text: str) -> list[tuple[int, int, int]]:
    found = [(NUMBER, m.start(), m.end()) for m in _RE_NUMBER.finditer(text)]
    at = text.find("@", 1)
    while at >= 0:
        m = _RE_EMAIL.match(text, at - 1)
        if m is not None:
            found.append((EMAIL, m.start(), m.end()))
        at = text.find("@", at + 1)
    found.extend((NAMEKEY, m.start(), m.end()) for m in _RE_NAME.finditer(text))
    for key in _NAME_KEYS:
        at = text.find(key)
        while at >= 0:
            found.append((NAMEKEY, at, at + len(key)))
            at = text.find(key, at + 1)
    return found


def _to_chars(data: bytes, found: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    """Map byte offsets (all on character boundaries) to character offsets."""
    offsets = sorted({o for _, s, e in found for o in (s, e)})
    chars: dict[int, int] = {}
    byte_pos = char_pos = 0
    for offset in offsets:
        char_pos += len(data[byte_pos:offset].decode("utf-8", "replace"))
        byte_pos = offset
        chars[offset] = char_pos
    return [(ident, chars[s], chars[e]) for ident, s, e in found]


def _widen_left(text: str, i: int) -> int:
    stop = max(0, i - LEFT)
    while i > stop:
        ch = text[i - 1]
        if ch in _TOKEN or (
            ch in _GAPS
            and i - 2 >= stop
            and text[i - 2] in _DIGITISH
            and i < len(text)
            and text[i] in _DIGITISH
        ):
            i -= 1
        else:
            break
    return i


def _widen_right(text: str, i: int) -> int:
    stop = min(len(text), i + RIGHT)
    while i < stop:
        ch = text[i]
        if ch in _TOKEN or (
            ch in _GAPS
            and i + 1 < stop
            and i > 0
            and text[i - 1] in _DIGITISH
            and text[i + 1] in _DIGITISH
        ):
            i += 1
        else:
            break
    return i


def _merge(spans: list[tuple[int, int]]) -> Iterator[tuple[int, int]]:
    if not spans:
        return
    spans.sort()
    start, end = spans[0]
    for s, e in spans[1:]:
        if s <= end:
            end = max(end, e)
        else:
            yield start, end
            start, end = s, e
    yield start, end
