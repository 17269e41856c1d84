"""Values for the leak corpus: true positives in every spelling, near misses, and noise.

Everything is drawn from one :class:`random.Random` per file, so a seed gives the same values.
A near miss or a piece of noise that happens to be a valid identifier (an order number that
passes the Luhn check with a card prefix, say) is drawn again: the answer key must be true
by construction.
"""

from __future__ import annotations

import random
import re
from typing import Final

from strongroom.scan._validate import card_issuer, luhn_ok, mobile_ok, resident_id
from strongroom.synth import SynthPerson

__all__ = ["Values"]

_FW: Final = {ord(c): 0xFF10 + int(c) for c in "0123456789"} | {
    ord("+"): 0xFF0B,
    ord("E"): 0xFF25,
    ord("G"): 0xFF27,
    ord("X"): 0xFF38,
}

_EMAIL_LOCALS: Final = (
    "zhangwei",
    "li.na",
    "wangfang88",
    "liu_yang",
    "chen.jie2020",
    "yang+shop",
    "Huang.Lei",
    "zhao-min",
    "sunli",
    "ZHOU.Qiang",
)
_EMAIL_DOMAINS: Final = (
    "163.com",
    "qq.com",
    "126.com",
    "gmail.com",
    "example.com.cn",
    "sina.com",
    "foxmail.com",
    "corp.example.cn",
)
_WORDS: Final = tuple(
    [
        "the",
        "quick",
        "brown",
        "fox",
        "jumps",
        "over",
        "lazy",
        "dog",
        "lorem",
        "ipsum",
        "dolor",
        "sit",
        "amet",
        "request",
        "handled",
        "cache",
        "miss",
        "retry",
        "scheduled",
        "upstream",
        "timeout",
        "config",
        "reloaded",
    ]
)
_PHRASES: Final = (
    "系统运行正常",
    "数据同步完成",
    "请于三个工作日内处理",
    "订单已发货",
    "会议改期至下周",
    "库存不足",
    "报表已生成",
    "网络波动\uff0c稍后重试",
)
#: three-digit starts outside the allocated mobile ranges (each draw is checked again)
_BAD_MOBILE_PREFIXES: Final = tuple(
    [
        "100",
        "101",
        "104",
        "110",
        "111",
        "116",
        "120",
        "121",
        "122",
        "123",
        "124",
        "125",
        "126",
        "127",
        "128",
        "129",
        "140",
        "141",
        "142",
        "143",
        "144",
        "154",
        "160",
        "161",
        "163",
        "164",
        "168",
        "169",
        "174",
        "179",
        "194",
    ]
)
_DIGIT_RUN: Final = re.compile(r"[0-9]+")


def is_identifier(digits: str) -> bool:
    """Whether an all-digit string is a resident ID, a mobile or a bank card."""
    n = len(digits)
    if n in (15, 18) and resident_id(digits) is not None:
        return True
    if mobile_ok(digits) or (n == 13 and digits.startswith("86") and mobile_ok(digits[2:])):
        return True
    if n == 15 and digits.startswith("0086") and mobile_ok(digits[4:]):
        return True
    return card_issuer(digits) is not None and luhn_ok(digits)


def _luhn_digit(body: str) -> str:
    for d in "0123456789":
        if luhn_ok(body + d):
            return d
    raise AssertionError("unreachable: one check digit always fits")  # pragma: no cover


def national(phone: str) -> str:
    """The 11-digit national number of a synthetic person's phone."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    return digits[2:] if len(digits) == 13 and digits.startswith("86") else digits


class Values:
    """Spellings, near misses and noise, drawn deterministically from ``rng``."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self._turn: dict[str, int] = {}

    def _next(self, what: str, count: int) -> int:
        turn = self._turn.get(what, 0)
        self._turn[what] = turn + 1
        return turn % count

    def _digits(self, n: int) -> str:
        return "".join(self.rng.choice("0123456789") for _ in range(n))

    # ---- true positives: (raw spelling, normalised value)

    def resident_id(self, person: SynthPerson) -> tuple[str, str]:
        rid = person.resident_id
        spelling = self._next("resident_id", 7)
        if spelling == 1 and rid.endswith("X"):
            return rid[:17] + "x", rid
        if spelling == 2:
            return rid.translate(_FW), rid
        if spelling == 3:
            return f"{rid[:6]} {rid[6:14]} {rid[14:]}", rid
        if spelling == 4 and rid[6:8] == "19":
            return rid[:6] + rid[8:17], rid  # the 15-digit legacy form
        if spelling == 5:
            return f"{rid[:6]}-{rid[6:14]}-{rid[14:]}", rid
        return rid, rid

    def mobile(self, number: str) -> tuple[str, str]:
        n = number
        spellings = (
            n,
            f"{n[:3]} {n[3:7]} {n[7:]}",
            f"{n[:3]}-{n[3:7]}-{n[7:]}",
            f"+86 {n}",
            f"+86{n}",
            f"+86 {n[:3]} {n[3:7]} {n[7:]}",
            f"+86-{n[:3]}-{n[3:7]}-{n[7:]}",
            f"0086{n}",
            f"0086 {n}",
            f"86{n}",
            f"86-{n}",
            f"(+86) {n}",
            n.translate(_FW),
            f"+86 {n}".translate(_FW),
            f"{n[:3]} {n[3:]}",
        )
        return spellings[self._next("mobile", len(spellings))], "+86" + n

    def bank_card(self) -> tuple[str, str]:
        issuers = (("62", 16), ("62", 19), ("4", 16), ("53", 16), ("37", 15), ("3530", 16))
        prefix, length = issuers[self._next("card_issuer", len(issuers))]
        while True:
            body = prefix + self._digits(length - len(prefix) - 1)
            digits = body + _luhn_digit(body)
            if resident_id(digits) is None:
                break
        spelling = self._next("bank_card", 4)
        if spelling == 1:
            return " ".join(digits[i : i + 4] for i in range(0, length, 4)), digits
        if spelling == 2:
            return "-".join(digits[i : i + 4] for i in range(0, length, 4)), digits
        if spelling == 3:
            return digits.translate(_FW), digits
        return digits, digits

    def passport(self) -> tuple[str, str]:
        letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"
        forms = (
            lambda: "E" + self._digits(8),
            lambda: "E" + self.rng.choice(letters) + self._digits(7),
            lambda: "G" + self._digits(8),
            lambda: "D" + self._digits(7),
            lambda: "SE" + self._digits(7),
            lambda: "P" + self._digits(7),
        )
        value = forms[self._next("passport_form", len(forms))]()
        raw = value.translate(_FW) if self._next("passport", 5) == 4 else value
        return raw, value

    def email(self) -> tuple[str, str]:
        if self._next("email_qq", 4) == 0:
            local = str(self.rng.randint(10_000, 3_999_999_999))
            domain = "qq.com"
        else:
            local = self.rng.choice(_EMAIL_LOCALS) + str(self.rng.randint(0, 99))
            domain = self.rng.choice(_EMAIL_DOMAINS)
        raw = f"{local}@{domain}"
        if self._next("email_case", 5) == 0:
            raw = f"{local}@{domain.upper()}"
        return raw, raw.lower()

    # ---- near misses: (raw, kind it imitates, why it is not one)

    def near_miss(self, person: SynthPerson) -> tuple[str, str, str]:
        kind = self._next("near_miss", 10)
        while True:
            raw, imitates, why = self._near_miss(kind, person)
            if not any(is_identifier(run) for run in _DIGIT_RUN.findall(raw)):
                return raw, imitates, why

    def near_miss_order(self) -> str:
        """An 18-digit order number that is no identifier."""
        while True:
            raw = str(self.rng.randint(1, 9)) + self._digits(17)
            if not is_identifier(raw):
                return raw

    def _near_miss(self, kind: int, person: SynthPerson) -> tuple[str, str, str]:
        rng = self.rng
        if kind == 0:
            return str(rng.randint(1, 9)) + self._digits(17), "resident_id", "order number"
        if kind == 1:
            stamp = f"2024{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
            stamp += f"{rng.randint(0, 23):02d}{rng.randint(0, 59):02d}{rng.randint(0, 59):02d}"
            return stamp + self._digits(6), "resident_id", "timestamp"
        if kind == 2:
            rid = person.resident_id
            pos = rng.randrange(17)
            wrong = str((int(rid[pos]) + rng.randint(1, 9)) % 10)
            return rid[:pos] + wrong + rid[pos + 1 :], "resident_id", "one digit wrong"
        if kind == 3:
            return rng.choice(_BAD_MOBILE_PREFIXES) + self._digits(8), "mobile", "unallocated"
        if kind == 4:
            n = national(person.phones[0])
            return "9" + self._digits(2) + n + self._digits(3), "mobile", "inside a longer number"
        if kind == 5:
            rid = person.resident_id
            if rid.endswith("X"):
                rid = rid[:17] + "7"
            return "7" + rid + self._digits(2), "resident_id", "inside a longer number"
        if kind == 6:
            body = "62" + self._digits(rng.choice((13, 16)))
            bad = str((int(_luhn_digit(body)) + rng.randint(1, 9)) % 10)
            return body + bad, "bank_card", "fails the Luhn check"
        if kind == 7:
            stamp = f"17{self._digits(11)}"
            return stamp, "mobile", "epoch milliseconds"
        if kind == 8:
            return rng.choice(("E", "G")) + self._digits(7), "passport", "too short"
        return f"admin{rng.randint(1, 9)}@localhost", "email", "no top-level domain"

    # ---- noise

    def noise(self) -> str:
        while True:
            text = self._noise()
            if not any(is_identifier(run) for run in _DIGIT_RUN.findall(text)):
                return text

    def _noise(self) -> str:
        rng = self.rng
        choice = rng.randrange(8)
        if choice == 0:
            return " ".join(rng.choice(_WORDS) for _ in range(rng.randint(3, 9)))
        if choice == 1:
            return rng.choice(_PHRASES)
        if choice == 2:
            value = f"{rng.getrandbits(128):032x}"
            return f"{value[:8]}-{value[8:12]}-{value[12:16]}-{value[16:20]}-{value[20:]}"
        if choice == 3:
            return f"{rng.getrandbits(160):040x}"
        if choice == 4:
            return ".".join(str(rng.randint(1, 254)) for _ in range(4))
        if choice == 5:
            return f"¥{rng.randint(1, 99999)}.{rng.randint(0, 99):02d}"
        if choice == 6:
            return f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d} v{rng.randint(1, 9)}.2"
        return f"/api/v1/items?page={rng.randint(1, 500)}&size=20"
