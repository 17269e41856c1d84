"""C2SP signed notes, checkpoints and cosignatures, byte for byte against Go and tessera vectors.

Vectors come from ``../shared/vectors/note_vectors.json`` and ``../shared/vectors/tessera``;
tests that need them skip when that folder is absent.
"""

from __future__ import annotations

import base64
import hashlib
import json
import pickle
from pathlib import Path
from typing import Any

import pytest

from strongroom.audit import (
    Checkpoint,
    CosignatureSigner,
    CosignatureVerifier,
    KeyStringError,
    MalformedNoteError,
    NoteError,
    NoteSigner,
    NoteVerifier,
    SignatureError,
    cosignature_timestamp,
    generate_cosigner,
    generate_signer,
    open_checkpoint,
    open_note,
    parse_checkpoint,
    sign_note,
    signature_for,
    signer_from_key,
    verifier_from_key,
)

VECTORS = Path(__file__).resolve().parents[2] / "shared" / "vectors"
needs_vectors = pytest.mark.skipif(
    not VECTORS.is_dir(), reason=f"test vectors not found at {VECTORS} (../shared/vectors)"
)


@pytest.fixture(scope="module")
def vectors() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((VECTORS / "note_vectors.json").read_text())
    return data


def _fixed(byte: int) -> Any:
    return lambda n: bytes([byte]) * n


# --- Go sumdb/note and C2SP vectors -------------------------------------------------------------


@needs_vectors
def test_go_note_is_reproduced_byte_for_byte(vectors: dict[str, Any]) -> None:
    go = vectors["go_sumdb_note"]
    signer = signer_from_key(go["skey"])
    assert str(signer.verifier) == go["vkey"]
    assert signer.export_secret_key() == go["skey"]
    assert sign_note(go["text"], [signer]) == go["signed"]
    note = open_note(go["signed"], [verifier_from_key(go["vkey"])])
    assert note.text == go["text"]
    assert [s.line for s in note.signatures] == [go["signed"].split("\n\n")[-1]]


@needs_vectors
def test_go_note_with_two_signers(vectors: dict[str, Any]) -> None:
    go = vectors["go_sumdb_note"]
    both = go["signed"] + go["second_signature_line"]
    peter, enoch = verifier_from_key(go["vkey"]), verifier_from_key(go["second_signer_vkey"])
    note = open_note(both, [peter, enoch])
    assert [s.name for s in note.signatures] == ["PeterNeumann", "EnochRoot"]
    only_peter = open_note(both, [peter])
    assert [s.name for s in only_peter.signatures] == ["PeterNeumann"]
    assert [s.line for s in only_peter.unverified] == [go["second_signature_line"]]
    # re-signing keeps the unknown signature and replaces the known one (Go's note.Sign)
    resigned = sign_note(
        only_peter.text,
        [signer_from_key(go["skey"])],
        keep=[*only_peter.signatures, *only_peter.unverified],
    )
    peter_line = go["signed"].split("\n\n")[-1]
    assert resigned == go["text"] + "\n" + go["second_signature_line"] + peter_line
    assert open_note(resigned, [peter, enoch]).signatures[1].name == "PeterNeumann"


@needs_vectors
def test_c2sp_example_note_verifies(vectors: dict[str, Any]) -> None:
    ex = vectors["c2sp_signed_note_example"]
    verifier = verifier_from_key(ex["vkey"])
    assert str(verifier) == ex["vkey"]
    note = open_note(ex["signed"], [verifier])
    assert note.text == "This is an example message.\n"
    assert note.signatures[0].key_id == 0x530D903A


@needs_vectors
def test_formats_key_pairs(vectors: dict[str, Any]) -> None:
    for skey, vkey in vectors["formats_keypairs"]:
        signer = signer_from_key(skey)
        assert str(signer.verifier) == vkey
        assert signer.export_secret_key() == skey
        assert str(verifier_from_key(vkey)) == vkey


@needs_vectors
def test_key_id_is_sha256_of_name_type_and_key(vectors: dict[str, Any]) -> None:
    vkey = vectors["go_sumdb_note"]["vkey"]
    name, hex8, b64 = vkey.split("+")
    digest = hashlib.sha256(name.encode() + b"\n" + base64.b64decode(b64)).digest()
    assert digest[:4].hex() == hex8 == f"{verifier_from_key(vkey).key_id:08x}"


@needs_vectors
@pytest.mark.parametrize("n", range(16))
def test_tessera_checkpoints_verify_and_are_reproduced(vectors: dict[str, Any], n: int) -> None:
    log = vectors["tessera_testdata_log"]
    raw = (VECTORS / "tessera" / f"tessera_checkpoint.{n}").read_text()
    checkpoint, note = open_checkpoint(
        raw, verifier_from_key(log["vkey"]), origin="example.com/log/testdata"
    )
    assert checkpoint.size == n
    assert checkpoint.text == note.text
    assert sign_note(checkpoint.text, [signer_from_key(log["skey"])]) == raw
    with pytest.raises(MalformedNoteError, match="origin"):
        open_checkpoint(raw, verifier_from_key(log["vkey"]), origin="example.com/other")


@needs_vectors
def test_sumdb_tree_note_text_parses(vectors: dict[str, Any]) -> None:
    text = vectors["go_sumdb_tlog_tree_note_golden"]
    checkpoint = parse_checkpoint(text)
    assert (checkpoint.origin, checkpoint.size) == ("go.sum database tree", 123456789012)
    assert checkpoint.text == text


# --- keys ---------------------------------------------------------------------------------------


def test_generated_keys_are_deterministic_from_injected_randomness() -> None:
    skey, vkey = generate_signer("vault.example/log", randbytes=_fixed(7))
    assert (skey, vkey) == generate_signer("vault.example/log", randbytes=_fixed(7))
    assert skey.startswith("PRIVATE+KEY+vault.example/log+")
    assert vkey.startswith("vault.example/log+") and "PRIVATE" not in vkey
    assert str(signer_from_key(skey).verifier) == vkey
    assert base64.b64decode(vkey.split("+")[2])[0] == 0x01
    cskey, cvkey = generate_cosigner("witness.example/w1", randbytes=_fixed(7))
    assert base64.b64decode(cvkey.split("+")[2])[0] == 0x04
    assert isinstance(verifier_from_key(cvkey), CosignatureVerifier)
    assert isinstance(signer_from_key(cskey), CosignatureSigner)
    assert generate_signer("a")[0] != generate_signer("a")[0]


def test_signer_handle_keeps_its_secret() -> None:
    skey, vkey = generate_signer("log", randbytes=_fixed(1))
    signer = signer_from_key(skey)
    assert skey not in repr(signer) and vkey in repr(signer)
    with pytest.raises(TypeError, match="pickle"):
        pickle.dumps(signer)


@pytest.mark.parametrize(
    "key",
    [
        "",
        "PRIVATE+KEY+log",
        "PRIVATE+KEY+log+0000000+AQ==",  # 7 hex digits
        "PRIVATE+KEY+log+zzzzzzzz+AQ==",
        "PRIVATE+KEY+log+00000000+!!!!",
        "PRIVATE+KEY++00000000+" + base64.b64encode(b"\x01" + b"\x00" * 32).decode(),
        "PRIVATE+KEY+a b+00000000+" + base64.b64encode(b"\x01" + b"\x00" * 32).decode(),
        "PRIVATE+KEY+log+00000000+" + base64.b64encode(b"\x01" + b"\x00" * 31).decode(),
        "PRIVATE+KEY+log+00000000+" + base64.b64encode(b"\x09" + b"\x00" * 32).decode(),
        "PRIVATE+KEY+log+00000000+" + base64.b64encode(b"\x01" + b"\x00" * 32).decode(),  # id
        "SECRET+KEY+log+00000000+" + base64.b64encode(b"\x01" + b"\x00" * 32).decode(),
    ],
)
def test_malformed_signer_keys_are_refused(key: str) -> None:
    with pytest.raises(KeyStringError):
        signer_from_key(key)


def test_malformed_verifier_keys_are_refused() -> None:
    _, vkey = generate_signer("log", randbytes=_fixed(3))
    name, hex8, b64 = vkey.split("+")
    raw = base64.b64decode(b64)
    bad = [
        "log",
        f"{name}+{hex8}",
        f"{name}+{int(hex8, 16) ^ 1:08x}+{b64}",  # wrong ID
        f"other+{hex8}+{b64}",
        f"{name}+{hex8}+" + base64.b64encode(b"\x09" + raw[1:]).decode(),
        f"{name}+{hex8}+" + base64.b64encode(raw[:-1]).decode(),
        f"{name}+{hex8}+{b64[:-1]}",
        f"{name}+{hex8}+",
    ]
    for vk in bad:
        with pytest.raises(KeyStringError):
            verifier_from_key(vk)


# --- notes: malformed and unverifiable ----------------------------------------------------------

SKEY, VKEY = generate_signer("vault.example/log", randbytes=_fixed(9))
SIGNER = signer_from_key(SKEY)
VERIFIER = verifier_from_key(VKEY)
TEXT = "vault.example/log\n3\n" + base64.b64encode(b"\x11" * 32).decode() + "\n"
SIGNED = sign_note(TEXT, [SIGNER])
LINE = SIGNED.split("\n\n")[1]


@pytest.mark.parametrize(
    ("note", "why"),
    [
        (TEXT, "no blank line"),
        (TEXT + "\n", "no signature lines"),
        (SIGNED[:-1], "last line unterminated"),
        (TEXT + "\n" + LINE.replace("\u2014", "-"), "hyphen, not em dash"),
        (TEXT + "\n" + LINE.replace("\u2014 ", "\u2014"), "no space after the dash"),
        (TEXT + "\n" + LINE.replace("log ", "log  "), "two spaces before the signature"),
        (TEXT + "\n" + LINE.replace("vault.example/log ", "vault.example/log+x "), "plus in name"),
        (TEXT + "\n" + "\u2014  " + LINE[2:], "empty name"),
        (TEXT + "\n" + LINE[:-3] + "!\n", "not base64"),
        (TEXT + "\n" + "\u2014 vault.example/log AAAAAA==\n", "signature under 5 bytes"),
        (TEXT + "\n" + "\u2014 vault.example/log \n", "empty signature"),
        (TEXT.replace("3", "3\t") + "\n" + LINE, "control character"),
        (TEXT + "\n" + LINE + "\n", "blank line after signatures"),
        (TEXT + "\n" + LINE * 101, "too many signatures"),
    ],
)
def test_malformed_notes_are_refused(note: str, why: str) -> None:
    with pytest.raises(MalformedNoteError):
        open_note(note, [VERIFIER])


def test_invalid_utf8_is_refused() -> None:
    with pytest.raises(MalformedNoteError):
        open_note(SIGNED.encode().replace(b"vault", b"\xffault", 1), [VERIFIER])
    assert open_note(SIGNED.encode(), [VERIFIER]).text == TEXT


def test_text_is_separated_at_the_last_blank_line() -> None:
    text = "a\n\nb\n"
    signed = sign_note(text, [SIGNER])
    assert open_note(signed, [VERIFIER]).text == text


def test_unknown_signers_are_ignored_but_one_known_signature_is_required() -> None:
    other = signer_from_key(generate_signer("vault.example/log", randbytes=_fixed(10))[0])
    stranger = sign_note(TEXT, [other])  # same name, different key ID
    with pytest.raises(SignatureError, match="no signature"):
        open_note(stranger, [VERIFIER])
    both = sign_note(TEXT, [other, SIGNER])
    note = open_note(both, [VERIFIER])
    assert [s.key_id for s in note.signatures] == [VERIFIER.key_id]
    assert [s.key_id for s in note.unverified] == [other.key_id]
    with pytest.raises(SignatureError):
        open_note(SIGNED, [])


def test_a_bad_signature_by_a_known_key_rejects_the_note() -> None:
    tampered = SIGNED.replace("\n3\n", "\n4\n")
    with pytest.raises(SignatureError, match="does not verify"):
        open_note(tampered, [VERIFIER])
    sig = base64.b64decode(LINE.split(" ")[2])
    flipped = sig[:10] + bytes([sig[10] ^ 1]) + sig[11:]
    bad_line = f"\u2014 vault.example/log {base64.b64encode(flipped).decode()}\n"
    with pytest.raises(SignatureError):
        open_note(TEXT + "\n" + bad_line, [VERIFIER])


def test_duplicate_signatures_count_once() -> None:
    note = open_note(SIGNED + LINE, [VERIFIER])
    assert len(note.signatures) == 1


def test_sign_refuses_text_without_final_newline_and_ambiguous_verifiers() -> None:
    with pytest.raises(MalformedNoteError):
        sign_note(TEXT[:-1], [SIGNER])
    with pytest.raises(MalformedNoteError):
        sign_note("a\x00\n", [SIGNER])
    with pytest.raises(NoteError):
        sign_note(TEXT, [])
    with pytest.raises(NoteError, match="share"):
        open_note(SIGNED, [VERIFIER, verifier_from_key(VKEY)])


# --- checkpoints --------------------------------------------------------------------------------


def test_checkpoint_format_round_trips() -> None:
    cp = Checkpoint("vault.example/log", 3, b"\x11" * 32)
    assert cp.text == TEXT
    assert parse_checkpoint(TEXT) == cp
    ext = Checkpoint("o", 0, b"\x00" * 32, ("ext one", "ext two"))
    assert parse_checkpoint(ext.text) == ext
    assert ext.text.endswith("\next one\next two\n")


@pytest.mark.parametrize(
    "text",
    [
        "o\n1\n" + base64.b64encode(b"\x00" * 32).decode(),  # no final newline
        "o\n1\n",
        "\n1\n" + base64.b64encode(b"\x00" * 32).decode() + "\n",
        "o\n01\n" + base64.b64encode(b"\x00" * 32).decode() + "\n",
        "o\n-1\n" + base64.b64encode(b"\x00" * 32).decode() + "\n",
        "o\n\u0661\n" + base64.b64encode(b"\x00" * 32).decode() + "\n",  # Arabic-Indic 1
        "o\n1\n" + base64.b64encode(b"\x00" * 31).decode() + "\n",
        "o\n1\n" + base64.b64encode(b"\x00" * 32).decode().rstrip("=") + "\n",
        "o\n1\n" + base64.b64encode(b"\x00" * 32).decode() + "\n\n",  # empty extension
        "o\n18446744073709551616\n" + base64.b64encode(b"\x00" * 32).decode() + "\n",
    ],
)
def test_malformed_checkpoints_are_refused(text: str) -> None:
    with pytest.raises(MalformedNoteError):
        parse_checkpoint(text)


def test_open_checkpoint_requires_the_log_signature() -> None:
    wskey, wvkey = generate_cosigner("witness.example/w1", randbytes=_fixed(5))
    witness = signer_from_key(wskey, clock=lambda: 1_700_000_000)
    only_witness = sign_note(TEXT, [witness])
    with pytest.raises(SignatureError, match="log key"):
        open_checkpoint(only_witness, VERIFIER, [verifier_from_key(wvkey)])
    cp, note = open_checkpoint(SIGNED, VERIFIER)
    assert cp == parse_checkpoint(TEXT)
    assert note.signed_by(VERIFIER) is not None


# --- cosignatures -------------------------------------------------------------------------------


def test_cosignature_round_trip() -> None:
    wskey, wvkey = generate_cosigner("witness.example/w1", randbytes=_fixed(5))
    witness = signer_from_key(wskey, clock=lambda: 1_679_315_147)
    wverifier = verifier_from_key(wvkey)
    cosig = signature_for(TEXT, witness)
    assert len(cosig.signature) == 8 + 64
    assert cosignature_timestamp(cosig) == 1_679_315_147
    cosigned = SIGNED + cosig.line
    cp, note = open_checkpoint(cosigned, VERIFIER, [wverifier])
    assert cp.size == 3
    assert [s.name for s in note.signatures] == ["vault.example/log", "witness.example/w1"]
    # the signed message is exactly cosignature/v1, time, then the checkpoint text
    message = b"cosignature/v1\ntime 1679315147\n" + TEXT.encode()
    assert NoteVerifier("x", wverifier.public_key).verify(message, cosig.signature[8:])
    # the key ID uses type byte 0x04: the same key as a plain note key has another ID
    assert wverifier.key_id != NoteVerifier("witness.example/w1", wverifier.public_key).key_id


def test_cosignature_tampering_is_rejected() -> None:
    wskey, wvkey = generate_cosigner("witness.example/w1", randbytes=_fixed(5))
    witness = signer_from_key(wskey, clock=lambda: 1_679_315_147)
    wverifier = verifier_from_key(wvkey)
    cosig = signature_for(TEXT, witness)
    raw = cosig.key_id.to_bytes(4, "big") + cosig.signature
    for pos in (5, 11, 40, len(raw) - 1):  # timestamp bytes and signature bytes
        bad = raw[:pos] + bytes([raw[pos] ^ 0x20]) + raw[pos + 1 :]
        line = f"\u2014 witness.example/w1 {base64.b64encode(bad).decode()}\n"
        with pytest.raises(SignatureError):
            open_note(SIGNED + line, [VERIFIER, wverifier])
    other_checkpoint = sign_note(TEXT.replace("\n3\n", "\n4\n"), [SIGNER])
    with pytest.raises(SignatureError):
        open_note(other_checkpoint + cosig.line, [VERIFIER, wverifier])
    # a cosignature is not a plain note signature by the same key
    plain = NoteVerifier("witness.example/w1", wverifier.public_key)
    with pytest.raises(SignatureError):
        open_note(TEXT + "\n" + cosig.line, [plain])
    too_late = CosignatureSigner("w", b"\x01" * 32, clock=lambda: 1 << 63)
    with pytest.raises(NoteError, match="timestamp"):
        signature_for(TEXT, too_late)


def test_note_signer_signs_plain_ed25519() -> None:
    signer = NoteSigner("n", b"\x02" * 32)
    signed = sign_note("hello\n", [signer])
    assert open_note(signed, [signer.verifier]).text == "hello\n"
