"""``strongroom init`` and ``strongroom status``."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from strongroom.cli._access import SHOWN_ONCE, issue_first_admin
from strongroom.cli._io import note, print_json, redact_url, stdout, warn
from strongroom.cli._options import JsonFlag, settings_of
from strongroom.config import KmsConfig, check_layout
from strongroom.crypto.kms._local import UNSAFE_FAST_ARGON2
from strongroom.errors import ConfigError
from strongroom.vault import Vault


class KmsChoice(StrEnum):
    local = "local"
    pkcs11 = "pkcs11"


_P11 = "PKCS#11 root key (--kms pkcs11)"


def init(
    ctx: typer.Context,
    database_url: Annotated[
        str | None,
        typer.Option(
            envvar="STRONGROOM_DATABASE_URL",
            help="Record database (sqlite:///... or postgresql://...). "
            "Default: records.db in the data directory.",
            show_default=False,
        ),
    ] = None,
    keystore_url: Annotated[
        str | None,
        typer.Option(
            envvar="STRONGROOM_KEYSTORE_URL",
            help="Key store database; must not be the record database. "
            "Default: keystore.db in the data directory.",
            show_default=False,
        ),
    ] = None,
    fast_kdf: Annotated[
        bool,
        typer.Option(
            "--fast-kdf",
            help="UNSAFE: derive the passphrase key with cheap Argon2 parameters. "
            "For throwaway test and demo vaults only, never for real data.",
        ),
    ] = False,
    kms: Annotated[
        KmsChoice,
        typer.Option(
            "--kms",
            help="Where the root key lives: local (a passphrase-wrapped key file in the keys "
            "directory) or pkcs11 (a non-extractable AES key in an HSM token).",
        ),
    ] = KmsChoice.local,
    pkcs11_module: Annotated[
        Path | None,
        typer.Option(
            "--pkcs11-module",
            metavar="PATH",
            help="The PKCS#11 library of the HSM, e.g. /usr/lib/softhsm/libsofthsm2.so.",
            rich_help_panel=_P11,
            show_default=False,
        ),
    ] = None,
    pkcs11_token: Annotated[
        str | None,
        typer.Option(
            "--pkcs11-token",
            metavar="LABEL",
            help="Label of the token holding the root key.",
            rich_help_panel=_P11,
            show_default=False,
        ),
    ] = None,
    pkcs11_slot: Annotated[
        int | None,
        typer.Option(
            "--pkcs11-slot",
            metavar="ID",
            min=0,
            help="Slot id of the token (instead of, or as well as, its label).",
            rich_help_panel=_P11,
            show_default=False,
        ),
    ] = None,
    pkcs11_key: Annotated[
        str,
        typer.Option(
            "--pkcs11-key",
            metavar="LABEL",
            help="Label of the root key in the token: used if it exists, generated if not.",
            rich_help_panel=_P11,
        ),
    ] = "strongroom-root",
    pkcs11_pin_env: Annotated[
        str | None,
        typer.Option(
            "--pkcs11-pin-env",
            metavar="NAME",
            help="Name of the environment variable holding the token's user PIN "
            "(the name is stored in vault.toml, never the PIN).",
            rich_help_panel=_P11,
            show_default=False,
        ),
    ] = None,
    pkcs11_pin_file: Annotated[
        Path | None,
        typer.Option(
            "--pkcs11-pin-file",
            metavar="PATH",
            help="File (mode 600) whose first line is the token's user PIN.",
            rich_help_panel=_P11,
            show_default=False,
        ),
    ] = None,
) -> None:
    """Create a vault: a new root key in the keys directory, databases in the data directory.

    Asks for the passphrase twice unless it comes from --passphrase-file or
    STRONGROOM_PASSPHRASE. The keys directory must not be inside the data directory.
    With --kms pkcs11 the root key is a key in an HSM token instead and no passphrase is
    asked for.
    Also creates the principal 'admin' (role admin) and prints its first API token (valid
    90 days) once: store it then, it is not shown again.
    """
    s = settings_of(ctx)
    check_layout(s.data, s.keys)  # refuse before asking for a passphrase
    p11 = kms is KmsChoice.pkcs11
    if p11:
        kms_config = KmsConfig(
            "pkcs11",
            str(pkcs11_module) if pkcs11_module else None,
            pkcs11_token,
            pkcs11_slot,
            pkcs11_key,
            pkcs11_pin_env,
            str(pkcs11_pin_file.resolve()) if pkcs11_pin_file else None,
        )
        kms_config.check()
        passphrase = ""  # the root key is in the token: there is no key file to protect
    else:
        given = (pkcs11_module, pkcs11_token, pkcs11_slot, pkcs11_pin_env, pkcs11_pin_file)
        if any(v is not None for v in given):
            raise ConfigError("the --pkcs11-* options need --kms pkcs11")
        kms_config = KmsConfig()
        passphrase = s.passphrase(confirm=True)
    argon2 = UNSAFE_FAST_ARGON2 if fast_kdf else None
    with Vault.init(
        s.data,
        s.keys,
        passphrase,
        database_url=database_url,
        keystore_url=keystore_url,
        argon2=argon2,
        kms=kms_config,
    ) as vault:
        config = vault.config
        token, info = issue_first_admin(vault)
    out = stdout()
    out.print(Text("Created a Strongroom vault.", style="bold green"))
    out.print(Text(f"  data directory:  {s.data.resolve()}"))
    if p11:
        where = kms_config.token_label or f"slot {kms_config.slot}"
        out.print(Text(f"  root key:        {pkcs11_key!r} in PKCS#11 token {where!r}"))
    else:
        out.print(Text(f"  keys directory:  {s.keys.resolve()}  (root.key)"))
    out.print(Text(f"  record database: {redact_url(config.database_url)}"))
    out.print(Text(f"  key store:       {redact_url(config.keystore_url)}"))
    out.print(
        Text(
            "The root key never leaves the token; keep the token's PIN apart from the data "
            "and its backups: without the token, the records cannot be opened."
            if p11
            else "Keep the keys directory and the passphrase apart from the data and its "
            "backups: without both, the records cannot be opened."
        )
    )
    out.print(
        Text(
            f"Created principal admin (role admin) and its first API token {info.id}, "
            f"expiring {info.expires_at.isoformat(timespec='seconds')}:"
        )
    )
    typer.echo(token)  # plain, alone on its line
    out.print(Text(f"This is the only copy: {SHOWN_ONCE}.", style="bold yellow"))
    if fast_kdf:
        warn("--fast-kdf: the root key is protected by cheap key derivation; throwaway use only")


def status(ctx: typer.Context, json_out: JsonFlag = False) -> None:
    """Show where the vault is and how many current records each collection holds."""
    s = settings_of(ctx)
    with s.open_vault() as vault:
        counts = vault.counts()
        names = list(vault.collections)
        config = vault.config
    per_collection = {name: counts.get(name, 0) for name in names}
    per_collection.update(counts)
    where = {
        "data_dir": str(s.data.resolve()),
        "keys_dir": str(s.keys.resolve()),
        "database_url": redact_url(config.database_url),
        "keystore_url": redact_url(config.keystore_url),
        "root_key_id": config.root_key_id,
    }
    if json_out:
        print_json({**where, "counts": per_collection})
        return
    table = Table(title="Strongroom vault", show_header=False)
    table.add_column("item", style="bold", no_wrap=True)
    table.add_column("value", overflow="fold")
    for key, value in where.items():
        table.add_row(key.replace("_", " "), Text(value))
    for name, n in per_collection.items():
        table.add_row(f"{name} records", f"{n:,}")
    stdout().print(table)
    if not any(per_collection.values()):
        note("The vault is empty: see 'strongroom import --help' or 'strongroom demo'.")
