"""Vault settings: where the record database and the key store are.

A vault's data directory holds ``vault.toml``::

    format = "strongroom-vault"
    version = 1
    database_url = "sqlite:////abs/path/records.db"     # or postgresql://...
    keystore_url = "sqlite:////abs/path/keystore.db"    # never the record database
    root_key_id = "..."                                   # the root key that wraps the KEKs

    [kms]                           # optional; without it the root key is the local key file
    provider = "pkcs11"             # "local" (default) or "pkcs11"
    module = "/usr/lib/softhsm/libsofthsm2.so"
    token_label = "strongroom"      # and/or slot = 123
    key_label = "strongroom-root"
    pin_env = "STRONGROOM_PKCS11_PIN"   # or pin_file = "/abs/path"; never the PIN itself

The keys directory (root key file) is given separately (``--keys`` / ``STRONGROOM_KEYS``) and
must not be inside the data directory.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from strongroom.errors import ConfigError

CONFIG_NAME = "vault.toml"
KMS_PROVIDERS = ("local", "pkcs11")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class KmsConfig:
    """Where the root key lives (the ``[kms]`` table): the local key file or a PKCS#11 token.

    The PIN of a token is never a setting: ``pin_env`` names an environment variable and
    ``pin_file`` an absolute path (mode 600) whose first line is the PIN.
    """

    provider: str = "local"
    module: str | None = None
    token_label: str | None = None
    slot: int | None = None
    key_label: str | None = None
    pin_env: str | None = None
    pin_file: str | None = None

    def check(self) -> None:
        """Raise :class:`ConfigError` unless the settings are complete and consistent."""
        if self.provider not in KMS_PROVIDERS:
            raise ConfigError(f"[kms] provider must be one of {', '.join(KMS_PROVIDERS)}")
        others = (self.module, self.token_label, self.slot, self.key_label)
        if self.provider == "local":
            if any(v is not None for v in (*others, self.pin_env, self.pin_file)):
                raise ConfigError("[kms] the local provider takes no PKCS#11 settings")
            return
        if not self.module:
            raise ConfigError("[kms] pkcs11 needs module (the path of the PKCS#11 library)")
        if not self.token_label and self.slot is None:
            raise ConfigError("[kms] pkcs11 needs token_label or slot")
        if self.slot is not None and (isinstance(self.slot, bool) or self.slot < 0):
            raise ConfigError("[kms] slot must be a slot id (0 or more)")
        if not self.key_label:
            raise ConfigError("[kms] pkcs11 needs key_label (the label of the root key)")
        if (self.pin_env is None) == (self.pin_file is None):
            raise ConfigError("[kms] pkcs11 needs exactly one of pin_env and pin_file")
        if self.pin_env is not None and not _ENV_NAME.fullmatch(self.pin_env):
            raise ConfigError("[kms] pin_env must be the name of an environment variable")
        if self.pin_file is not None and not Path(self.pin_file).is_absolute():
            raise ConfigError("[kms] pin_file must be an absolute path")

    @classmethod
    def from_table(cls, table: Any) -> KmsConfig:
        if not isinstance(table, dict):
            raise ConfigError("[kms] must be a table")
        known = set(cls.__dataclass_fields__)
        unknown = set(table) - known
        if unknown:
            raise ConfigError(f"[kms] unknown settings: {', '.join(sorted(unknown))}")
        for name, value in table.items():
            want = int if name == "slot" else str
            if not isinstance(value, want) or isinstance(value, bool):
                raise ConfigError(f"[kms] {name} must be a {want.__name__}")
        kms = cls(**table)
        kms.check()
        return kms

    def table(self) -> str:
        """The ``[kms]`` table as TOML text (empty for the local provider)."""
        if self.provider == "local":
            return ""

        def q(s: str) -> str:
            return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'

        lines = ["", "[kms]", f"provider = {q(self.provider)}"]
        for name in ("module", "token_label", "key_label", "pin_env", "pin_file"):
            value = getattr(self, name)
            if value is not None:
                lines.append(f"{name} = {q(value)}")
        if self.slot is not None:
            lines.append(f"slot = {int(self.slot)}")
        return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class VaultConfig:
    database_url: str
    keystore_url: str
    root_key_id: str
    #: witness verifier keys (C2SP note verifier strings) whose cosignatures count
    witnesses: tuple[str, ...] = ()
    #: cosignatures a checkpoint needs before it is served as the current one
    required_cosignatures: int = 0
    #: where the root key lives (``[kms]``; the local key file when absent)
    kms: KmsConfig = field(default_factory=KmsConfig)
    #: the vault's name: its audit log's checkpoint origin. Fixed at ``init`` (from the first
    #: root key's id) so that rotating the root key does not rename the log
    name: str = ""
    #: the ``[guard]`` table as read (parsed and checked by ``strongroom.guard.GuardConfig``)
    guard: Mapping[str, Any] = field(default_factory=dict)

    @property
    def audit_origin(self) -> str:
        """The vault's name as its audit log's checkpoint origin."""
        return self.name or f"strongroom.vault/{self.root_key_id}"

    @classmethod
    def default_for(cls, data_dir: Path, root_key_id: str) -> VaultConfig:
        d = data_dir.resolve()
        return cls(f"sqlite:///{d / 'records.db'}", f"sqlite:///{d / 'keystore.db'}", root_key_id)

    def write(self, data_dir: Path) -> None:
        (data_dir / CONFIG_NAME).write_text(self._text(), encoding="utf-8")

    def _text(self) -> str:
        def q(s: str) -> str:
            return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'

        text = (
            'format = "strongroom-vault"\nversion = 1\n'
            f"database_url = {q(self.database_url)}\n"
            f"keystore_url = {q(self.keystore_url)}\n"
            f"root_key_id = {q(self.root_key_id)}\n"
        )
        if self.name:
            text += f"name = {q(self.name)}\n"
        if self.witnesses or self.required_cosignatures:
            text += (
                "\n[audit]\n"
                f"witnesses = [{', '.join(q(w) for w in self.witnesses)}]\n"
                f"required_cosignatures = {int(self.required_cosignatures)}\n"
            )
        text += self.kms.table()
        if self.guard:
            text += "\n" + toml_tables("guard", self.guard)
        return text

    @classmethod
    def switch_root_key(cls, data_dir: Path, old: str, new: str) -> VaultConfig:
        """Point ``vault.toml`` at root key ``new`` (a root rotation's last step), atomically:
        the new file is written and flushed beside the old one, then renamed over it; every
        other setting (``name`` included, so the audit log keeps its origin) is kept. Refused
        unless the file still names ``old``; a no-op when it already names ``new``."""
        config = cls.read(data_dir)
        if config.root_key_id == new:
            return config
        if config.root_key_id != old:
            raise ConfigError(f"{data_dir / CONFIG_NAME} names another root key than {old}")
        config = replace(config, root_key_id=new, name=config.audit_origin)
        path = data_dir / CONFIG_NAME
        tmp = data_dir / (CONFIG_NAME + ".new")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(config._text())
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        dir_fd = os.open(data_dir, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        return config

    @classmethod
    def read(cls, data_dir: Path) -> VaultConfig:
        path = data_dir / CONFIG_NAME
        if not path.exists():
            raise ConfigError(
                f"{data_dir} is not a Strongroom vault (no {CONFIG_NAME}); "
                "run 'strongroom init' first"
            )
        try:
            doc = tomllib.loads(path.read_text(encoding="utf-8"))
            if doc.get("format") != "strongroom-vault" or doc.get("version") != 1:
                raise ConfigError(f"{path} is not a version-1 Strongroom vault file")
            audit = doc.get("audit", {})
            witnesses = audit.get("witnesses", [])
            required = audit.get("required_cosignatures", 0)
            if not isinstance(witnesses, list) or not all(isinstance(w, str) for w in witnesses):
                raise ConfigError(f"{path}: [audit] witnesses must be a list of verifier keys")
            if isinstance(required, bool) or not isinstance(required, int) or required < 0:
                raise ConfigError(f"{path}: [audit] required_cosignatures must be 0 or more")
            if required > len(witnesses):
                raise ConfigError(
                    f"{path}: [audit] required_cosignatures is more than the witnesses listed"
                )
            return cls(
                str(doc["database_url"]),
                str(doc["keystore_url"]),
                str(doc["root_key_id"]),
                tuple(witnesses),
                required,
                KmsConfig.from_table(doc["kms"]) if "kms" in doc else KmsConfig(),
                str(doc.get("name", "")),
                _guard_table(path, doc.get("guard", {})),
            )
        except (OSError, tomllib.TOMLDecodeError, KeyError) as exc:
            raise ConfigError(f"cannot read {path}: {exc}") from exc


def _guard_table(path: Path, table: Any) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [guard] must be a table")
    from strongroom.guard._config import GuardConfig

    GuardConfig.from_table(table)  # refuse unknown or wrong settings when the vault opens
    return table


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise ConfigError(f"cannot write a setting of type {type(v).__name__}")


def toml_tables(name: str, table: Mapping[str, Any]) -> str:
    """``table`` as TOML text under ``[name]`` (nested tables as ``[name.key]``; keys that
    are not bare words quoted), as :func:`tomllib.loads` reads it back."""

    def key(k: str) -> str:
        return k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else _toml_value(k)

    head = [f"[{name}]"]
    subs: list[str] = []
    for k, v in table.items():
        if isinstance(v, Mapping):
            subs.append(toml_tables(f"{name}.{key(k)}", v))
        else:
            head.append(f"{key(k)} = {_toml_value(v)}")
    return "\n".join(head) + "\n" + "".join("\n" + s for s in subs)


def check_layout(data_dir: Path, keys_dir: Path) -> None:
    """Refuse a keys directory inside the data directory (or the other way round)."""
    d, k = data_dir.resolve(), keys_dir.resolve()
    if d == k or d in k.parents or k in d.parents:
        raise ConfigError(
            f"the keys directory {keys_dir} must not be inside the data directory "
            f"{data_dir} (nor contain it): a copy of the data must never carry its keys"
        )
