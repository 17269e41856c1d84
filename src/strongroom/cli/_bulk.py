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
)
from rich.table import Table
from rich.text import Text

from strongroom._access import Actor, Purpose
from strongroom.batch._import import ImportSummary, StrictStop, import_file
from strongroom.cli._io import (
    EXIT_INTERRUPTED,
    note,
    print_json,
    report_error,
    stderr,
    stdout,
    warn,
)
from strongroom.cli._options import CollectionArg, FileFormat, JsonFlag, settings_of
from strongroom.errors import ConfigError
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
    try:
        with stderr().status("writing synthetic records"):
            n = write_p(keep(generate_persons(persons, seed=seed)), persons_out)
            m = (
                write_i(generate_incidents(incidents, pairs, seed=seed), incidents_out)
                if incidents
                else 0
            )
    except OSError as exc:
        raise ConfigError(f"cannot write {exc.filename}: {exc.strerror}") from exc
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
            if out and out.suffix.lower() in (".jsonl", ".ndjson", ".json")
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
    workers: int | None = None,
    again: str = "the same command",
) -> ImportSummary:
    """:func:`import_file` with a progress bar on stderr (bytes read, rows accepted/rejected).

    Ctrl-C exits with 130 and says how to resume; a strict stop says what was kept.
    """
    size = path.stat().st_size if path.is_file() else 0
    accepted_so_far = 0
    columns = (
        TextColumn("{task.description}", markup=False),
        BarColumn(bar_width=20),
        DownloadColumn(),
        TextColumn("{task.fields[accepted]:,} accepted, {task.fields[rejected]:,} rejected"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=stderr()) as bar:
        task = bar.add_task(f"{collection} ← {path.name}", total=size, accepted=0, rejected=0)

        def progress(position: int, accepted: int, rejected: int) -> None:
            nonlocal accepted_so_far
            accepted_so_far = accepted
            bar.update(task, completed=position, accepted=accepted, rejected=rejected)

        try:
            summary = import_file(
                vault,
                collection,
                path,
                actor=actor,
                purpose=purpose,
                strict=strict,
                rejects_path=rejects,
                fmt=fmt.value if fmt else None,
                batch_size=batch_size,
                workers=workers,
                progress=progress,
            )
            bar.update(task, completed=size, accepted=summary.accepted, rejected=summary.rejected)
            return summary
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
                f"the batches before it were committed ({accepted_so_far:,} rows accepted)"
                if accepted_so_far
                else "no batch of this run was committed"
            )
            report_error(exc, f"--strict stopped the import at the first bad row; {kept}.")
            raise typer.Exit(exc.exit_code) from None


def _rate(summary: ImportSummary) -> float | None:
    """Rows per second of this run; unknown after a resume (the counts include earlier runs)."""
    if summary.seconds <= 0 or summary.resumed_from_line:
        return None
    return (summary.accepted + summary.rejected) / summary.seconds


def summary_table(summary: ImportSummary) -> Table:
    table = Table(title=f"import into {summary.collection}", show_header=False)
    table.add_column("item", style="bold", no_wrap=True)
    table.add_column("value", overflow="fold")
    table.add_row("file", Text(summary.source))
    table.add_row("accepted", f"{summary.accepted:,}")
    table.add_row("rejected", f"{summary.rejected:,}")
    if summary.seconds > 0:
        table.add_row("time", f"{summary.seconds:.1f} s")
        table.add_row("workers", str(summary.workers))
    rate = _rate(summary)
    if rate is not None:
        table.add_row("rate", f"{rate:,.0f} rows/s")
    if summary.resumed_from_line and not summary.already_done:
        table.add_row("resumed after line", f"{summary.resumed_from_line:,}")
    if summary.rejects_path or not summary.rejected:
        table.add_row("rejects file", Text(summary.rejects_path or "none"))
    return table


def report_summary(summary: ImportSummary, json_out: bool) -> None:
    if json_out:
        rate = _rate(summary)
        print_json(
            {**summary.to_json(), "rows_per_second": None if rate is None else round(rate, 1)}
        )
    else:
        stdout().print(summary_table(summary))
    if summary.already_done:
        note(f"{summary.source} was already imported into {summary.collection}; nothing to do.")
        if summary.rejected:
            note(f"(that import rejected {summary.rejected:,} row(s); see its rejects file)")
    elif summary.rejected:
        warn(
            f"{summary.rejected:,} row(s) were rejected; their line, field and reason (never "
            f"the value) are in {summary.rejects_path}"
        )


def import_records(
    ctx: typer.Context,
    collection: CollectionArg,
    file: Annotated[
        Path,
        typer.Argument(
            metavar="FILE",
            exists=True,
            dir_okay=False,
            readable=True,
            help="CSV (with a header) or JSON Lines file.",
        ),
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
        int, typer.Option("--batch-size", min=1, help="Rows read and prepared per batch.")
    ] = 2000,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            min=1,
            metavar="N",
            help="Processes that validate and seal rows. Default: up to 4 for files of "
            "4 MiB or more, else 1.",
            show_default=False,
        ),
    ] = None,
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
            workers=workers,
        )
    report_summary(summary, json_out)


def synth_leak_corpus(
    out: Annotated[
        Path, typer.Option("--out", file_okay=False, help="Directory to write the corpus into.")
    ],
    seed: Annotated[int, typer.Option(help="The same seed gives identical files.")] = 7,
    size: Annotated[str, typer.Option("--size", help="small, medium or large.")] = "small",
) -> None:
    """Write a labelled leak corpus for testing `strongroom scan`: every supported format,
    true positives in every spelling, near misses and noise, and an answer key
    (answers.jsonl). Synthetic values only."""
    from strongroom.errors import ValidationError
    from strongroom.scan import write_leak_corpus

    if size not in ("small", "medium", "large"):
        raise ValidationError.single("size", "must be small, medium or large")
    answers = write_leak_corpus(out, seed, size=size)
    stdout().print(Text(f"wrote the leak corpus to {out} (answer key: {answers.name})"))
