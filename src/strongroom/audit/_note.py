"""C2SP signed notes with Ed25519, checkpoints, and Ed25519 witness cosignatures.

Signed note (c2sp.org/signed-note; byte-compatible with golang.org/x/mod/sumdb/note)::

    <text: UTF-8, ends in "\\n", no control characters but "\\n">
    <blank line>
    — <key name> base64(key ID (4 bytes, big-endian) ‖ signature)\\n     one or more lines

    key ID          = SHA-256(name ‖ "\\n" ‖ type ‖ public key)[:4]
    type            = 0x01 Ed25519 note signature, 0x04 Ed25519 cosignature/v1
    verifier key    = <name>+<key ID as 8 hex digits>+base64(type ‖ 32-byte public key)
    signer key      = PRIVATE+KEY+<name>+<key ID as 8 hex digits>+base64(type ‖ 32-byte seed)

Names are non-empty, without Unicode spaces or ``+``. The text is separated from the signatures
by the *last* blank line. Signatures from unknown keys (name and ID not both known) are kept as
unverified and ignored; a known key whose signature fails rejects the whole note; a note with no
verified signature is rejected.

Checkpoint (c2sp.org/tlog-checkpoint), the text of the log's signed note::

    <origin>\\n<tree size, decimal, no leading zeros>\\n<base64 32-byte root>\\n[<extension>\\n]*

Cosignature (c2sp.org/tlog-cosignature, Ed25519 ``cosignature/v1``): a note signature with key
type 0x04 whose signature bytes are ``u64 timestamp (big-endian) ‖ Ed25519 signature`` over::

    cosignature/v1\\ntime <timestamp, decimal>\\n<checkpoint text>

Hierarchy::

    NoteError
    ├── KeyStringError        a signer or verifier key string is malformed
    ├── MalformedNoteError    the note, a signature line or the checkpoint text is malformed
    └── SignatureError        a known key's signature fails, or no known key signed
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Final, NoReturn, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from strongroom.errors import StrongroomError

__all__ = [
    "ALG_COSIGNATURE_V1",
    "ALG_ED25519",
    "Checkpoint",
    "CosignatureSigner",
    "CosignatureVerifier",
    "KeyStringError",
    "MalformedNoteError",
    "Note",
    "NoteError",
    "NoteSigner",
    "NoteVerifier",
    "Signature",
    "SignatureError",
    "Signer",
    "Verifier",
    "cosignature_timestamp",
    "generate_cosigner",
    "generate_signer",
    "open_checkpoint",
    "open_note",
    "parse_checkpoint",
    "sign_note",
    "signature_for",
    "signer_from_key",
    "verifier_from_key",
]

ALG_ED25519: Final = 0x01
ALG_COSIGNATURE_V1: Final = 0x04
_MAX_SIGNATURES: Final = 100  # as Go's note.Open; the spec asks for at least 16
_DASH: Final = "\u2014 "
_COSIG_HEADER: Final = b"cosignature/v1\n"
_MAX_TIMESTAMP: Final = (1 << 63) - 1


class NoteError(StrongroomError):
    """A signed note, checkpoint, key string or signature is unusable."""


class KeyStringError(NoteError):
    """A signer or verifier key string is malformed or its key ID does not match."""


class MalformedNoteError(NoteError):
    """The note (or checkpoint text) is not in the C2SP format."""


class SignatureError(NoteError):
    """A known key's signature does not verify, or no known key signed the note."""


# --- keys ---------------------------------------------------------------------------------------


def _valid_name(name: str) -> bool:
    return bool(name) and "+" not in name and not any(c.isspace() for c in name)


def _key_id(name: str, alg: int, public: bytes) -> int:
    digest = hashlib.sha256(name.encode() + b"\n" + bytes([alg]) + public).digest()
    return int.from_bytes(digest[:4], "big")


def _raw_public(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


class Signer(Protocol):
    """Signs note text: returns the signature bytes that follow the 4-byte key ID."""

    @property
    def name(self) -> str: ...
    @property
    def key_id(self) -> int: ...
    def sign(self, text: bytes) -> bytes: ...


class Verifier(Protocol):
    """Verifies the signature bytes (after the key ID) of one key over note text."""

    @property
    def name(self) -> str: ...
    @property
    def key_id(self) -> int: ...
    def verify(self, text: bytes, signature: bytes) -> bool: ...


class NoteVerifier:
    """An Ed25519 note verifier (key type 0x01). ``str()`` is its verifier key string."""

    alg: int = ALG_ED25519

    def __init__(self, name: str, public_key: bytes) -> None:
        if not _valid_name(name):
            raise KeyStringError("key name is empty or has a space or '+'")
        if len(public_key) != 32:
            raise KeyStringError("an Ed25519 public key is 32 bytes")
        self._name = name
        self._public = public_key
        self._key = Ed25519PublicKey.from_public_bytes(public_key)
        self._key_id = _key_id(name, self.alg, public_key)

    @property
    def name(self) -> str:
        return self._name

    @property
    def key_id(self) -> int:
        return self._key_id

    @property
    def public_key(self) -> bytes:
        return self._public

    def verify(self, text: bytes, signature: bytes) -> bool:
        if len(signature) != 64:
            return False
        try:
            self._key.verify(signature, text)
        except InvalidSignature:
            return False
        return True

    def __str__(self) -> str:
        b64 = base64.b64encode(bytes([self.alg]) + self._public).decode()
        return f"{self._name}+{self._key_id:08x}+{b64}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"


class CosignatureVerifier(NoteVerifier):
    """Verifies Ed25519 ``cosignature/v1`` signatures (key type 0x04)."""

    alg = ALG_COSIGNATURE_V1

    def verify(self, text: bytes, signature: bytes) -> bool:
        if len(signature) != 8 + 64:
            return False
        timestamp = int.from_bytes(signature[:8], "big")
        if timestamp > _MAX_TIMESTAMP:
            return False
        return super().verify(_cosigned_message(text, timestamp), signature[8:])


class NoteSigner:
    """An Ed25519 note signing key (type 0x01) behind a handle.

    Its ``repr`` shows only the public verifier key; it does not pickle; the secret key string
    comes out only through :meth:`export_secret_key`.
    """

    alg: int = ALG_ED25519

    def __init__(self, name: str, seed: bytes) -> None:
        if not _valid_name(name):
            raise KeyStringError("key name is empty or has a space or '+'")
        if len(seed) != 32:
            raise KeyStringError("an Ed25519 seed is 32 bytes")
        self._name = name
        self._seed = seed
        self._key = Ed25519PrivateKey.from_private_bytes(seed)
        self._verifier = self._verifier_class()(name, _raw_public(self._key))

    def _verifier_class(self) -> type[NoteVerifier]:
        return NoteVerifier

    @property
    def name(self) -> str:
        return self._name

    @property
    def key_id(self) -> int:
        return self._verifier.key_id

    @property
    def verifier(self) -> NoteVerifier:
        return self._verifier

    def sign(self, text: bytes) -> bytes:
        return self._key.sign(text)

    def export_secret_key(self) -> str:
        """The signer key string ``PRIVATE+KEY+<name>+<id>+base64(type ‖ seed)``. Secret."""
        b64 = base64.b64encode(bytes([self.alg]) + self._seed).decode()
        return f"PRIVATE+KEY+{self._name}+{self.key_id:08x}+{b64}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self._verifier)!r})"

    def __reduce__(self) -> NoReturn:
        raise TypeError(f"{type(self).__name__} holds a secret key and cannot be pickled")


class CosignatureSigner(NoteSigner):
    """An Ed25519 ``cosignature/v1`` key (type 0x04) for a witness.

    ``clock`` returns the POSIX time in seconds to put in each cosignature (injectable).
    """

    alg = ALG_COSIGNATURE_V1

    def __init__(
        self, name: str, seed: bytes, *, clock: Callable[[], int] = lambda: int(time.time())
    ) -> None:
        super().__init__(name, seed)
        self._clock = clock

    def _verifier_class(self) -> type[NoteVerifier]:
        return CosignatureVerifier

    def sign(self, text: bytes) -> bytes:
        timestamp = self._clock()
        if not 0 <= timestamp <= _MAX_TIMESTAMP:
            raise NoteError("cosignature timestamp out of range")
        return timestamp.to_bytes(8, "big") + self._key.sign(_cosigned_message(text, timestamp))


def _cosigned_message(text: bytes, timestamp: int) -> bytes:
    return _COSIG_HEADER + b"time %d\n" % timestamp + text


def _decode_key_b64(b64: str) -> bytes:
    try:
        return base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise KeyStringError("key material is not base64") from exc


def _parse_id(hex8: str) -> int:
    if len(hex8) != 8 or any(c not in "0123456789abcdefABCDEF" for c in hex8):
        raise KeyStringError("key ID is not 8 hex digits")
    return int(hex8, 16)


def verifier_from_key(vkey: str) -> NoteVerifier:
    """Parse a verifier key string (type 0x01 → :class:`NoteVerifier`, 0x04 → cosignature)."""
    parts = vkey.split("+", 2)
    if len(parts) != 3:
        raise KeyStringError("a verifier key is <name>+<id>+<key>")
    name, hex8, b64 = parts
    key_id = _parse_id(hex8)
    key = _decode_key_b64(b64)
    if not _valid_name(name) or not key:
        raise KeyStringError("malformed verifier key")
    classes: dict[int, type[NoteVerifier]] = {
        ALG_ED25519: NoteVerifier,
        ALG_COSIGNATURE_V1: CosignatureVerifier,
    }
    if key[0] not in classes:
        raise KeyStringError(f"unsupported key type 0x{key[0]:02x}")
    verifier = classes[key[0]](name, key[1:])
    if verifier.key_id != key_id:
        raise KeyStringError("verifier key ID does not match its name and key")
    return verifier


def signer_from_key(
    skey: str, *, clock: Callable[[], int] = lambda: int(time.time())
) -> NoteSigner:
    """Parse a signer key string (type 0x01 → :class:`NoteSigner`, 0x04 → cosigner).

    ``clock`` is used by cosigners only.
    """
    parts = skey.split("+", 4)
    if len(parts) != 5 or parts[0] != "PRIVATE" or parts[1] != "KEY":
        raise KeyStringError("a signer key is PRIVATE+KEY+<name>+<id>+<key>")
    _, _, name, hex8, b64 = parts
    key_id = _parse_id(hex8)
    key = _decode_key_b64(b64)
    if not _valid_name(name) or not key:
        raise KeyStringError("malformed signer key")
    signer: NoteSigner
    if key[0] == ALG_ED25519:
        signer = NoteSigner(name, key[1:])
    elif key[0] == ALG_COSIGNATURE_V1:
        signer = CosignatureSigner(name, key[1:], clock=clock)
    else:
        raise KeyStringError(f"unsupported key type 0x{key[0]:02x}")
    if signer.key_id != key_id:
        raise KeyStringError("signer key ID does not match its name and public key")
    return signer


def generate_signer(
    name: str, *, randbytes: Callable[[int], bytes] = os.urandom
) -> tuple[str, str]:
    """A new Ed25519 note key: ``(signer key string, verifier key string)``."""
    signer = NoteSigner(name, randbytes(32))
    return signer.export_secret_key(), str(signer.verifier)


def generate_cosigner(
    name: str, *, randbytes: Callable[[int], bytes] = os.urandom
) -> tuple[str, str]:
    """A new witness key (type 0x04): ``(signer key string, verifier key string)``."""
    signer = CosignatureSigner(name, randbytes(32))
    return signer.export_secret_key(), str(signer.verifier)


# --- notes --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Signature:
    """One signature line: key name, key ID and the signature bytes after the key ID."""

    name: str
    key_id: int
    signature: bytes

    @property
    def line(self) -> str:
        """``— <name> base64(key ID ‖ signature)\\n``."""
        b64 = base64.b64encode(self.key_id.to_bytes(4, "big") + self.signature).decode()
        return f"{_DASH}{self.name} {b64}\n"


@dataclass(frozen=True)
class Note:
    """An opened note: its text, the verified signatures and the ignored (unknown) ones."""

    text: str
    signatures: tuple[Signature, ...]
    unverified: tuple[Signature, ...] = ()

    def signed_by(self, verifier: Verifier) -> Signature | None:
        for sig in self.signatures:
            if sig.name == verifier.name and sig.key_id == verifier.key_id:
                return sig
        return None


def _check_text(text: str) -> None:
    for c in text:
        if c < " " and c != "\n":
            raise MalformedNoteError("note has a control character")


def sign_note(text: str, signers: Sequence[Signer], *, keep: Iterable[Signature] = ()) -> str:
    """Sign ``text`` (which must end in a newline) with each signer.

    ``keep`` are signatures already on the note (e.g. :attr:`Note.signatures` and
    :attr:`Note.unverified` of an opened note) to emit first, as Go's ``note.Sign`` does; one
    replaced by a new signature with the same name and key ID is dropped.
    """
    if not text.endswith("\n"):
        raise MalformedNoteError("note text must end in a newline")
    _check_text(text)
    if not signers and not keep:
        raise NoteError("a note needs at least one signature")
    raw = text.encode()
    new: list[Signature] = []
    for signer in signers:
        if not _valid_name(signer.name):
            raise KeyStringError("key name is empty or has a space or '+'")
        new.append(Signature(signer.name, signer.key_id, signer.sign(raw)))
    replaced = {(s.name, s.key_id) for s in new}
    old = [s for s in keep if (s.name, s.key_id) not in replaced]
    return text + "\n" + "".join(s.line for s in [*old, *new])


def signature_for(text: str, signer: Signer) -> Signature:
    """One signature by ``signer`` over ``text`` (e.g. a witness's cosignature line)."""
    if not text.endswith("\n"):
        raise MalformedNoteError("note text must end in a newline")
    _check_text(text)
    return Signature(signer.name, signer.key_id, signer.sign(text.encode()))


def open_note(note: str | bytes, verifiers: Iterable[Verifier]) -> Note:
    """Parse ``note`` and verify its signatures against the known ``verifiers``.

    Raises :class:`MalformedNoteError` for anything not in the C2SP format,
    :class:`SignatureError` if a known key's signature fails or none verifies.
    """
    if isinstance(note, bytes):
        try:
            note = note.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedNoteError("note is not UTF-8") from exc
    _check_text(note)
    split = note.rfind("\n\n")
    if split < 0:
        raise MalformedNoteError("note has no blank line before its signatures")
    text, block = note[: split + 1], note[split + 2 :]
    if not block or not block.endswith("\n"):
        raise MalformedNoteError("note must end with signature lines")
    known: dict[tuple[str, int], Verifier] = {}
    for v in verifiers:
        if (v.name, v.key_id) in known:
            raise NoteError(f"two verifiers share the name and key ID of {v.name}")
        known[(v.name, v.key_id)] = v
    raw = text.encode()
    verified: list[Signature] = []
    unverified: list[Signature] = []
    seen: set[tuple[str, int]] = set()
    seen_lines: set[str] = set()
    lines = block[:-1].split("\n")
    if len(lines) > _MAX_SIGNATURES:
        raise MalformedNoteError(f"note has more than {_MAX_SIGNATURES} signatures")
    for line in lines:
        sig = _parse_signature_line(line)
        verifier = known.get((sig.name, sig.key_id))
        if verifier is None:
            if line not in seen_lines:
                seen_lines.add(line)
                unverified.append(sig)
            continue
        if (sig.name, sig.key_id) in seen:
            continue
        seen.add((sig.name, sig.key_id))
        if not verifier.verify(raw, sig.signature):
            raise SignatureError(f"signature by {sig.name} does not verify")
        verified.append(sig)
    if not verified:
        raise SignatureError("no signature on the note is by a known key")
    return Note(text, tuple(verified), tuple(unverified))


def _parse_signature_line(line: str) -> Signature:
    if not line.startswith(_DASH):
        raise MalformedNoteError("signature line does not start with an em dash and a space")
    name, sep, b64 = line[len(_DASH) :].partition(" ")
    if not sep or not _valid_name(name) or not b64:
        raise MalformedNoteError("malformed signature line")
    try:
        data = base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise MalformedNoteError("signature is not base64") from exc
    if len(data) < 5:
        raise MalformedNoteError("signature is too short")
    return Signature(name, int.from_bytes(data[:4], "big"), data[4:])


def cosignature_timestamp(signature: Signature) -> int:
    """The POSIX timestamp in a ``cosignature/v1`` signature."""
    if len(signature.signature) != 8 + 64:
        raise MalformedNoteError("not an Ed25519 cosignature")
    return int.from_bytes(signature.signature[:8], "big")


# --- checkpoints --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    """A C2SP tlog-checkpoint: origin, tree size, root hash and optional extension lines."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.origin or "\n" in self.origin:
            raise MalformedNoteError("checkpoint origin is empty or has a newline")
        if not 0 <= self.size < 1 << 64:
            raise MalformedNoteError("checkpoint size is out of range")
        if len(self.root) != 32:
            raise MalformedNoteError("checkpoint root is not 32 bytes")
        if any(not e or "\n" in e for e in self.extensions):
            raise MalformedNoteError("checkpoint extension lines are non-empty single lines")

    @property
    def text(self) -> str:
        """The note text: ``origin\\nsize\\nbase64(root)\\n`` and any extension lines."""
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode()]
        return "\n".join([*lines, *self.extensions]) + "\n"


def parse_checkpoint(text: str) -> Checkpoint:
    """Parse checkpoint note text (from :attr:`Note.text`); strict about every line."""
    if not text.endswith("\n"):
        raise MalformedNoteError("checkpoint text must end in a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise MalformedNoteError("checkpoint has fewer than three lines")
    origin, size_s, root_s, *extensions = lines
    if not size_s.isascii() or not size_s.isdigit() or (size_s != "0" and size_s[0] == "0"):
        raise MalformedNoteError("checkpoint size is not a decimal without leading zeros")
    try:
        root = base64.b64decode(root_s, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise MalformedNoteError("checkpoint root is not base64") from exc
    if base64.b64encode(root).decode() != root_s:
        raise MalformedNoteError("checkpoint root is not canonical base64")
    return Checkpoint(origin, int(size_s), root, tuple(extensions))


def open_checkpoint(
    note: str | bytes,
    log: Verifier,
    witnesses: Iterable[Verifier] = (),
    *,
    origin: str | None = None,
) -> tuple[Checkpoint, Note]:
    """Open a signed checkpoint: it must carry a valid signature by ``log``.

    Valid cosignatures by any of ``witnesses`` are in the returned note's ``signatures``
    (counting them against a policy is the caller's job). ``origin``, if given, must match.
    """
    opened = open_note(note, [log, *witnesses])
    if opened.signed_by(log) is None:
        raise SignatureError("checkpoint is not signed by the log key")
    checkpoint = parse_checkpoint(opened.text)
    if origin is not None and checkpoint.origin != origin:
        raise MalformedNoteError("checkpoint origin is not the expected log's")
    return checkpoint, opened
