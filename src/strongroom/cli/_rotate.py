"""``strongroom keys rotate|rekey|retire|status|rotate-root``: key rotation (each call
audited); ``--index`` on rotate, rekey and retire for the blind-index keys.

Thin over :mod:`strongroom.batch._rekey` and :mod:`strongroom.batch._reindex`; see
docs/keys-and-sealing.md ("Rotation", "Blind-index rotation").
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from strongroom.batch._reindex import ReindexSummary
from strongroom.batch._reindex import reindex as reindex_job
from strongroom.batch._rekey import rekey as rekey_job
from strongroom.batch._rekey import retire as retire_version
from strongroom.batch._rekey import rotate as rotate_keys
from strongroom.batch._rekey import rotate_root as rotate_root_job
from strongroom.batch._rekey import status as key_status
from strongroom.cli._io import note, print_json, stderr, stdout
from strongroom.cli._options import JsonFlag, settings_of
from strongroom.cli._settings import read_passphrase_file
from strongroom.config import VaultConfig

RegionOpt = Annotated[
    str | None,
    typer.Option("--region", metavar="REGION", help="Only this region (default: every one)."),
]
CollectionOpt = Annotated[
    str | None,
    typer.Option(
        "--collection", metavar="COLLECTION", help="Only this collection (default: every one)."
    ),
]
IndexFlag = Annotated[
    bool, typer.Option("--index", help="The blind-index keys instead of the data keys.")
]


def rotate(
    ctx: typer.Context,
    region: RegionOpt = None,
    collection: CollectionOpt = None,
    index: IndexFlag = False,
    json_out: JsonFlag = False,
) -> None:
    """Create a new data-key version (or with --index, blind-index version) for each
    matching (region, collection). New writes use it at once (other running processes
    within 2 s); older versions keep opening and being searched."""
    s = settings_of(ctx)
    with s.open_vault() as vault:
        done = rotate_keys(
            vault,
            actor=s.actor(),
            purpose=s.purpose(fallback="ADMIN"),
            region=region,
            collection=collection,
            index=index,
        )
    if json_out:
        print_json(done)
        return
    what = "index keys" if index else "data keys"
    for d in done:
        stdout().print(Text(f"{d['region']}/{d['collection']}: {what} now version {d['version']}"))
    if index:
        note("run `strongroom keys rekey --index` to recompute the older versions' tokens")
    else:
        note("run `strongroom keys rekey` to move what older versions still wrap")


def rekey(
    ctx: typer.Context,
    region: RegionOpt = None,
    collection: CollectionOpt = None,
    batch_size: Annotated[
        int | None,
        typer.Option(
            "--batch-size",
            min=1,
            metavar="N",
            help="Data keys (with --index: records) per transaction [default: 5000; 2000].",
        ),
    ] = None,
    index: Annotated[
        bool,
        typer.Option("--index", help="Recompute blind-index tokens under the newest version."),
    ] = False,
    json_out: JsonFlag = False,
) -> None:
    """Re-wrap every data key still under an older version by the newest one (online; no
    record is rewritten). With --index, recompute every record's index tokens under the
    newest index version instead (online). Resumable: after a crash, run it again."""
    s = settings_of(ctx)
    job = reindex_job if index else rekey_job
    with s.open_vault() as vault, _bar("reindex" if index else "rekey") as advance:
        summary = job(
            vault,
            actor=s.actor(),
            purpose=s.purpose(fallback="ADMIN"),
            region=region,
            collection=collection,
            batch_size=batch_size or (2000 if index else 5000),
            advance=advance,
        )
    if json_out:
        print_json(summary.to_json())
    elif isinstance(summary, ReindexSummary):
        took = f"{summary.seconds:.1f} s"
        stdout().print(Text(f"recomputed the tokens of {summary.records:,} records in {took}"))
        if summary.unopened:
            note(f"{summary.unopened} record(s) did not open and were not indexed again")
        if summary.scopes:
            note("older index versions can now be retired: keys retire VERSION --index")
    else:
        stdout().print(Text(f"re-wrapped {summary.keys:,} data keys in {summary.seconds:.1f} s"))
        if summary.stuck:
            stuck = f"{len(summary.stuck)} month key(s) could not move"
            note(f"{stuck}; see docs/keys-and-sealing.md")


@contextmanager
def _bar(label: str) -> Iterator[Callable[[int, int], None]]:
    """A progress bar on stderr; yields the job's ``advance(done, total)``."""
    columns = (
        TextColumn(label),
        BarColumn(bar_width=30),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=stderr(), transient=True) as bar:
        task = bar.add_task(label, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


def retire(
    ctx: typer.Context,
    version: Annotated[int, typer.Argument(metavar="VERSION", help="The version to retire.")],
    region: Annotated[str, typer.Option("--region", metavar="REGION", help="Its region.")],
    collection: Annotated[
        str, typer.Option("--collection", metavar="COLLECTION", help="Its collection.")
    ],
    index: IndexFlag = False,
) -> None:
    """Retire a data-key version: refused while it is active or any record still uses it;
    then its key material is dropped for good. With --index, a blind-index version: refused
    until `keys rekey --index` has finished."""
    s = settings_of(ctx)
    with s.open_vault() as vault:
        retire_version(
            vault,
            version,
            actor=s.actor(),
            purpose=s.purpose(fallback="ADMIN"),
            region=region,
            collection=collection,
            index=index,
        )
    what = "index" if index else "data"
    stdout().print(Text(f"{region}/{collection}: {what}-key version {version} retired"))


def status(
    ctx: typer.Context,
    records: Annotated[
        bool,
        typer.Option("--records", help="Also count stored record versions (scans the records)."),
    ] = False,
    json_out: JsonFlag = False,
) -> None:
    """Every key version (data and blind-index) with its state and how many data keys (and,
    with --records, record versions) use it."""
    with settings_of(ctx).open_vault() as vault:
        rows = key_status(vault, records=records)
    if json_out:
        print_json(rows)
        return
    table = Table("purpose", "region", "collection", "version", "state", "data keys")
    if records:
        table.add_column("records")
    table.add_column("reindex")
    for r in rows:
        cells = [r["purpose"], r["region"], r["collection"], str(r["version"]), r["state"]]
        cells.append(f"{r['data_keys']:,}")
        if records:
            cells.append(f"{r['records']:,}")
        rx = r.get("reindex", "")
        cells.append(
            "not run" if rx is None else f"{rx['status']} ({rx['records']:,})" if rx else ""
        )
        table.add_row(*cells)
    stdout().print(table)


def rotate_root(
    ctx: typer.Context,
    new_passphrase_file: Annotated[
        Path | None,
        typer.Option(
            "--new-passphrase-file",
            metavar="FILE",
            help="Read the new passphrase from the first line of FILE (default: ask twice).",
        ),
    ] = None,
    json_out: JsonFlag = False,
) -> None:
    """Rotate the root key: make a new one (a key file under a new passphrase, or a new key
    in the PKCS#11 token under the same label), re-wrap every KEK under it in one
    transaction (no record is rewritten), then switch vault.toml to it. Interrupted, run it
    again with the same passphrases."""
    s = settings_of(ctx)
    actor, purpose = s.actor(), s.purpose(fallback="ADMIN")
    local = VaultConfig.read(s.data).kms.provider == "local"
    current = s.passphrase() if local else ""

    def ask() -> str:
        if new_passphrase_file is not None:
            return read_passphrase_file(new_passphrase_file)
        text: str = typer.prompt(
            "New vault passphrase", hide_input=True, confirmation_prompt=True, err=True
        )
        return text

    done = rotate_root_job(s.data, s.keys, current, ask, actor=actor, purpose=purpose)
    if json_out:
        print_json(done)
        return
    stdout().print(
        Text(f"root key is now {done['to']} ({done['keks']} key-encryption keys re-wrapped)")
    )
    if local:
        old = f"the old key file {s.keys / done['old_key_file']} is kept"
        then = "Restart running servers with the new passphrase."
    else:
        old = f"the old key ({done['old_key']}) is kept in the token"
        then = "Restart running servers."
    note(
        f"{old} and no longer opens this vault's keys; delete it once no key-store backup "
        f"still needs it. {then}"
    )
