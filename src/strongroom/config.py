"""Vault settings: where the record database and the key store are.

A vault's data directory holds ``vault.toml``::

    format = "strongroom-vault"
    version = 1
    database_url = "sqlite:////abs/path/records.db"     # or postgresql://...
    keystore_url = "sqlite:////abs/path/keystore.db"    # never the record database
    root_key_id = "..."                                   # the root key that wraps the KEKs

The keys directory (root key file) is given separately (``--keys`` / ``STRONGROOM_KEYS``) and
must not be inside the data directory.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from strongroom.errors import ConfigError

CONFIG_NAME = "vault.toml"


@dataclass(frozen=True)
class VaultConfig:
    database_url: str
    keystore_url: str
    root_key_id: str
    #: witness verifier keys (C2SP note verifier strings) whose cosignatures count
    witnesses: tuple[str, ...] = ()
    #: cosignatures a checkpoint needs before it is served as the current one
    required_cosignatures: int = 0

    @property
    def audit_origin(self) -> str:
        """The vault's name as its audit log's checkpoint origin."""
        return f"strongroom.vault/{self.root_key_id}"

    @classmethod
    def default_for(cls, data_dir: Path, root_key_id: str) -> VaultConfig:
        d = data_dir.resolve()
        return cls(f"sqlite:///{d / 'records.db'}", f"sqlite:///{d / 'keystore.db'}", root_key_id)

    def write(self, data_dir: Path) -> None:
        def q(s: str) -> str:
            return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'

        text = (
            'format = "strongroom-vault"\nversion = 1\n'
            f"database_url = {q(self.database_url)}\n"
            f"keystore_url = {q(self.keystore_url)}\n"
            f"root_key_id = {q(self.root_key_id)}\n"
        )
        if self.witnesses or self.required_cosignatures:
            text += (
                "\n[audit]\n"
                f"witnesses = [{', '.join(q(w) for w in self.witnesses)}]\n"
                f"required_cosignatures = {int(self.required_cosignatures)}\n"
            )
        (data_dir / CONFIG_NAME).write_text(text, encoding="utf-8")

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
            )
        except (OSError, tomllib.TOMLDecodeError, KeyError) as exc:
            raise ConfigError(f"cannot read {path}: {exc}") from exc


def check_layout(data_dir: Path, keys_dir: Path) -> None:
    """Refuse a keys directory inside the data directory (or the other way round)."""
    d, k = data_dir.resolve(), keys_dir.resolve()
    if d == k or d in k.parents or k in d.parents:
        raise ConfigError(
            f"the keys directory {keys_dir} must not be inside the data directory "
            f"{data_dir} (nor contain it): a copy of the data must never carry its keys"
        )
