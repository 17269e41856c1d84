"""``strongroom erase``, ``strongroom backup`` and ``strongroom restore``: the key custodian's
lifecycle commands (each writes an audit entry)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from strongroom.cli._io import note, print_json, stdout
from strongroom.cli._options import JsonFlag, RefArg, settings_of
from strongroom.config import VaultConfig
from strongroom.store._backup import backup as backup_db
from strongroom.store._backup import restore as restore_db


def erase(
    ctx: typer.Context,
    ref: RefArg,
    legal_basis: Annotated[
        str,
        typer.Option(
            "--legal-basis",
            metavar="TEXT",
            help="The provision or order that requires the erasure (recorded in the log).",
        ),
    ],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Erase a person: delete every version and index entry, then destroy the person's data
    key, so that no copy of the record (backups included) opens again. Irreversible."""
    s = settings_of(ctx)
    purpose, actor = s.purpose(), s.actor()
    if not yes:
        typer.confirm(f"Erase person {ref} for good?", abort=True, err=True)
    with s.open_vault() as vault:
        vault.erase(ref, actor=actor, purpose=purpose, legal_basis=legal_basis)
    stdout().print(Text(f"erased person {ref}: its data key is destroyed"))
    note(
        "copies of its ciphertext in record-database backups no longer open; the erasure is "
        "complete once every key-store backup older than now has expired"
    )


def backup(
    ctx: typer.Context,
    dest: Annotated[Path, typer.Argument(metavar="DEST", help="A new directory for the backup.")],
    json_out: JsonFlag = False,
) -> None:
    """Snapshot the record database online (consistent, with its SHA-256) into DEST. The key
    store is not included: back it up separately (see docs/keys-and-sealing.md)."""
    s = settings_of(ctx)
    with s.open_vault() as vault:
        vault.audit.sequence()
        manifest = backup_db(vault.config.database_url, dest, audit_size=vault.audit.size())
        vault.audit.append(
            vault.entry(
                s.actor(),
                s.purpose(fallback="ADMIN"),
                "admin",
                "backup",
                detail={"op": "backup", "sha256": manifest["sha256"]},
            )
        )
    if json_out:
        print_json(manifest)
        return
    stdout().print(Text(f"backed up the record database to {dest} ({manifest['bytes']:,} bytes)"))
    note(f"sha256 {manifest['sha256']}")


def restore(
    ctx: typer.Context,
    src: Annotated[Path, typer.Argument(metavar="SRC", help="A backup directory.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Restore the record database from SRC (stop the server first). The checksum is checked
    before anything is touched. Erased persons stay erased: their keys are gone."""
    s = settings_of(ctx)
    config = VaultConfig.read(s.data)
    if not yes:
        typer.confirm(f"Replace the record database with the backup in {src}?", abort=True,
                      err=True)  # fmt: skip
    manifest = restore_db(config.database_url, src)
    with s.open_vault() as vault:
        vault.audit.append(
            vault.entry(
                s.actor(),
                s.purpose(fallback="ADMIN"),
                "admin",
                "backup",
                detail={
                    "op": "restore",
                    "sha256": manifest["sha256"],
                    "audit_size_at_backup": manifest.get("audit_size", 0),
                },
            )
        )
    stdout().print(Text(f"restored the record database from {src}"))
    note("run 'strongroom audit verify': entries after the backup are not in the restored log")
