"""``strongroom honeytokens plant|status``: canary records (see ``docs/guard.md``)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.text import Text

from strongroom.cli._io import print_json, stderr, stdout
from strongroom.cli._options import JsonFlag, settings_of
from strongroom.guard import Guard, plant


def honeytokens_plant(
    ctx: typer.Context,
    count: Annotated[
        int, typer.Argument(metavar="N", min=1, max=10_000, help="How many canary persons.")
    ],
    region: Annotated[
        str | None,
        typer.Option(
            "--region",
            metavar="R",
            help="Province-level region code (110000); default: drawn like real records.",
        ),
    ] = None,
    json_out: JsonFlag = False,
) -> None:
    """Plant N canary persons, each named in one or two incidents. They look like any record
    through the API; which ones they are is kept only as keyed marks in the key store. Any read
    or search hit on one raises a high-severity alert (and suspends the reader's tokens)."""
    s = settings_of(ctx)
    with s.open_vault() as vault:
        guard = Guard(vault)
        with Progress(
            TextColumn("planting canaries"),
            BarColumn(),
            MofNCompleteColumn(),
            console=stderr(),
            transient=True,
        ) as bar:
            task = bar.add_task("plant", total=count)
            planted = plant(
                vault,
                guard.honeytokens,
                count,
                region=region,
                phone_range=guard.config.honeytoken_phones,
                actor=s.actor(),
                purpose=s.purpose(fallback="ADMIN"),
                on_progress=lambda n: bar.advance(task, n),
            )
        total = guard.honeytokens.count()
    incidents = sum(len(c.incident_refs) for c in planted)
    if json_out:
        print_json({"planted": len(planted), "incidents": incidents, "records_marked": total})
        return
    # the canaries' references are not printed: a terminal log must not list them either
    stdout().print(
        Text(
            f"planted {len(planted)} canary person(s) with {incidents} incident(s); "
            f"{total} canary record(s) in this vault"
        )
    )


def honeytokens_status(ctx: typer.Context, json_out: JsonFlag = False) -> None:
    """How many canary records the key store marks (never which)."""
    s = settings_of(ctx)
    with s.open_vault() as vault:
        total = Guard(vault).honeytokens.count()
    if json_out:
        print_json({"records_marked": total})
        return
    stdout().print(Text(f"{total} canary record(s) (persons and incidents) in this vault"))
