"""Receipts: one audit entry, offline-verifiable, in the C2SP tlog-proof format.

::

    c2sp.org/tlog-proof@v1
    extra <base64 of the exact entry bytes>
    index <leaf index>
    <base64 hash>                 one line per inclusion-proof hash
    ...
    <blank line>
    <the signed checkpoint note, with the witnesses' cosignature lines>

``extra`` carries the entry itself, so a receipt is self-contained: anyone holding the vault's
checkpoint key and the witnesses' keys recomputes the leaf hash from those bytes, checks the
inclusion proof against the checkpoint's root, and the checkpoint's signatures.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from strongroom.audit._merkle import ProofError, leaf_hash, verify_inclusion
from strongroom.audit._note import Checkpoint, NoteError, NoteVerifier, open_checkpoint
from strongroom.errors import ValidationError

HEADER: Final = "c2sp.org/tlog-proof@v1"


def make_receipt(entry: bytes, index: int, proof: Sequence[bytes], checkpoint_note: str) -> str:
    lines = [HEADER, "extra " + base64.b64encode(entry).decode(), f"index {index}"]
    lines += [base64.b64encode(h).decode() for h in proof]
    return "\n".join(lines) + "\n\n" + checkpoint_note


@dataclass(frozen=True, slots=True)
class VerifiedReceipt:
    entry: bytes
    index: int
    checkpoint: Checkpoint
    witnesses: tuple[str, ...]


def _b64(text: str) -> bytes:
    """Strict base64: only the canonical encoding of the bytes is accepted (non-zero
    trailing bits would let one receipt have many spellings)."""
    data = base64.b64decode(text, validate=True)
    if base64.b64encode(data).decode("ascii") != text:
        raise ValueError("not canonical base64")
    return data


def _bad(reason: str) -> ValidationError:
    return ValidationError.single("receipt", reason)


def verify_receipt(
    text: str,
    log: NoteVerifier,
    witnesses: Sequence[NoteVerifier] = (),
    *,
    required: int = 0,
    origin: str | None = None,
) -> VerifiedReceipt:
    """Check a receipt; raise :class:`ValidationError` (field ``receipt``) saying what fails."""
    head, sep, note = text.partition("\n\n")
    if not sep:
        raise _bad("no blank line before the checkpoint")
    lines = head.split("\n")
    if not lines or lines[0] != HEADER:
        raise _bad(f"does not start with {HEADER}")
    rest = lines[1:]
    if not rest or not rest[0].startswith("extra "):
        raise _bad("no 'extra' line carrying the entry")
    try:
        entry = _b64(rest[0][6:])
        if len(rest) < 2 or not rest[1].startswith("index "):
            raise _bad("no 'index' line")
        index_text = rest[1][6:]
        if not index_text.isdigit() or (index_text != "0" and index_text.startswith("0")):
            raise _bad("the index is not a number")
        index = int(index_text)
        proof = [_b64(h) for h in rest[2:]]
    except (binascii.Error, ValueError):
        raise _bad("a hash or the entry is not base64") from None
    if any(len(h) != 32 for h in proof):
        raise _bad("a proof hash is not 32 bytes")
    _body, _sep, signatures = note.partition("\n\n")
    for line in signatures.split("\n"):
        if not line:
            continue
        try:  # stricter than a signed note needs: one receipt, one spelling
            _b64(line.rsplit(" ", 1)[-1])
        except (binascii.Error, ValueError):
            raise _bad("a signature line is not canonical base64") from None
    try:
        checkpoint, opened = open_checkpoint(note, log, witnesses, origin=origin)
    except NoteError as exc:
        raise _bad(f"the checkpoint does not verify ({exc})") from None
    cosigned = tuple(sorted({s.name for s in opened.signatures if s.name != log.name}))
    if len(cosigned) < required:
        raise _bad(f"the checkpoint has {len(cosigned)} witness cosignature(s), {required} needed")
    if index >= checkpoint.size:
        raise _bad("the index is beyond the checkpoint")
    try:
        verify_inclusion(index, checkpoint.size, leaf_hash(entry), proof, checkpoint.root)
    except ProofError:
        raise _bad("the entry is not in the checkpointed log (inclusion proof fails)") from None
    return VerifiedReceipt(entry, index, checkpoint, cosigned)
