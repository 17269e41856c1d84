"""``strongroom erase``, ``strongroom backup`` and ``strongroom restore``: the key custodian's
lifecycle commands (each writes an audit entry)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn
from rich.text import Text

from strongroom.cli._io import note, print_json, stderr, stdout
from strongroom.cli._options import JsonFlag, RefArg, settings_of
from strongroom.config import VaultConfig
from strongroom.errors import ValidationError
from strongroom.retention import Holds, RetentionPolicy, run_retention
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


# -- retention and legal holds -----------------------------------------------------------------
def retention_run(
    ctx: typer.Context,
    rules: Annotated[
        Path | None,
        typer.Option("--rules", metavar="FILE", help="Retention rules (default: shipped)."),
    ] = None,
    now: Annotated[
        datetime | None,
        typer.Option("--now", help="Apply as of this time (ISO 8601; default: now)."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would go; change nothing.")
    ] = False,
    json_out: JsonFlag = False,
) -> None:
    """Delete expired incidents that are not under a legal hold, then destroy the month keys
    under which nothing may still be kept. Every purge and key destruction is audited."""
    s = settings_of(ctx)
    purpose, actor = s.purpose(), s.actor()
    policy = RetentionPolicy.load(rules)
    at = (now.replace(tzinfo=UTC) if now and now.tzinfo is None else now) or None
    with (
        s.open_vault() as vault,
        Progress(
            SpinnerColumn(), TextColumn("{task.description}"), console=stderr(), transient=True
        ) as bar,
    ):
        task = bar.add_task("applying retention", total=None)
        report = run_retention(
            vault,
            actor=actor,
            purpose=purpose,
            policy=policy,
            now=at,
            dry_run=dry_run,
            progress=lambda n: bar.update(task, description=f"scanned {n:,} incidents"),
        )
    if json_out:
        print_json(dataclasses.asdict(report) | {"dry_run": dry_run})
        return
    verb = "would purge" if dry_run else "purged"
    stdout().print(
        Text(
            f"scanned {report.scanned:,} incidents: {verb} {report.purged:,}, kept "
            f"{report.kept:,} ({report.held:,} expired but held); month keys "
            f"{'to destroy' if dry_run else 'destroyed'}: {report.keys_destroyed}"
        )
    )


def hold_add(
    ctx: typer.Context,
    record: Annotated[
        str | None, typer.Option("--record", metavar="REF", help="Hold one record.")
    ] = None,
    case: Annotated[
        str | None, typer.Option("--case", metavar="CASE_REF", help="Hold a case's records.")
    ] = None,
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded).")] = "",
) -> None:
    """Put a record or a case under legal hold: retention will not purge it."""
    s = settings_of(ctx)
    if (record is None) == (case is None):
        raise ValidationError.single("--record/--case", "give exactly one of them")
    with s.open_vault() as vault:
        kind, target = ("record", record) if record is not None else ("case", case)
        hold = Holds.of(vault).add(kind, str(target), reason, datetime.now(UTC))
        vault.audit.append(
            vault.entry(
                s.actor(),
                s.purpose(fallback="ADMIN"),
                "admin",
                "holds",
                detail={"op": "hold", "hold": hold.id, "kind": kind},
            )
        )
    stdout().print(Text(f"legal hold {hold.id} on {kind} {target}"))


def hold_release(
    ctx: typer.Context,
    hold_id: Annotated[str, typer.Argument(metavar="ID", help="The hold to release.")],
) -> None:
    """Release a legal hold."""
    s = settings_of(ctx)
    with s.open_vault() as vault:
        Holds.of(vault).release(hold_id, datetime.now(UTC))
        vault.audit.append(
            vault.entry(
                s.actor(),
                s.purpose(fallback="ADMIN"),
                "admin",
                "holds",
                detail={"op": "release", "hold": hold_id},
            )
        )
    stdout().print(Text(f"released legal hold {hold_id}"))


def hold_list(ctx: typer.Context, json_out: JsonFlag = False) -> None:
    """List active legal holds."""
    with settings_of(ctx).open_vault() as vault:
        found = Holds.of(vault).list()
    if json_out:
        print_json([dataclasses.asdict(h) for h in found])
        return
    for h in found:
        stdout().print(Text(f"{h.id}  {h.kind:<6} {h.target}  {h.reason}"), soft_wrap=True)
    note(f"{len(found)} active hold(s)")
