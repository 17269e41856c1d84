"""Global options of the CLI and what they resolve to: paths, passphrase, actor, purpose.

Values are resolved lazily, in the order a command needs them: a command that reads or writes
records checks its purpose before it asks for a passphrase, so a forgotten ``--purpose`` never
costs a passphrase prompt.
"""

from __future__ import annotations

import getpass
import os
import stat
from dataclasses import dataclass
from pathlib import Path

import typer

from strongroom._access import Actor, Purpose
from strongroom.cli._io import warn
from strongroom.config import VaultConfig
from strongroom.errors import AccessError, ConfigError
from strongroom.vault import Vault

PASSPHRASE_ENV = "STRONGROOM_PASSPHRASE"  # noqa: S105 - a variable name, not a secret


@dataclass(frozen=True)
class Settings:
    """What the options before the command name said (``ctx.obj`` of every command)."""

    data: Path
    keys: Path
    passphrase_file: Path | None = None
    actor_id: str | None = None
    purpose_code: str | None = None
    case_ref: str | None = None

    def passphrase(self, *, confirm: bool = False, fallback: str | None = None) -> str:
        """From ``--passphrase-file``, else ``$STRONGROOM_PASSPHRASE``, else ``fallback``,
        else a hidden prompt (asked twice when ``confirm``)."""
        if self.passphrase_file is not None:
            return read_passphrase_file(self.passphrase_file)
        env = os.environ.get(PASSPHRASE_ENV)
        if env:
            return env
        if fallback is not None:
            return fallback
        text: str = typer.prompt(
            "Vault passphrase", hide_input=True, confirmation_prompt=confirm, err=True
        )
        return text

    def actor(self) -> Actor:
        """``--actor``, else the operating-system user name."""
        actor_id = self.actor_id
        if not actor_id:
            try:
                actor_id = getpass.getuser()
            except (OSError, KeyError) as exc:
                raise AccessError(
                    "the operating-system user name is unknown: pass --actor ID "
                    "(before the command) or set STRONGROOM_ACTOR"
                ) from exc
        actor = Actor(actor_id)
        actor.check()
        return actor

    def purpose(self, *, fallback: str | None = None) -> Purpose:
        """``--purpose`` (+ ``--case-ref``); a clear error when it is missing."""
        code = self.purpose_code or fallback
        if not code:
            raise AccessError(
                "this command reads or writes records, so it needs a purpose: pass "
                "--purpose CODE before the command name (for example "
                "'strongroom --purpose investigation get ...') or set STRONGROOM_PURPOSE"
            )
        purpose = Purpose(code, self.case_ref)
        purpose.check()
        return purpose

    def open_vault(self, *, passphrase_fallback: str | None = None) -> Vault:
        """Open the vault; a vault whose root key is in a PKCS#11 token needs no passphrase
        (the token's PIN comes from its configured source)."""
        if VaultConfig.read(self.data).kms.provider == "pkcs11":
            return Vault.open(self.data, self.keys, "")
        return Vault.open(self.data, self.keys, self.passphrase(fallback=passphrase_fallback))


def read_passphrase_file(path: Path) -> str:
    """The first line of ``path`` (a trailing newline is not part of the passphrase)."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the passphrase file {path}") from exc
    if mode & 0o077:
        warn(f"the passphrase file {path} is readable by group or others; run: chmod 600 {path}")
    return text.splitlines()[0] if text else ""
