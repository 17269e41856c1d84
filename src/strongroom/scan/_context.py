"""Context words: the words near a match, or in its column header, that say what it is.

A word supports one or more kinds (``联系方式`` supports mobile and email). Chinese words
match anywhere; ASCII words match case-insensitively as whole words, so ``id`` does not
match inside ``valid`` and ``tel`` not inside ``telegram`` (but ``idNumber`` and ``phone_no``
count: an upper-case letter, a digit or ``_`` may follow).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Final

from strongroom.scan._model import Kind

__all__ = ["WINDOW", "header_kinds", "near"]

#: characters either side of a match searched for a context word
WINDOW: Final = 40

_WORDS: Final[dict[Kind, tuple[tuple[str, ...], tuple[str, ...]]]] = {
    # kind: (Chinese words, ASCII words)
    "resident_id": (
        ("身份证", "证件号", "证件号码", "公民身份", "身份号码", "身份证号"),
        ("id", "idcard", "id_card", "idno", "id_no", "id_number", "resident_id", "citizen_id"),
    ),
    "mobile": (
        ("手机", "电话", "联系方式", "联系电话", "手机号", "移动电话"),
        ("phone", "mobile", "tel", "telephone", "cell", "cellphone", "mobilephone", "msisdn"),
    ),
    "bank_card": (
        ("银行卡", "卡号", "银行账号", "账号", "借记卡", "信用卡", "开户行"),
        ("card", "cardno", "card_no", "bank_card", "pan", "account", "acct", "iban"),
    ),
    "passport": (("护照", "护照号", "证件号", "证件号码"), ("passport", "passport_no")),
    "email": (("邮箱", "电子邮件", "邮件", "联系方式"), ("email", "e-mail", "mail", "mailbox")),
    "name": (("姓名", "名字", "联系人"), ("name", "full_name", "contact")),
}


def _compile(chinese: tuple[str, ...], ascii_words: tuple[str, ...]) -> re.Pattern[str]:
    words = "|".join(re.escape(w) for w in sorted(ascii_words, key=len, reverse=True))
    han = "|".join(re.escape(w) for w in chinese)
    return re.compile(rf"{han}|(?<![A-Za-z])(?i:{words})(?![a-z])")


_PATTERNS: Final[dict[Kind, re.Pattern[str]]] = {
    kind: _compile(*words) for kind, words in _WORDS.items()
}


def near(kind: Kind, text: str, start: int, end: int) -> bool:
    """Whether a context word for ``kind`` is within :data:`WINDOW` characters of the match."""
    return (
        _PATTERNS[kind].search(text, max(0, start - WINDOW), min(len(text), end + WINDOW))
        is not None
    )


@lru_cache(maxsize=4096)
def header_kinds(context: tuple[str, ...]) -> frozenset[Kind]:
    """The kinds that a chunk's column headers or keys support."""
    return frozenset(
        kind for kind, pattern in _PATTERNS.items() for h in context if pattern.search(h)
    )
