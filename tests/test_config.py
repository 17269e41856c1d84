"""Vault layout rules: keys never inside data, one root key per vault, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from strongroom import ConfigError, PassphraseError, Vault
from strongroom.crypto.kms._local import UNSAFE_FAST_ARGON2
from tests.conftest import PASSPHRASE


@pytest.mark.parametrize(
    ("data", "keys"),
    [("d", "d/keys"), ("d", "d"), ("k/data", "k")],
    ids=["inside", "same", "around"],
)
def test_keys_inside_data_refused(tmp_path: Path, data: str, keys: str) -> None:
    with pytest.raises(ConfigError, match="must not be inside"):
        Vault.init(tmp_path / data, tmp_path / keys, PASSPHRASE, argon2=UNSAFE_FAST_ARGON2)
    assert not (tmp_path / keys / "root.key").exists()


def test_init_twice_refused_and_wrong_key_refused(tmp_path: Path) -> None:
    d, k = tmp_path / "d", tmp_path / "k"
    Vault.init(d, k, PASSPHRASE, argon2=UNSAFE_FAST_ARGON2).close()
    with pytest.raises(ConfigError, match="already holds a vault"):
        Vault.init(d, tmp_path / "k2", PASSPHRASE, argon2=UNSAFE_FAST_ARGON2)
    Vault.init(tmp_path / "d2", tmp_path / "k3", PASSPHRASE, argon2=UNSAFE_FAST_ARGON2).close()
    with pytest.raises(ConfigError, match="not this vault's root key"):
        Vault.open(d, tmp_path / "k3", PASSPHRASE)
    with pytest.raises(PassphraseError):
        Vault.open(d, k, "wrong passphrase")


def test_open_without_vault_says_run_init(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="strongroom init"):
        Vault.open(tmp_path / "nothing", tmp_path / "k", PASSPHRASE)


def test_key_store_must_not_be_the_record_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'one.db'}"
    with pytest.raises(ConfigError, match="key store"):
        Vault.init(
            tmp_path / "d",
            tmp_path / "k",
            PASSPHRASE,
            database_url=url,
            keystore_url=url,
            argon2=UNSAFE_FAST_ARGON2,
        )


def test_bad_database_url_never_echoes_a_password(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        Vault.init(
            tmp_path / "d",
            tmp_path / "k",
            PASSPHRASE,
            database_url="nonsense:hunter2",
            argon2=UNSAFE_FAST_ARGON2,
        )
    assert "hunter2" not in str(err.value)
    assert not (tmp_path / "k" / "root.key").exists()


def test_failed_init_leaves_no_root_key_behind(tmp_path: Path) -> None:
    from strongroom import StoreError

    url = "postgresql://nobody:secret@127.0.0.1:1/none"  # nothing listens on port 1
    with pytest.raises(StoreError):
        Vault.init(
            tmp_path / "d", tmp_path / "k", PASSPHRASE, database_url=url, argon2=UNSAFE_FAST_ARGON2
        )
    assert not (tmp_path / "k" / "root.key").exists()
    Vault.init(tmp_path / "d", tmp_path / "k", PASSPHRASE, argon2=UNSAFE_FAST_ARGON2).close()
