"""Bulk commands: ``synth persons`` (synthetic data files) and ``import`` (with progress)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table
from rich.text import Text

from strongroom._access import Actor, Purpose
from strongroom.batch._import import ImportSummary, StrictStop, import_file
from strongroom.cli._io import note, print_json, report_error, stderr, stdout, warn
from strongroom.cli._options import CollectionArg, FileFormat, JsonFlag, settings_of
from strongroom.synth import (
    SynthPerson,
    generate_incidents,
    generate_persons,
    write_incidents_csv,
    write_incidents_jsonl,
    write_persons_csv,
    write_persons_jsonl,
)
from strongroom.vault import Vault

EXIT_INTERRUPTED = 130


# -- synth ----------------------------------------------------------------------------------
def synthesise(
    persons: int, incidents: int, seed: int, fmt: FileFormat, persons_out: Path, incidents_out: Path
) -> tuple[int, int]:
    """Write ``persons`` synthetic persons and ``incidents`` incidents among them."""
    pairs: list[tuple[str, str]] = []

    def keep(people: Iterable[SynthPerson]) -> Iterator[SynthPerson]:
        for p in people:  # only (resident ID, region) is kept for the incidents' parties
            if incidents:
                pairs.append((p.resident_id, p.region))
            yield p

    write_p, write_i = (
        (write_persons_csv, write_incidents_csv)
        if fmt is FileFormat.csv
        else (write_persons_jsonl, write_incidents_jsonl)
    )
    with stderr().status("writing synthetic records"):
        n = write_p(keep(generate_persons(persons, seed=seed)), persons_out)
        m = (
            write_i(generate_incidents(incidents, pairs, seed=seed), incidents_out)
            if incidents
            else 0
        )
    return n, m


def synth_persons(
    n: Annotated[int, typer.Argument(min=0, metavar="N", help="How many persons to write.")],
    seed: Annotated[
        int, typer.Option(help="The same seed gives the same records and identical files.")
    ] = 7,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            dir_okay=False,
            help="Persons file. Default: persons.csv (or .jsonl).",
            show_default=False,
        ),
    ] = None,
    incidents: Annotated[
        int,
        typer.Option("--incidents", min=0, metavar="M", help="Also write M incidents among them."),
    ] = 0,
    incidents_out: Annotated[
        Path | None,
        typer.Option(
            "--incidents-out",
            dir_okay=False,
            help="Incidents file. Default: incidents.csv (or .jsonl).",
            show_default=False,
        ),
    ] = None,
    fmt: Annotated[
        FileFormat | None,
        typer.Option(
            "--format",
            help="csv or jsonl. Default: from the --out suffix, else csv.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Write N synthetic persons (and M incidents) to files 'import' reads. No vault needed.

    Every record is synthetic: names are random combinations, resident IDs valid numbers
    built from random dates. Incident parties name persons by resident ID.
    """
    if incidents and not n:
        raise typer.BadParameter("incidents need at least one person", param_hint="--incidents")
    if fmt is None:
        fmt = (
            FileFormat.jsonl
            if out and out.suffix.lower() in (".jsonl", ".ndjson")
            else FileFormat.csv
        )
    out = out or Path(f"persons.{fmt}")
    incidents_out = incidents_out or Path(f"incidents.{fmt}")
    written, written_i = synthesise(n, incidents, seed, fmt, out, incidents_out)
    stdout().print(Text(f"wrote {written:,} synthetic persons to {out}"))
    if incidents:
        stdout().print(Text(f"wrote {written_i:,} synthetic incidents to {incidents_out}"))


# -- import ---------------------------------------------------------------------------------
def run_import(
    vault: Vault,
    collection: str,
    path: Path,
    *,
    actor: Actor,
    purpose: Purpose,
    strict: bool = False,
    rejects: Path | None = None,
    fmt: FileFormat | None = None,
    batch_size: int = 2000,
    again: str = "the same command",
) -> ImportSummary:
    """:func:`import_file` with a progress bar on stderr (bytes read, rows accepted/rejected).

    Ctrl-C exits with 130 and says how to resume; a strict stop says what was kept.
    """
    size = path.stat().st_size if path.is_file() else 0
    done = [0]
    columns = (
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TextColumn("{task.fields[accepted]:,} accepted, {task.fields[rejected]:,} rejected"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=stderr()) as bar:
        task = bar.add_task(f"{collection} ← {path.name}", total=size, accepted=0, rejected=0)

        def progress(position: int, accepted: int, rejected: int) -> None:
            done[0] = accepted
            bar.update(task, completed=position, accepted=accepted, rejected=rejected)

        try:
            return import_file(
                vault,
                collection,
                path,
                actor=actor,
                purpose=purpose,
                strict=strict,
                rejects_path=rejects,
                fmt=fmt.value if fmt else None,
                batch_size=batch_size,
                progress=progress,
            )
        except KeyboardInterrupt:
            bar.stop()
            note(
                f"interrupted: the batches already written are kept. Run {again} again to "
                "resume the import where it stopped."
            )
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except StrictStop as exc:
            bar.stop()
            kept = (
                f"{done[0]:,} rows from earlier batches were imported and are kept"
                if done[0]
                else "nothing was imported"
            )
            report_error(exc, f"--strict stopped the import at the first bad row; {kept}.")
            raise typer.Exit(exc.exit_code) from None


def summary_table(summary: ImportSummary) -> Table:
    table = Table(title=f"import into {summary.collection}", show_header=False)
    table.add_column("item", style="bold", no_wrap=True)
    table.add_column("value", overflow="fold")
    table.add_row("file", Text(summary.source))
    table.add_row("accepted", f"{summary.accepted:,}")
    table.add_row("rejected", f"{summary.rejected:,}")
    if summary.seconds > 0:
        rows = summary.accepted + summary.rejected
        table.add_row("time", f"{summary.seconds:.1f} s")
        table.add_row("rate", f"{rows / summary.seconds:,.0f} rows/s")
    if summary.resumed_from_line:
        table.add_row("resumed after line", f"{summary.resumed_from_line:,}")
    table.add_row("rejects file", Text(summary.rejects_path or "none"))
    return table


def report_summary(summary: ImportSummary, json_out: bool) -> None:
    if json_out:
        doc = summary.to_json()
        rows = summary.accepted + summary.rejected
        doc["rows_per_second"] = round(rows / summary.seconds, 1) if summary.seconds > 0 else None
        print_json(doc)
    else:
        stdout().print(summary_table(summary))
    if summary.already_done:
        note(f"{summary.source} was already imported into {summary.collection}; nothing to do.")
    if summary.rejected and not summary.already_done:
        warn(
            f"{summary.rejected:,} row(s) were rejected; their line, field and reason (never "
            f"the value) are in {summary.rejects_path}"
        )


def import_records(
    ctx: typer.Context,
    collection: CollectionArg,
    file: Annotated[
        Path, typer.Argument(metavar="FILE", help="CSV (with a header) or JSON Lines file.")
    ],
    strict: Annotated[
        bool,
        typer.Option(
            "--strict",
            help="Stop at the first bad row (exit code 2) instead of "
            "writing it to the rejects file.",
        ),
    ] = False,
    rejects: Annotated[
        Path | None,
        typer.Option(
            "--rejects",
            dir_okay=False,
            metavar="PATH",
            help="Rejects file (CSV: line, field, reason). Default: FILE.rejects.csv",
            show_default=False,
        ),
    ] = None,
    fmt: Annotated[
        FileFormat | None,
        typer.Option(
            "--format", help="csv or jsonl. Default: from the file name.", show_default=False
        ),
    ] = None,
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, help="Rows per committed batch.")
    ] = 2000,
    json_out: JsonFlag = False,
) -> None:
    """Import a CSV or JSON Lines file into a collection, resumably, with a progress bar.

    Bad rows go to the rejects file and the import goes on (exit code 0). An interrupted
    import resumes when the same command is run again; a file already imported is skipped.
    Incident parties may name persons by resident ID: import persons first.
    """
    s = settings_of(ctx)
    purpose, actor = s.purpose(), s.actor()
    with s.open_vault() as vault:
        summary = run_import(
            vault,
            collection,
            file,
            actor=actor,
            purpose=purpose,
            strict=strict,
            rejects=rejects,
            fmt=fmt,
            batch_size=batch_size,
        )
    report_summary(summary, json_out)
