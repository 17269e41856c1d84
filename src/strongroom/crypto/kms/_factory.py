"""Pick the root-key provider a vault's ``[kms]`` settings name, and read a token's PIN."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from strongroom.config import KmsConfig
from strongroom.crypto.kms._local import (
    KEY_FILE_NAME,
    Argon2Params,
    LocalKeyFile,
    check_private,
    create_key_file,
)
from strongroom.crypto.kms._pkcs11 import (
    Pkcs11Root,
    create_pkcs11_key,
    create_rotated_pkcs11_key,
)
from strongroom.crypto.kms._protocol import RootKeyProvider
from strongroom.errors import ConfigError


def read_pin(kms: KmsConfig) -> str:
    """The token PIN from the variable ``kms.pin_env`` or the first line of ``kms.pin_file``.

    A PIN file readable or writable by group or others is refused, as key files are.
    """
    if kms.pin_env is not None:
        pin = os.environ.get(kms.pin_env)
        if not pin:
            raise ConfigError(
                f"the PKCS#11 PIN variable {kms.pin_env} is not set (or empty) in this environment"
            )
        return pin
    if kms.pin_file is None:
        raise ConfigError("[kms] pkcs11 needs pin_env or pin_file")
    path = Path(kms.pin_file)
    check_private(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the PKCS#11 PIN file {path}") from exc
    pin = text.splitlines()[0] if text else ""
    if not pin:
        raise ConfigError(f"the PKCS#11 PIN file {path} is empty")
    return pin


def _pkcs11_args(kms: KmsConfig) -> tuple[str, str | None, str, str]:
    kms.check()  # module and key_label are set, so the `or ""` below never applies
    return kms.module or "", kms.token_label, kms.key_label or "", read_pin(kms)


def open_root(
    kms: KmsConfig, keys_dir: Path, passphrase: str, key_id: str | None = None
) -> RootKeyProvider:
    """The vault's root key: the key file in ``keys_dir`` (opened with ``passphrase``;
    ``key_id`` picks a rotated root's ``root-<key_id>.key``), or the PKCS#11 key
    (``key_id`` picks it among the keys of its label; ``keys_dir`` and ``passphrase`` are
    then not used)."""
    if kms.provider == "pkcs11":
        module, token, label, pin = _pkcs11_args(kms)
        return Pkcs11Root(module, token, label, pin, slot=kms.slot, key_id=key_id)
    kms.check()
    return LocalKeyFile(keys_dir, passphrase, key_id=key_id)


def create_root(
    kms: KmsConfig, keys_dir: Path, passphrase: str, *, argon2: Argon2Params | None = None
) -> tuple[RootKeyProvider, Callable[[], None]]:
    """A new root key for a new vault, and the undo to call if creating the vault fails.

    Local: a new key file in ``keys_dir``; undo removes it. PKCS#11: the key labelled
    ``kms.key_label`` is generated in the token unless it exists; undo leaves it (a key in an
    HSM is never destroyed automatically; a second attempt uses it again).
    """
    if kms.provider == "pkcs11":
        module, token, label, pin = _pkcs11_args(kms)
        create_pkcs11_key(module, token, label, pin, slot=kms.slot)
        return open_root(kms, keys_dir, passphrase), lambda: None
    kms.check()
    path = create_key_file(keys_dir, passphrase, argon2=argon2)
    try:
        root = LocalKeyFile(keys_dir, passphrase)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return root, lambda: (keys_dir / KEY_FILE_NAME).unlink(missing_ok=True)


def new_root_key(
    kms: KmsConfig, keys_dir: Path, passphrase: str, *, argon2: Argon2Params | None = None
) -> RootKeyProvider:
    """A further root key for a vault's root rotation (the old one is kept): a key file
    ``root-<id>.key`` in ``keys_dir`` wrapped under ``passphrase`` with ``argon2``, or a new
    key in the PKCS#11 token under the same label (a new random ``CKA_ID``; ``keys_dir`` and
    ``passphrase`` are then not used). Open it again later with :func:`open_root` and its id."""
    if kms.provider == "pkcs11":
        module, token, label, pin = _pkcs11_args(kms)
        key_id = create_rotated_pkcs11_key(module, token, label, pin, slot=kms.slot)
        return Pkcs11Root(module, token, label, pin, slot=kms.slot, key_id=key_id)
    kms.check()
    path = create_key_file(keys_dir, passphrase, argon2=argon2, rotated=True)
    return LocalKeyFile(keys_dir, passphrase, key_id=path.stem.removeprefix("root-"))
