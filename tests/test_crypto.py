"""Sealing, keys and blind indexes: round trips, tamper resistance, handle hygiene."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strongroom.crypto import BlindIndexer, DataKey, open_record, record_aad, seal_record
from strongroom.crypto._sealed import HEADER_BYTES, OVERHEAD_BYTES
from strongroom.crypto.kms import LocalKeyFile, create_key_file
from strongroom.crypto.kms._local import UNSAFE_FAST_ARGON2
from strongroom.errors import ConfigError, KeyringError, OpenError, PassphraseError

KEY = DataKey(bytes(range(16)), bytes(32))
OTHER = DataKey(bytes(16), b"\x01" * 32)
AAD = record_aad("person", b"\x07" * 16, "110000", 1, 1)


def resolve(key_id: bytes) -> DataKey:
    if key_id == KEY.key_id:
        return KEY
    if key_id == OTHER.key_id:
        return OTHER
    raise KeyringError("unknown data key")


@settings(max_examples=200, database=None)
@given(st.binary(max_size=2048), st.text(max_size=8), st.integers(1, 10**6))
def test_seal_open_round_trip(plaintext: bytes, region: str, version: int) -> None:
    aad = record_aad("incident", os.urandom(16), region, version, 1)
    sealed = seal_record(KEY, plaintext, aad)
    assert len(sealed) == len(plaintext) + OVERHEAD_BYTES
    assert sealed[0] == 1 and sealed[1:17] == KEY.key_id
    assert open_record(resolve, sealed, aad) == plaintext


def test_layout_is_exact_with_injected_nonce() -> None:
    sealed = seal_record(KEY, b"x", AAD, _nonce=b"\x00" * 12)
    assert sealed[:HEADER_BYTES] == b"\x01" + KEY.key_id + b"\x00" * 12
    assert sealed == seal_record(KEY, b"x", AAD, _nonce=b"\x00" * 12)


@pytest.mark.parametrize(
    ("what", "aad"),
    [
        ("another row", record_aad("person", b"\x08" * 16, "110000", 1, 1)),
        ("another region", record_aad("person", b"\x07" * 16, "310000", 1, 1)),
        ("another collection", record_aad("incident", b"\x07" * 16, "110000", 1, 1)),
        ("another version", record_aad("person", b"\x07" * 16, "110000", 2, 1)),
        ("another schema version", record_aad("person", b"\x07" * 16, "110000", 1, 2)),
    ],
)
def test_moved_ciphertext_fails(what: str, aad: bytes) -> None:
    sealed = seal_record(KEY, b"secret", AAD)
    with pytest.raises(OpenError) as err:
        open_record(resolve, sealed, aad)
    assert str(err.value) == "sealed record could not be opened"


def _tamperings() -> list[tuple[str, bytes]]:
    sealed = seal_record(KEY, b"some protected fields", AAD, _nonce=b"\x05" * 12)
    cases = [(f"truncated to {n}", sealed[:n]) for n in (0, 1, 17, 29, 44, len(sealed) - 1)]
    for i in range(len(sealed)):
        flipped = bytearray(sealed)
        flipped[i] ^= 0x01
        cases.append((f"bit flip at byte {i}", bytes(flipped)))
    cases.append(("wrong key id", sealed[:1] + OTHER.key_id + sealed[17:]))
    cases.append(("unknown key id", sealed[:1] + b"\xee" * 16 + sealed[17:]))
    cases.append(("trailing garbage", sealed + b"\x00"))
    return cases


@pytest.mark.parametrize(("what", "blob"), _tamperings(), ids=[c[0] for c in _tamperings()])
def test_tampered_ciphertext_fails_with_one_opaque_error(what: str, blob: bytes) -> None:
    with pytest.raises(OpenError) as err:
        open_record(resolve, blob, AAD)
    assert str(err.value) == "sealed record could not be opened"


def test_key_handles_do_not_leak() -> None:
    assert "redacted" in repr(KEY)
    assert bytes(32).hex() not in repr(KEY)
    with pytest.raises(TypeError):
        pickle.dumps(KEY)
    ix = BlindIndexer(b"k" * 32, region="110000", collection="person", version=1)
    assert "redacted" in repr(ix)
    with pytest.raises(TypeError):
        pickle.dumps(ix)


def test_blind_tokens_are_keyed_and_separated() -> None:
    a = BlindIndexer(b"a" * 32, region="110000", collection="person", version=1)
    b = BlindIndexer(b"b" * 32, region="110000", collection="person", version=1)
    other_region = BlindIndexer(b"a" * 32, region="310000", collection="person", version=1)
    v = "11010519491231002X"
    assert a.token("resident_id", v) == a.token("resident_id", v)
    assert -(2**63) <= a.token("resident_id", v) < 2**63
    assert a.token("resident_id", v) != b.token("resident_id", v)
    assert a.token("resident_id", v) != a.token("name", v)
    assert a.token("resident_id", v) != other_region.token("resident_id", v)


def test_key_file_round_trip_and_wrong_passphrase(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    create_key_file(keys, "a good passphrase", argon2=UNSAFE_FAST_ARGON2)
    assert (keys / "root.key").stat().st_mode & 0o777 == 0o600
    root = LocalKeyFile(keys, "a good passphrase")
    wrapped = root.wrap(b"k" * 32, b"aad")
    assert root.unwrap(wrapped, b"aad") == b"k" * 32
    with pytest.raises(KeyringError):
        root.unwrap(wrapped, b"other aad")
    with pytest.raises(PassphraseError):
        LocalKeyFile(keys, "not the passphrase")
    assert "redacted" in repr(root)
    with pytest.raises(TypeError):
        pickle.dumps(root)


@pytest.mark.parametrize(
    ("target", "mode"), [("dir", 0o750), ("dir", 0o705), ("file", 0o640), ("file", 0o604)]
)
def test_key_file_readable_by_others_is_refused(tmp_path: Path, target: str, mode: int) -> None:
    keys = tmp_path / "keys"
    create_key_file(keys, "a good passphrase", argon2=UNSAFE_FAST_ARGON2)
    os.chmod(keys if target == "dir" else keys / "root.key", mode)
    with pytest.raises(ConfigError, match="group or others"):
        LocalKeyFile(keys, "a good passphrase")


def test_key_file_is_never_overwritten(tmp_path: Path) -> None:
    create_key_file(tmp_path / "k", "a good passphrase", argon2=UNSAFE_FAST_ARGON2)
    with pytest.raises(KeyringError, match="refusing to overwrite"):
        create_key_file(tmp_path / "k", "a good passphrase", argon2=UNSAFE_FAST_ARGON2)


def test_short_passphrase_refused(tmp_path: Path) -> None:
    with pytest.raises(PassphraseError):
        create_key_file(tmp_path / "k", "short", argon2=UNSAFE_FAST_ARGON2)
