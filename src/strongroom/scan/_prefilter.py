"""The multi-pattern prefilter: find, cheaply, the few places worth validating.

Triggers cover every detector; they run over folded text (full-width digits and letters as
ASCII, see :func:`~strongroom.scan._validate.fold`):

===========  ===============================================  ==========================
trigger      patterns                                         detectors it wakes
===========  ===============================================  ==========================
``NUMBER``   numbers that can validate, not touching a        resident ID, mobile, card,
             letter or digit: an 18-character ID with a       passport
             real-looking date, a 15-digit legacy ID, an
             allocated mobile (the ``phonenumbers`` pattern,
             ``86``/``0086`` run on), a card with an issuer
             prefix and length, digit groups joined by a
             space or dash (2+ then 3+ digits), a passport
             form. With a threshold of 0.4 or lower (which
             reports unvalidated matches) also any 11-19
             digit number and any passport-shaped token
``EMAIL``    a local-part character, ``@``, a label, ``.``,   email
             two letters
``NAMEKEY``  ``姓名``, ``名字``, ``name`` (any case)           a name after its key
===========  ===============================================  ==========================

Two engines give the same windows:

- ``hyperscan``: one block-mode database of the patterns (``HS_FLAG_SOM_LEFTMOST`` for
  addresses and name keys, so a match reports its start; a number reports only its end,
  which is cheaper, and its window widens back from there), compiled once per process and
  scanned over the UTF-8 bytes of the text; byte offsets are mapped back to characters. One
  more pattern spots full-width characters that could hide a trigger (full-width digits,
  letters, at sign and full stop; an ideographic space or full-width dash next to a digit):
  only then is the text folded and scanned again;
- ``re``: the same patterns over the folded ``str``, used when hyperscan cannot be imported
  (or is not wanted).

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

from strongroom.scan._validate import fold, mobile_pattern

__all__ = ["LEFT", "RIGHT", "Engine", "Prefilter", "hyperscan_available", "lone_run"]

Engine = Literal["auto", "hyperscan", "re"]

NUMBER: Final = 0
EMAIL: Final = 1
NAMEKEY: Final = 2
#: not a trigger: full-width characters that must be folded before scanning again
FOLD: Final = 3

#: how far a window may reach back (a 64-character email local part and a "(+86) " prefix fit)
LEFT: Final = 80
#: how far a window may reach forward (a long email domain fits)
RIGHT: Final = 260
#: how far past a name key a window reaches
NAME_REACH: Final = 40

#: the mobile pattern of ``phonenumbers``' metadata for CN (the one the validator uses)
_MOBILE: Final = mobile_pattern()
#: number triggers, over folded (ASCII-digit) text; ``{B}`` and ``{E}`` stand for "not after"
#: and "not before" an ASCII letter or digit. Every validated number is one of these shapes:
_VALIDATED_NUMBERS: Final = (
    # an 18-character resident ID (province digit, a year 1850-2099, month, day, check)
    r"{B}[1-9]\d{5}(?:18[5-9]\d|19\d\d|20\d\d)(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
    r"\d{3}[\dXx]{E}",
    # a 15-digit legacy ID (YYMMDD)
    r"{B}[1-9]\d{7}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}{E}",
    # an allocated mobile, with 86 or 0086 run on
    r"{B}(?:0086|86)?(?:" + _MOBILE + r"){E}",
    # a card: issuer prefix and a length that issuer uses
    r"{B}(?:62\d{14,17}|4(?:\d{12}|\d{15}|\d{18})|(?:5[1-5]\d\d|222[1-9]|22[3-9]\d|2[3-6]\d\d"
    r"|27[01]\d|2720)\d{12}|3[47]\d{13}|35(?:2[89]|[3-8]\d)\d{12,15}"
    r"|(?:6011|64[4-9]\d|65\d\d)\d{12,15}|30[0-5]\d{11,16}|3[689]\d{12,17}){E}",
    # digit groups joined by a space or a dash: a first group of two digits or more, then one
    # of three or more (any combination of groups the detector may try)
    r"{B}\d{2,}[ \-]\d{3}",
    # a mainland passport form
    r"{B}(?:E\d{8}|E[A-HJ-NP-Z]\d{7}|G\d{8}|[DSP]E?\d{7}|S\d{8}){E}",
)
#: with a threshold that reports unvalidated matches (0.4 or lower), any number of a length
#: a detector reads, and any passport-shaped token
_ANY_NUMBERS: Final = (
    r"{B}(?:\d{11,19}|\d{17}[Xx]){E}",
    r"{B}\d{2,}[ \-]\d{3}",
    r"{B}[A-Z]{1,2}\d{7,8}{E}",
)
_EMAIL_TRIGGER: Final = r"[A-Za-z0-9._%+\-]@[A-Za-z0-9\-]+\.[A-Za-z]{2}"
#: characters whose folding can make a trigger appear: full-width digits, letters, ``@`` and
#: ``.``; an ideographic space or a full-width dash next to an ASCII digit (UTF-8 bytes)
_HS_FOLD: Final = (
    rb"\xEF\xBC[\x90-\x99\xA0\xA1-\xBA\x8E]|\xEF\xBD[\x81-\x9A]"
    rb"|[0-9](?:\xE3\x80\x80|\xEF\xBC\x8D)|(?:\xE3\x80\x80|\xEF\xBC\x8D)[0-9]"
)


def _bounded(pattern: str, before: str, after: str) -> str:
    return pattern.replace("{B}", before).replace("{E}", after)


def _hs_patterns(validated_only: bool) -> list[tuple[int, bytes, bool]]:
    numbers = _VALIDATED_NUMBERS if validated_only else _VALIDATED_NUMBERS + _ANY_NUMBERS
    hs_b, hs_e = r"(?:^|[^0-9A-Za-z])", r"(?:[^0-9A-Za-z]|$)"
    out = [(NUMBER, _bounded(p, hs_b, hs_e).encode(), False) for p in numbers]
    out.append((EMAIL, _EMAIL_TRIGGER.encode(), False))
    out.append((NAMEKEY, "姓名|名字".encode() + rb"|name", True))
    out.append((FOLD, _HS_FOLD, False))
    return out


@functools.cache
def _re_numbers(validated_only: bool) -> re.Pattern[str]:
    numbers = _VALIDATED_NUMBERS if validated_only else _VALIDATED_NUMBERS + _ANY_NUMBERS
    b, e = r"(?<![0-9A-Za-z])", r"(?![0-9A-Za-z])"
    # a lookahead for a digit first: the alternation is tried only where a number starts
    return re.compile(
        r"(?=[0-9A-Z])(?:" + "|".join(_bounded(p, b, e) for p in numbers) + ")", re.ASCII
    )


_RE_EMAIL: Final = re.compile(_EMAIL_TRIGGER)
_RE_NAME: Final = re.compile(r"[Nn][Aa][Mm][Ee]")
_NAME_KEYS: Final = ("姓名", "名字")
#: bytes that are ASCII letters or digits (a hyperscan match's boundary character is not)
_ALNUM: Final = frozenset(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")

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
def _database(validated_only: bool = False) -> Any:
    """The compiled hyperscan database (once per process and mode), or None without it."""
    hs = _load_hyperscan()
    if hs is None:
        return None
    patterns = _hs_patterns(validated_only)
    db = hs.Database(mode=hs.HS_MODE_BLOCK)
    db.compile(
        expressions=[pattern for _, pattern, _ in patterns],
        ids=[ident for ident, _, _ in patterns],
        elements=len(patterns),
        flags=[
            (0 if ident == NUMBER else hs.HS_FLAG_SOM_LEFTMOST)
            | (hs.HS_FLAG_CASELESS if caseless else 0)
            for ident, _, caseless in patterns
        ],
    )
    return db


def hyperscan_available() -> bool:
    """Whether the hyperscan engine can be used in this process."""
    return _database() is not None


class Prefilter:
    """Candidate windows of a text, from hyperscan or from the ``re`` fallback.

    ``validated_only``: find only the numbers that can pass validation (an ID with a real
    month and day, an allocated mobile, a card with an issuer prefix and length); right when
    unvalidated matches cannot be reported (a threshold above 0.4).
    """

    __slots__ = ("_db", "_hs", "_re_numbers", "_scratch", "engine", "validated_only")

    def __init__(self, engine: Engine = "auto", *, validated_only: bool = False) -> None:
        db = _database(validated_only) if engine != "re" else None
        if engine == "hyperscan" and db is None:
            raise RuntimeError("hyperscan was asked for but cannot be loaded")
        self._db = db
        self._hs = _load_hyperscan() if db is not None else None
        self._scratch = self._hs.Scratch(db) if self._hs is not None else None
        self._re_numbers = _re_numbers(validated_only)
        #: the engine in use: ``"hyperscan"`` or ``"re"``
        self.engine: Literal["hyperscan", "re"] = "hyperscan" if db is not None else "re"
        #: numbers wake it only when they can pass validation
        self.validated_only = validated_only

    def triggers(self, text: str) -> list[tuple[int, int, int]]:
        """``(trigger, start, end)`` character spans, in no particular order."""
        if self._db is None:
            return _re_triggers(fold(text), self._re_numbers)
        data = text.encode("utf-8", "replace")
        found = self.scan_bytes(data)
        if found is None:  # full-width characters that may hide a trigger: fold, scan again
            data = fold(text).encode("utf-8", "replace")
            found = self.scan_bytes(data, folded=True)
        if len(data) == len(text) or not found:
            return found or []
        return _to_chars(data, found)

    def scan_bytes(self, data: bytes, *, folded: bool = False) -> list[tuple[int, int, int]] | None:
        """``(trigger, start, end)`` byte spans in UTF-8 ``data`` (hyperscan only); None when
        ``data`` holds characters that must be folded first (unless ``folded``)."""
        found: list[tuple[int, int, int]] = []
        refold = False

        def on_match(ident: int, start: int, end: int, _flags: int, _ctx: object) -> None:
            nonlocal refold
            if ident == FOLD:
                refold = True
                return
            if ident == NUMBER:  # no start (cheaper): the window widens back from the end
                if data[end - 1] not in _ALNUM:  # the boundary character the match took in
                    end -= 1
                start = end
            found.append((ident, start, end))

        db: Any = self._db
        db.scan(data, match_event_handler=on_match, scratch=self._scratch)
        return None if refold and not folded else found

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


def _re_triggers(text: str, numbers: re.Pattern[str]) -> list[tuple[int, int, int]]:
    found = [(NUMBER, m.start(), m.end()) for m in numbers.finditer(text)]
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


_DIGIT_BYTES: Final = frozenset(b"0123456789")
#: ASCII bytes a window never widens over (not token characters, not a gap)
_STOP_BYTES: Final = frozenset(range(0x80)) - frozenset(
    b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz._%+-@() "
)
#: ASCII bytes that let a window cross a space (digit-like characters)
_DIGITISH_BYTES: Final = frozenset(b"0123456789+-()Xx")


def _stops(data: bytes, neighbour: int, beyond: int) -> bool:
    """Whether a window stops at the byte at ``neighbour`` (just outside a digit run): an
    ASCII character that is neither a token character nor a space, or a space whose other
    side (``beyond``) is not digit-like (nor a full-width character, to be safe); see
    :func:`_widen_left` and :func:`_widen_right`."""
    if neighbour < 0 or neighbour >= len(data):
        return True
    byte = data[neighbour]
    if byte == 0x20:
        if beyond < 0 or beyond >= len(data):
            return True
        other = data[beyond]
        return other < 0x80 and other not in _DIGITISH_BYTES
    return byte in _STOP_BYTES


def lone_run(data: bytes, end: int) -> str | None:
    """The run of ASCII digits that ends at byte ``end`` of UTF-8 ``data``, when the window
    of a trigger there would hold that run alone (both neighbours stop it); else None."""
    start = end
    while start > 0 and data[start - 1] in _DIGIT_BYTES:
        start -= 1
    if start == end or not (_stops(data, start - 1, start - 2) and _stops(data, end, end + 1)):
        return None
    return data[start:end].decode("ascii")


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
