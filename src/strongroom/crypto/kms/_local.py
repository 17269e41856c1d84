"""The local KMS provider: a random root key in a passphrase-wrapped key file.

Key file (JSON, UTF-8), ``<keys dir>/root.key`` for a vault's first root key and
``<keys dir>/root-<key id>.key`` for one made by root rotation (``strongroom keys
rotate-root``; opening prefers the file named by the vault's ``root_key_id``)::

    {"format": "strongroom-root-key", "version": 1,
     "key_id": "<32 hex>",
     "kdf": {"alg": "argon2id", "salt": "<b64 16 bytes>", "time_cost": t,
             "memory_cost": m_kib, "parallelism": p},
     "nonce": "<b64 12 bytes>",
     "wrapped": "<b64 AES-256-GCM(kdf key, root key 32 bytes) ‖ tag>"}

The AAD of the wrap is ``b"strongroom/root-key/v1\\x00" ‖ key_id``. The keys directory must
not be inside the data directory, and neither the directory nor the file may be readable or
writable by group or others: both are refused otherwise.
"""

from __future__ import annotations

import base64
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from argon2.low_level import Type, hash_secret_raw

from strongroom.crypto.hazmat import (
    AEAD_KEY_BYTES,
    AEAD_NONCE_BYTES,
    aead_decrypt,
    aead_encrypt,
    aead_for,
    random_bytes,
)
from strongroom.errors import ConfigError, KeyringError, PassphraseError

KEY_FILE_NAME = "root.key"
ROTATED_KEY_FILE = "root-{key_id}.key"
_FORMAT = "strongroom-root-key"
_ROOT_AAD = b"strongroom/root-key/v1\x00"
_WRAP_AAD = b"strongroom/kms-local/v1\x00"


@dataclass(frozen=True)
class Argon2Params:
    """Argon2id cost. The default follows RFC 9106's second recommended option."""

    time_cost: int = 3
    memory_cost: int = 64 * 1024  # KiB
    parallelism: int = 1


#: cheap parameters for tests and throwaway demo vaults only
UNSAFE_FAST_ARGON2 = Argon2Params(time_cost=1, memory_cost=8 * 1024, parallelism=1)


def check_private(path: Path) -> None:
    """Refuse a key file or directory that group or others may read, write or enter."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError as exc:
        raise ConfigError(f"{path} does not exist") from exc
    if stat.S_IMODE(mode) & 0o077:
        kind = "directory" if stat.S_ISDIR(mode) else "file"
        raise ConfigError(
            f"key {kind} {path} is accessible by group or others (mode "
            f"{stat.S_IMODE(mode):03o}); run: chmod {'700' if kind == 'directory' else '600'} "
            f"{path}"
        )


def _derive(passphrase: str, salt: bytes, p: Argon2Params) -> bytes:
    if not passphrase:
        raise PassphraseError("the passphrase is empty")
    return hash_secret_raw(
        passphrase.encode("utf-8"),
        salt,
        time_cost=p.time_cost,
        memory_cost=p.memory_cost,
        parallelism=p.parallelism,
        hash_len=AEAD_KEY_BYTES,
        type=Type.ID,
    )


def key_file_path(keys_dir: Path, key_id: str | None = None) -> Path:
    """The key file of root key ``key_id``: ``root-<key_id>.key`` when there is one (a key
    made by root rotation), else the default ``root.key``."""
    if key_id is not None and all(c in "0123456789abcdef" for c in key_id):
        rotated = keys_dir / ROTATED_KEY_FILE.format(key_id=key_id)
        if rotated.exists():
            return rotated
    return keys_dir / KEY_FILE_NAME


def key_file_params(path: Path) -> Argon2Params:
    """The Argon2id cost a key file was written with."""
    kdf = LocalKeyFile._load(path)["kdf"]
    try:
        return Argon2Params(int(kdf["time_cost"]), int(kdf["memory_cost"]), int(kdf["parallelism"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise KeyringError(f"{path} is not a valid Strongroom key file") from exc


def create_key_file(
    keys_dir: Path,
    passphrase: str,
    *,
    argon2: Argon2Params | None = None,
    rotated: bool = False,
) -> Path:
    """Create ``keys_dir`` (mode 700) with a new random root key wrapped under ``passphrase``.

    The file is ``root.key``, or with ``rotated`` ``root-<key id>.key`` (a root rotation's new
    key, next to the old one). It is flushed to disk (file and directory) before returning:
    a root rotation re-wraps keys under it right after."""
    params = argon2 or Argon2Params()
    if len(passphrase) < 8:
        raise PassphraseError("the passphrase must be at least 8 characters")
    keys_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(keys_dir, 0o700)
    key_id = random_bytes(16).hex()
    path = keys_dir / (ROTATED_KEY_FILE.format(key_id=key_id) if rotated else KEY_FILE_NAME)
    if path.exists():
        raise KeyringError(f"{path} already exists; refusing to overwrite a root key")
    salt = random_bytes(16)
    nonce = random_bytes(AEAD_NONCE_BYTES)
    root = random_bytes(AEAD_KEY_BYTES)
    kek = aead_for(_derive(passphrase, salt, params))
    wrapped = aead_encrypt(kek, nonce, root, _ROOT_AAD + key_id.encode())
    doc = {
        "format": _FORMAT,
        "version": 1,
        "key_id": key_id,
        "kdf": {
            "alg": "argon2id",
            "salt": base64.b64encode(salt).decode(),
            "time_cost": params.time_cost,
            "memory_cost": params.memory_cost,
            "parallelism": params.parallelism,
        },
        "nonce": base64.b64encode(nonce).decode(),
        "wrapped": base64.b64encode(wrapped).decode(),
    }
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, indent=2)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    dir_fd = os.open(keys_dir, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return path


class LocalKeyFile:
    """A root key opened from a passphrase-wrapped key file. The key stays in this object.

    ``key_id`` (the vault's ``root_key_id``) picks ``root-<key_id>.key`` when it exists (a
    rotated root), else ``root.key`` is opened."""

    __slots__ = ("_aead", "_key_id")

    def __init__(self, keys_dir: Path, passphrase: str, *, key_id: str | None = None) -> None:
        check_private(keys_dir)
        path = key_file_path(keys_dir, key_id)
        check_private(path)
        doc = self._load(path)
        try:
            kdf = doc["kdf"]
            params = Argon2Params(
                int(kdf["time_cost"]), int(kdf["memory_cost"]), int(kdf["parallelism"])
            )
            salt = base64.b64decode(kdf["salt"], validate=True)
            nonce = base64.b64decode(doc["nonce"], validate=True)
            wrapped = base64.b64decode(doc["wrapped"], validate=True)
            found_id = str(doc["key_id"])
        except (KeyError, TypeError, ValueError) as exc:
            raise KeyringError(f"{path} is not a valid Strongroom key file") from exc
        kek = aead_for(_derive(passphrase, salt, params))
        root = aead_decrypt(kek, nonce, wrapped, _ROOT_AAD + found_id.encode())
        if root is None:
            raise PassphraseError(f"the passphrase does not open {path}")
        self._key_id = found_id
        self._aead = aead_for(root)

    @staticmethod
    def _load(path: Path) -> dict[str, Any]:
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise KeyringError(f"cannot read key file {path}") from exc
        if not isinstance(doc, dict) or doc.get("format") != _FORMAT or doc.get("version") != 1:
            raise KeyringError(f"{path} is not a version-1 Strongroom key file")
        if doc.get("kdf", {}).get("alg") != "argon2id":
            raise KeyringError(f"{path}: unsupported key derivation")
        return doc

    @property
    def key_id(self) -> str:
        return self._key_id

    def wrap(self, plaintext: bytes, aad: bytes) -> bytes:
        nonce = random_bytes(AEAD_NONCE_BYTES)
        return nonce + aead_encrypt(self._aead, nonce, plaintext, _WRAP_AAD + aad)

    def unwrap(self, wrapped: bytes, aad: bytes) -> bytes:
        out = aead_decrypt(
            self._aead, wrapped[:AEAD_NONCE_BYTES], wrapped[AEAD_NONCE_BYTES:], _WRAP_AAD + aad
        )
        if out is None:
            raise KeyringError("a wrapped key does not open under the root key")
        return out

    def __repr__(self) -> str:
        return f"LocalKeyFile(key_id={self._key_id!r}, root=<redacted>)"

    def __reduce__(self) -> Any:
        raise TypeError("key handles cannot be pickled")
