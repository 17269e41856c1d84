"""The PKCS#11 root key on a real SoftHSM2 token: wrapping, the key's attributes, PINs,
fork and threads, ``[kms]`` settings, and the vault's sealing tests run with the key in the
token instead of the local key file."""

from __future__ import annotations

import itertools
import os
import pickle
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pkcs11
import pytest
from pkcs11 import Attribute, KeyType, ObjectClass
from typer.testing import CliRunner

from strongroom import Vault
from strongroom.cli import app
from strongroom.config import KmsConfig, VaultConfig
from strongroom.crypto.kms import Pkcs11Root, create_pkcs11_key, open_root, read_pin
from strongroom.errors import ConfigError, KeyringError
from tests._softhsm import SoftHSM

# the sealing, import, rotation and index-rotation tests of the local key file, collected
# here again with the ``vault`` fixture below: the same assertions, the root key in the token
from tests.test_import import test_parallel_workers_give_the_same_result  # noqa: F401
from tests.test_index_rotation import (  # noqa: F401
    test_an_update_between_the_read_and_the_write_is_left_to_its_writer,
    test_rotate_search_unique_and_reindex,
)
from tests.test_rotation import (  # noqa: F401
    test_erase_after_rekey_destroys_the_key_every_version_names,
    test_rekey_moves_everything_then_retire,
    test_rotate_new_writes_use_the_new_version_and_old_reads_work,
)
from tests.test_vault import (  # noqa: F401
    test_ciphertext_moved_between_rows_does_not_open,
    test_delete_drops_from_indexes,
    test_find_by_each_index,
    test_incidents_of_a_person_and_by_case_ref,
    test_month_keys_made_by_two_writers_agree,
    test_put_normalises_and_get_returns_it,
    test_reopen_with_passphrase,
    test_service_keys_are_stable_and_separate,
    test_update_keeps_old_version_and_moves_index,
)

_labels = itertools.count()
AAD = b"strongroom/kek/v1\x00" + bytes(16)


def _label(prefix: str = "root") -> str:
    return f"{prefix}-{os.getpid()}-{next(_labels)}"


def _kms(hsm: SoftHSM, key_label: str, **kw: Any) -> KmsConfig:
    return KmsConfig(
        "pkcs11",
        module=hsm.module,
        token_label=hsm.token,
        key_label=key_label,
        pin_file=kw.pop("pin_file", str(hsm.pin_file)),
        **kw,
    )


@pytest.fixture
def root(softhsm: SoftHSM) -> Pkcs11Root:
    label = _label()
    assert create_pkcs11_key(softhsm.module, softhsm.token, label, softhsm.pin) is True
    return Pkcs11Root(softhsm.module, softhsm.token, label, softhsm.pin)


@pytest.fixture
def vault(softhsm: SoftHSM, vault_dirs: tuple[Path, Path]) -> Iterator[Vault]:
    """A vault on SQLite whose root key is in the SoftHSM2 token (see conftest's ``vault``)."""
    data, keys = vault_dirs
    v = Vault.init(data, keys, "", kms=_kms(softhsm, _label("vault")))
    try:
        yield v
    finally:
        v.close()


# -- wrapping ------------------------------------------------------------------------------
@pytest.mark.parametrize("size", [0, 1, 32, 64, 1000])
def test_wrap_unwrap_round_trip(root: Pkcs11Root, size: int) -> None:
    material = os.urandom(size)
    wrapped = root.wrap(material, AAD)
    assert len(wrapped) == 1 + 12 + size + 16 and wrapped[0] == 1
    assert root.unwrap(wrapped, AAD) == material
    assert root.wrap(material, AAD) != wrapped  # a fresh IV every time


def test_aad_binds_the_wrapped_key(root: Pkcs11Root) -> None:
    wrapped = root.wrap(b"k" * 32, AAD)
    for other in (b"", AAD[:-1], AAD + b"\x00", AAD[:-1] + b"\x01"):
        with pytest.raises(KeyringError, match="does not open"):
            root.unwrap(wrapped, other)
    assert root.unwrap(wrapped, AAD) == b"k" * 32  # the session survives failed opens


@pytest.mark.parametrize(
    "where", [0, 1, 12, 13, 30, -16, -1], ids=lambda i: f"byte{i}" if i >= 0 else f"end{i}"
)
def test_tampering_is_rejected(root: Pkcs11Root, where: int) -> None:
    wrapped = bytearray(root.wrap(b"k" * 32, AAD))
    wrapped[where] ^= 0x01
    with pytest.raises(KeyringError, match="does not open"):
        root.unwrap(bytes(wrapped), AAD)


@pytest.mark.parametrize("cut", [0, 1, 13, 28, 29, 60])
def test_truncated_or_short_is_rejected(root: Pkcs11Root, cut: int) -> None:
    wrapped = root.wrap(b"k" * 32, AAD)
    with pytest.raises(KeyringError, match="does not open"):
        root.unwrap(wrapped[:cut], AAD)


def test_another_key_does_not_open(root: Pkcs11Root, softhsm: SoftHSM) -> None:
    label = _label()
    create_pkcs11_key(softhsm.module, softhsm.token, label, softhsm.pin)
    other = Pkcs11Root(softhsm.module, softhsm.token, label, softhsm.pin)
    assert other.key_id != root.key_id
    with pytest.raises(KeyringError):
        other.unwrap(root.wrap(b"k" * 32, AAD), AAD)


# -- the key in the token ------------------------------------------------------------------
def test_key_is_non_extractable_in_the_token(softhsm: SoftHSM) -> None:
    label = _label()
    create_pkcs11_key(softhsm.module, softhsm.token, label, softhsm.pin)
    Pkcs11Root(softhsm.module, softhsm.token, label, softhsm.pin)  # logs this process in
    token = pkcs11.lib(softhsm.module).get_token(token_label=softhsm.token)
    with token.open() as session:  # shares this process's login
        key = session.get_key(object_class=ObjectClass.SECRET_KEY, label=label)
        assert key[Attribute.KEY_TYPE] == KeyType.AES and key[Attribute.VALUE_LEN] == 32
        assert key[Attribute.TOKEN] and key[Attribute.PRIVATE]
        assert key[Attribute.SENSITIVE] and key[Attribute.ALWAYS_SENSITIVE]
        assert not key[Attribute.EXTRACTABLE] and key[Attribute.NEVER_EXTRACTABLE]
        assert not key[Attribute.WRAP] and not key[Attribute.UNWRAP]
        assert len(key[Attribute.ID]) == 16
        with pytest.raises(pkcs11.exceptions.AttributeSensitive):
            key[Attribute.VALUE]


def test_extractable_key_is_refused(softhsm: SoftHSM) -> None:
    label = _label("extractable")
    create_pkcs11_key(softhsm.module, softhsm.token, _label(), softhsm.pin)  # logs in
    token = pkcs11.lib(softhsm.module).get_token(token_label=softhsm.token)
    with token.open(rw=True) as session:  # shares the login; closing it does not log out
        session.generate_key(
            KeyType.AES,
            256,
            label=label,
            store=True,
            template={Attribute.EXTRACTABLE: True, Attribute.SENSITIVE: False},
        )
    with pytest.raises(KeyringError, match="extractable"):
        Pkcs11Root(softhsm.module, softhsm.token, label, softhsm.pin)
    with pytest.raises(KeyringError, match="extractable"):  # init does not adopt it either
        create_pkcs11_key(softhsm.module, softhsm.token, label, softhsm.pin)


def test_key_id_is_stable_and_public(root: Pkcs11Root, softhsm: SoftHSM) -> None:
    label = repr(root).split("key='")[1].split("'")[0]
    assert create_pkcs11_key(softhsm.module, softhsm.token, label, softhsm.pin) is False
    again = Pkcs11Root(softhsm.module, softhsm.token, label, softhsm.pin)
    assert again.key_id == root.key_id and len(root.key_id) == 32
    int(root.key_id, 16)
    assert again.unwrap(root.wrap(b"x" * 32, AAD), AAD) == b"x" * 32
    slot = pkcs11.lib(softhsm.module).get_token(token_label=softhsm.token).slot.slot_id
    by_slot = Pkcs11Root(softhsm.module, None, label, softhsm.pin, slot=slot)
    assert by_slot.key_id == root.key_id


def test_repr_hides_the_pin_and_pickling_is_refused(root: Pkcs11Root, softhsm: SoftHSM) -> None:
    assert softhsm.pin not in repr(root) and "pin=<redacted>" in repr(root)
    with pytest.raises(TypeError, match="pickled"):
        pickle.dumps(root)


# -- errors --------------------------------------------------------------------------------
def test_wrong_pin_is_a_keyring_error_without_the_pin(softhsm: SoftHSM, root: Pkcs11Root) -> None:
    wrong = "9999-wrong-pin"
    # a token this process never logged in to: the token itself refuses the PIN
    with pytest.raises(KeyringError, match="wrong PIN") as err:
        create_pkcs11_key(softhsm.module, softhsm.spare_token, "k", wrong)
    assert wrong not in str(err.value) and wrong not in repr(err.value)
    assert err.value.__cause__ is None
    # a token this process is logged in to (by `root`): a different PIN is still refused
    label = repr(root).split("key='")[1].split("'")[0]
    with pytest.raises(KeyringError, match="wrong PIN") as err:
        Pkcs11Root(softhsm.module, softhsm.token, label, wrong)
    assert wrong not in str(err.value)


@pytest.mark.parametrize(
    ("module", "token", "key", "message"),
    [
        ("/nonexistent/libpkcs11.so", "t", "k", "cannot load the PKCS#11 module"),
        (None, "no-such-token", "k", "no PKCS#11 token labelled 'no-such-token'"),
        (None, None, "no-such-key", "no AES key labelled 'no-such-key'"),
    ],
    ids=["module", "token", "key"],
)
def test_missing_module_token_or_key(
    softhsm: SoftHSM, module: str | None, token: str | None, key: str, message: str
) -> None:
    with pytest.raises(KeyringError, match=message) as err:
        Pkcs11Root(module or softhsm.module, token or softhsm.token, key, softhsm.pin)
    assert softhsm.pin not in str(err.value)


# -- processes and threads -----------------------------------------------------------------
def test_wrap_in_a_forked_child(root: Pkcs11Root) -> None:
    from_parent = root.wrap(b"p" * 32, AAD)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child process
        code = 1
        try:
            os.close(r)
            ok = root.unwrap(from_parent, AAD) == b"p" * 32
            os.write(w, root.wrap(b"c" * 32, AAD) if ok else b"")
            code = 0
        finally:
            os._exit(code)
    os.close(w)
    with os.fdopen(r, "rb") as fh:
        from_child = fh.read()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert root.unwrap(from_child, AAD) == b"c" * 32  # and the parent's session still works


def test_threads_share_the_token(root: Pkcs11Root) -> None:
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(40):
                material = bytes([n, i]) * 16
                aad = AAD + bytes([n, i])
                assert root.unwrap(root.wrap(material, aad), aad) == material
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


# -- settings ------------------------------------------------------------------------------
def test_kms_table_round_trips_and_holds_no_pin(tmp_path: Path, softhsm: SoftHSM) -> None:
    kms = _kms(softhsm, "root-x", slot=7)
    VaultConfig("sqlite:///a", "sqlite:///b", "id", kms=kms).write(tmp_path)
    text = (tmp_path / "vault.toml").read_text(encoding="utf-8")
    assert "[kms]" in text and softhsm.pin not in text
    assert VaultConfig.read(tmp_path).kms == kms
    VaultConfig("sqlite:///a", "sqlite:///b", "id").write(tmp_path)
    assert "[kms]" not in (tmp_path / "vault.toml").read_text(encoding="utf-8")
    assert VaultConfig.read(tmp_path).kms == KmsConfig()


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"provider": "aws"}, "provider must be one of"),
        ({"provider": "local", "module": "/x.so"}, "takes no PKCS#11 settings"),
        ({"provider": "pkcs11", "token_label": "t", "key_label": "k", "pin_env": "P"}, "module"),
        ({"provider": "pkcs11", "module": "/x.so", "key_label": "k", "pin_env": "P"}, "slot"),
        ({"provider": "pkcs11", "module": "/x.so", "slot": 1, "pin_env": "P"}, "key_label"),
        ({"provider": "pkcs11", "module": "/x.so", "slot": 1, "key_label": "k"}, "exactly one"),
        (
            {"provider": "pkcs11", "module": "/x.so", "slot": 1, "key_label": "k", "pin_env": "1"},
            "name of an environment variable",
        ),
        (
            {"provider": "pkcs11", "module": "/x.so", "slot": 1, "key_label": "k", "pin_file": "p"},
            "absolute path",
        ),
        ({"provider": "pkcs11", "slot": "1"}, "slot must be a int"),
        ({"provider": "pkcs11", "pin": "1234"}, "unknown settings: pin"),
    ],
)
def test_bad_kms_table_is_refused(table: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        KmsConfig.from_table(table)


def test_pin_from_a_variable_or_a_private_file(
    tmp_path: Path, softhsm: SoftHSM, monkeypatch: pytest.MonkeyPatch
) -> None:
    kms = KmsConfig("pkcs11", "/x.so", "t", None, "k", pin_env="TEST_HSM_PIN")
    monkeypatch.delenv("TEST_HSM_PIN", raising=False)
    with pytest.raises(ConfigError, match="TEST_HSM_PIN is not set"):
        read_pin(kms)
    monkeypatch.setenv("TEST_HSM_PIN", "from-env")
    assert read_pin(kms) == "from-env"
    assert read_pin(_kms(softhsm, "k")) == softhsm.pin
    loose = tmp_path / "pin"
    loose.write_text("1234\n", encoding="utf-8")
    loose.chmod(0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        read_pin(_kms(softhsm, "k", pin_file=str(loose)))


def test_open_root_picks_the_provider(softhsm: SoftHSM, tmp_path: Path) -> None:
    label = _label()
    create_pkcs11_key(softhsm.module, softhsm.token, label, softhsm.pin)
    root = open_root(_kms(softhsm, label), tmp_path / "unused", "")
    assert isinstance(root, Pkcs11Root)
    assert not (tmp_path / "unused").exists()


# -- vaults --------------------------------------------------------------------------------
def test_vault_keys_dir_holds_nothing(vault: Vault, vault_dirs: tuple[Path, Path]) -> None:
    data, keys = vault_dirs
    assert not keys.exists()
    assert VaultConfig.read(data).kms.provider == "pkcs11"
    assert vault.config.root_key_id == vault.keyring.root_key_id


def test_vault_refuses_another_tokens_key(
    vault: Vault, vault_dirs: tuple[Path, Path], softhsm: SoftHSM
) -> None:
    data, keys = vault_dirs
    vault.close()
    config = VaultConfig.read(data)
    label = _label()
    create_pkcs11_key(softhsm.module, softhsm.token, label, softhsm.pin)
    other = Pkcs11Root(softhsm.module, softhsm.token, label, softhsm.pin)
    with pytest.raises(ConfigError, match="not this vault's root key"):
        Vault.open(data, keys, "", _root=other)
    assert config.kms.key_label != label


def test_cli_init_with_a_token(tmp_path: Path, softhsm: SoftHSM) -> None:
    runner = CliRunner()
    data, keys = tmp_path / "data", tmp_path / "keys"
    base = ["--data", str(data), "--keys", str(keys)]
    args = [
        *base,
        "init",
        "--kms",
        "pkcs11",
        "--pkcs11-module",
        softhsm.module,
        "--pkcs11-token",
        softhsm.token,
        "--pkcs11-key",
        _label("cli"),
        "--pkcs11-pin-env",
        "TEST_CLI_HSM_PIN",
    ]
    env = {"TEST_CLI_HSM_PIN": softhsm.pin, "STRONGROOM_PASSPHRASE": None, "COLUMNS": "200"}
    result = runner.invoke(app, args, env=env)
    assert result.exit_code == 0, result.output
    assert "PKCS#11 token" in result.output and softhsm.pin not in result.output
    text = (data / "vault.toml").read_text(encoding="utf-8")
    assert 'pin_env = "TEST_CLI_HSM_PIN"' in text and softhsm.pin not in text
    assert not keys.exists()
    # the passphrase is not used with a token (other commands still ask for one: any works)
    status = runner.invoke(
        app, [*base, "status", "--json"], env={**env, "STRONGROOM_PASSPHRASE": "unused"}
    )
    assert status.exit_code == 0, status.output
    # without the PIN variable: a clear error, exit code of a configuration error
    status = runner.invoke(
        app,
        [*base, "status"],
        env={**env, "TEST_CLI_HSM_PIN": None, "STRONGROOM_PASSPHRASE": "unused"},
    )
    assert status.exit_code == 3 and "TEST_CLI_HSM_PIN is not set" in status.output
    # --pkcs11-* without --kms pkcs11 is refused
    bad = runner.invoke(
        app,
        [*base, "init", "--pkcs11-token", "x"],
        env={**env, "STRONGROOM_PASSPHRASE": "unused"},
    )
    assert bad.exit_code == 3 and "--kms pkcs11" in bad.output
