"""Audit entries: what is recorded about each access, and its exact bytes.

An entry is the RFC 8785 canonical JSON (JCS) of::

    {
      "v": 1,
      "time": "2026-11-29T15:20:00.123Z",        UTC, milliseconds
      "request_id": "…",                          the API request, or a CLI/batch run id
      "nonce": "<base64 16 bytes>",               two identical accesses differ
      "actor": {"id": "inv-0042", "role": "investigator", "unit": "CID-3"},
      "action": "read",                           search | read | create | update | delete |
                                                  reveal | export | admin | authenticate
      "collection": "person",                     or users | tokens | keys | policies | audit
      "records": ["01a2…"],                       record references (never contents)
      "subjects": ["<base64 32 bytes>"],          HMAC(subject key, resident ID) per person
      "purpose": {"code": "CASE", "legal_basis": "…", "case_ref": "A-1", "covert": false},
      "approval_ref": null,                       a second approver (the guard issue)
      "outcome": "allowed",                       allowed | denied | failed
      "fields": ["name", "resident_id"],          fields released (in any form)
      "policies": ["case.assigned_records"],      the policies that decided
      "break_glass": false,
      "justification": null | "<base64 sealed>",  free text is sealed (AES-256-GCM, audit key)
      "embargo_until": null | "<time>",           covert: hidden from the citizen until then
      "detail": {…}                               small non-personal extras (index searched,
                                                  counts, the principal an admin acted on)
    }

The leaf hash is SHA-256(0x00 ‖ these bytes) (RFC 6962); the bytes are stored exactly as
hashed, so a receipt can carry them and anyone can recompute the leaf.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

import rfc8785

from strongroom.crypto.hazmat import aead_decrypt, aead_encrypt, aead_for, random_bytes
from strongroom.errors import OpenError

VERSION: Final = 1
ACTIONS: Final = frozenset(
    {
        "search",
        "read",
        "create",
        "update",
        "delete",
        "reveal",
        "export",
        "admin",
        "authenticate",
    }
)
OUTCOMES: Final = frozenset({"allowed", "denied", "failed"})
#: the keyring service key whose HMAC of a resident ID is an entry's subject (and what a
#: citizen principal is bound to)
SUBJECT_KEY: Final = "citizen-subject"
_AAD: Final = b"strongroom audit justification v1"


def iso_ms(when: datetime) -> str:
    """``2026-11-29T15:20:00.123Z``."""
    utc = when.astimezone(UTC)
    if utc.year >= 1000:  # the same text as below, faster
        return utc.isoformat(timespec="milliseconds")[:23] + "Z"
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@dataclass(frozen=True, slots=True)
class Entry:
    """One access, before it is encoded (see the module docstring for each field)."""

    time: datetime
    actor_id: str
    actor_role: str
    actor_unit: str
    action: str
    collection: str
    purpose_code: str
    outcome: str = "allowed"
    legal_basis: str = ""
    case_ref: str | None = None
    covert: bool = False
    records: Sequence[str] = ()
    subjects: Sequence[bytes] = ()
    fields: Sequence[str] = ()
    policies: Sequence[str] = ()
    break_glass: bool = False
    justification: str | None = None
    embargo_until: datetime | None = None
    request_id: str = ""
    approval_ref: str | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)

    def encode(self, seal_key: bytes, nonce: bytes | None = None) -> bytes:
        """The canonical bytes (RFC 8785). The justification is sealed with ``seal_key``."""
        return self.encode_doc(seal_key, nonce)[0]

    def encode_doc(self, seal_key: bytes, nonce: bytes | None = None) -> tuple[bytes, Any]:
        """The canonical bytes and the JSON document they encode (what ``decode`` returns)."""
        if self.action not in ACTIONS:
            raise ValueError(f"audit entry: unknown action {self.action!r}")
        if self.outcome not in OUTCOMES:
            raise ValueError(f"audit entry: unknown outcome {self.outcome!r}")
        n = nonce if nonce is not None else os.urandom(16)
        sealed = None
        if self.justification:
            sealed = b64(seal_justification(seal_key, self.justification))
        # keys in RFC 8785 order (all ASCII: code-point order), as _write_flat writes them
        doc: Any = {
            "action": self.action,
            "actor": {"id": self.actor_id, "role": self.actor_role, "unit": self.actor_unit},
            "approval_ref": self.approval_ref,
            "break_glass": self.break_glass,
            "collection": self.collection,
            "detail": dict(self.detail),
            "embargo_until": iso_ms(self.embargo_until) if self.embargo_until else None,
            "fields": sorted(set(self.fields)),
            "justification": sealed,
            "nonce": b64(n),
            "outcome": self.outcome,
            "policies": list(dict.fromkeys(self.policies)),
            "purpose": {
                "case_ref": self.case_ref,
                "code": self.purpose_code,
                "covert": self.covert,
                "legal_basis": self.legal_basis,
            },
            "records": list(self.records),
            "request_id": self.request_id,
            "subjects": sorted({b64(s) for s in self.subjects}),
            "time": iso_ms(self.time),
            "v": VERSION,
        }
        leaves = [
            self.request_id,
            self.actor_id,
            self.actor_role,
            self.actor_unit,
            self.collection,
            self.purpose_code,
            self.legal_basis,
            self.case_ref,
            self.covert,
            self.approval_ref,
            self.break_glass,
            *doc["records"],
            *doc["fields"],
            *doc["policies"],
        ]
        if {type(x) for x in leaves} <= _SCALARS and _plain(doc["detail"]):
            try:
                if {type(x) for x in doc["detail"].values()} <= _FLAT:
                    return _write_flat(doc).encode("utf-8"), doc
                return _json_canonical(doc).encode("utf-8"), doc
            except UnicodeEncodeError:
                pass  # a lone surrogate: rfc8785 raises its own error
        return bytes(rfc8785.dumps(doc)), doc


def _val(v: Any) -> str:
    """A scalar as ``json`` writes it (str, bool, None, or an int already range-checked)."""
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if type(v) is str:
        return _quote(v)
    return int.__repr__(v)


def _write_flat(d: Any) -> str:
    """What ``_json_canonical(d)`` returns for an entry document whose leaves are strings,
    booleans or null and whose ``detail`` is flat (scalar values, ASCII keys), written
    directly: the keys of every object in RFC 8785 order."""
    a, p = d["actor"], d["purpose"]
    detail = ",".join([_quote(k) + ":" + _val(v) for k, v in sorted(d["detail"].items())])
    return "".join(
        [
            '{"action":',
            _val(d["action"]),
            ',"actor":{"id":',
            _val(a["id"]),
            ',"role":',
            _val(a["role"]),
            ',"unit":',
            _val(a["unit"]),
            '},"approval_ref":',
            _val(d["approval_ref"]),
            ',"break_glass":',
            _val(d["break_glass"]),
            ',"collection":',
            _val(d["collection"]),
            ',"detail":{',
            detail,
            '},"embargo_until":',
            _val(d["embargo_until"]),
            ',"fields":[',
            ",".join(map(_val, d["fields"])),
            '],"justification":',
            _val(d["justification"]),
            ',"nonce":',
            _val(d["nonce"]),
            ',"outcome":',
            _val(d["outcome"]),
            ',"policies":[',
            ",".join(map(_val, d["policies"])),
            '],"purpose":{"case_ref":',
            _val(p["case_ref"]),
            ',"code":',
            _val(p["code"]),
            ',"covert":',
            _val(p["covert"]),
            ',"legal_basis":',
            _val(p["legal_basis"]),
            '},"records":[',
            ",".join(map(_val, d["records"])),
            '],"request_id":',
            _val(d["request_id"]),
            ',"subjects":[',
            ",".join(map(_val, d["subjects"])),
            '],"time":',
            _val(d["time"]),
            ',"v":',
            _val(d["v"]),
            "}",
        ]
    )


_SCALARS: Final = frozenset({str, bool, type(None)})
_FLAT: Final = frozenset({str, bool, type(None), int})  # detail values (ints range-checked)
_INT_MAX: Final = 2**53 - 1  # RFC 8785: integers an IEEE 754 double holds exactly
_json_canonical = json.JSONEncoder(
    ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
).encode
#: a JSON string as the encoders above write it (escapes only ", \\ and control characters)
_quote: Callable[[str], str] = json.encoder.encode_basestring


def _plain(value: Any) -> bool:
    """Whether ``json`` writes ``value`` exactly as RFC 8785 does: strings, ints within
    ±(2**53 - 1), booleans, null, lists and dicts of them with ASCII keys (floats, huge ints
    and non-ASCII keys, whose JCS order is by UTF-16 code units, are left to ``rfc8785``)."""
    t = type(value)
    if t is str or t is bool or value is None:
        return True
    if t is int:
        return bool(-_INT_MAX <= value <= _INT_MAX)
    if t is list or t is tuple:
        return all(_plain(v) for v in value)
    if t is dict:
        return all(type(k) is str and k.isascii() and _plain(v) for k, v in value.items())
    return False


def canonical_json(doc: Any) -> bytes:
    """RFC 8785 canonical JSON of ``doc``, byte for byte what ``rfc8785.dumps`` returns.

    For the value types entries hold, the C ``json`` encoder with sorted keys, no spaces and
    no ASCII escaping writes the same bytes (the same escapes of ``"``, ``\\`` and control
    characters, ints in decimal); anything else goes through ``rfc8785``, which also raises
    the same errors (e.g. for a lone surrogate)."""
    if _plain(doc):
        try:
            return _json_canonical(doc).encode("utf-8")
        except UnicodeEncodeError:
            pass  # a lone surrogate: rfc8785 raises its own error
    return bytes(rfc8785.dumps(doc))


def subject_of(key: bytes, resident_id: str) -> bytes:
    """HMAC-SHA256(subject key, normalised resident ID): 32 bytes, never the ID."""
    return hmac.new(key, b"subject\x00" + resident_id.encode("ascii"), hashlib.sha256).digest()


def seal_justification(key: bytes, text: str) -> bytes:
    """nonce 12 ‖ AES-256-GCM(text)."""
    nonce = random_bytes(12)
    return nonce + aead_encrypt(aead_for(key), nonce, text.encode("utf-8"), _AAD)


def open_justification(key: bytes, sealed: bytes) -> str:
    plain = aead_decrypt(aead_for(key), sealed[:12], sealed[12:], _AAD)
    if plain is None:
        raise OpenError()
    return plain.decode("utf-8")


def decode(entry: bytes) -> dict[str, Any]:
    """The entry's JSON (no check that it is canonical: :func:`is_canonical` does that)."""
    import json

    doc: dict[str, Any] = json.loads(entry)
    return doc


def is_canonical(entry: bytes) -> bool:
    try:
        doc: Any = decode(entry)
        return canonical_json(doc) == entry
    except (ValueError, TypeError):
        return False


def subjects_of(doc: Mapping[str, Any]) -> list[bytes]:
    return [base64.b64decode(s) for s in doc.get("subjects") or ()]


def parse_ms(text: str | None) -> int | None:
    if not text:
        return None
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))
