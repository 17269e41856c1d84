"""``strongroom scan``: look for unencrypted personal data in files, directories and databases."""

from __future__ import annotations

import json
import os
import secrets
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn
from rich.table import Table
from rich.text import Text

from strongroom._access import Actor
from strongroom.cli._io import print_json, stderr, stdout
from strongroom.cli._options import settings_of
from strongroom.errors import ValidationError
from strongroom.scan import DEFAULT_THRESHOLD, KINDS, Finding, expand
from strongroom.scan._database import read_database
from strongroom.scan._ours import PURPOSE, Ownership, look_up
from strongroom.scan._report import Report
from strongroom.scan._run import Options, run
from strongroom.scan._split import plan
from strongroom.vault import Vault

EXIT_FOUND = 1  # something at or above --fail-on was found: gate a pipeline or a backup job


def _finding_json(f: Finding) -> dict[str, Any]:
    loc = f.location
    return {
        "kind": f.kind,
        "confidence": round(f.confidence, 2),
        "masked": f.masked,
        "target": loc.target,
        "line": loc.line,
        "column": loc.column,
        "row_key": loc.row_key,
        "validated": f.validated,
        "context": f.context_hit,
    }


class ScanEngine(StrEnum):
    local = "local"
    dask = "dask"


def scan(
    ctx: typer.Context,
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Files or directories (scanned recursively).", show_default=False),
    ] = None,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            metavar="DSN",
            help="Also read the text columns of every table of this database "
            "(sqlite:///path or postgresql://user@host/db).",
            show_default=False,
        ),
    ] = None,
    sample: Annotated[
        int | None,
        typer.Option(
            "--sample",
            metavar="N",
            help="With --db: read only the first N rows of each table.",
            show_default=False,
        ),
    ] = None,
    threshold: Annotated[
        float,
        typer.Option("--threshold", min=0.0, max=1.0, help="Report findings at or above this."),
    ] = DEFAULT_THRESHOLD,
    fail_on: Annotated[
        float | None,
        typer.Option(
            "--fail-on",
            min=0.0,
            max=1.0,
            help="Exit 1 when any finding has at least this confidence.",
            show_default=False,
        ),
    ] = None,
    samples: Annotated[
        int, typer.Option("--samples", min=0, help="Masked samples shown per kind.")
    ] = 3,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            metavar="N",
            help="Processes for files (default: one per CPU). Big files are cut into ranges.",
            show_default=False,
        ),
    ] = None,
    engine: Annotated[
        ScanEngine,
        typer.Option("--engine", help="local (processes here) or dask (a Dask cluster)."),
    ] = ScanEngine.local,
    scheduler: Annotated[
        str | None,
        typer.Option(
            "--scheduler",
            metavar="ADDRESS",
            help="With --engine dask: the scheduler (tcp://host:8786).",
            show_default=False,
        ),
    ] = None,
    vault_check: Annotated[
        bool,
        typer.Option(
            "--vault",
            help="Look found resident IDs and mobiles up in the vault (--data/--keys): "
            "how many found people are its records. Counts only.",
        ),
    ] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    sarif: Annotated[
        Path | None,
        typer.Option(
            "--sarif",
            dir_okay=False,
            help="Also write the findings as SARIF 2.1.0 (for code-scanning tools).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Find unencrypted personal data (resident IDs, mobiles, bank cards, passports, emails,
    names) in CSV/TSV, JSON/JSONL, SQL dumps, Parquet, SQLite files, gzip and zip archives,
    text, and database tables (--db). Prints masked samples only — never a whole value."""
    paths = paths or []
    if not paths and db is None:
        raise ValidationError.single("paths", "give files or directories to scan, or --db DSN")
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise ValidationError.single("paths", f"not found: {', '.join(missing)}")
    if sample is not None and (db is None or sample < 1):
        raise ValidationError.single("--sample", "needs --db, and N of at least 1")
    if workers is not None and workers < 1:
        raise ValidationError.single("--workers", "must be at least 1")
    if engine is ScanEngine.dask and not scheduler:
        raise ValidationError.single("--scheduler", "--engine dask needs --scheduler ADDRESS")
    if scheduler and engine is not ScanEngine.dask:
        raise ValidationError.single("--scheduler", "only with --engine dask")
    vault: Vault | None = None
    actor: Actor | None = None
    if vault_check:
        settings = settings_of(ctx)
        actor = Actor(settings.actor().id, role="auditor")
        vault = settings.open_vault()
    try:
        options = Options(
            threshold,
            secrets.token_bytes(32),
            samples=samples,
            keep=json_out or sarif is not None,
            collect=vault is not None,
        )
        report = _scan_all(paths, db, sample, options, engine, workers, scheduler)
        ours = look_up(vault, report.values, actor=actor) if vault and actor else None
    finally:
        if vault is not None:
            vault.close()
    report.values.clear()
    failed = fail_on is not None and report.top >= fail_on
    if sarif is not None:
        sarif.write_text(json.dumps(_sarif(report.findings), ensure_ascii=False, indent=1), "utf-8")
    if json_out:
        doc: dict[str, Any] = {
            "files": report.files,
            "tables": report.tables,
            "counts": dict(report.counts),
            "findings": [_finding_json(f) for f in report.findings],
            "failed": failed,
        }
        if ours is not None:
            doc["vault"] = _ours_json(ours)
        print_json(doc)
    else:
        _summary(report, samples)
        if ours is not None:
            _ours_summary(ours)
    if failed:
        stderr().print(f"found personal data at confidence {report.top:.2f} ≥ --fail-on {fail_on}")
        raise typer.Exit(EXIT_FOUND)


def _scan_all(
    paths: list[Path],
    db: str | None,
    sample: int | None,
    options: Options,
    engine: ScanEngine,
    workers: int | None,
    scheduler: str | None,
) -> Report:
    units = list(plan(list(expand(paths)))) if paths else []
    with Progress(
        TextColumn("scan"),
        BarColumn(bar_width=20),
        DownloadColumn(),
        TextColumn("{task.fields[found]:,} found"),
        console=stderr(),
        transient=True,
    ) as bar:
        task = bar.add_task("scan", total=sum(u.size for u in units), found=0)
        found = 0

        def advance(part: Report) -> None:
            nonlocal found
            found += part.total
            bar.update(task, advance=part.bytes, found=found)

        report = run(
            units,
            options,
            engine=engine.value,
            workers=workers if workers is not None else (os.cpu_count() or 1),
            scheduler=scheduler,
            progress=advance,
        )
        if db is not None:
            scanner = options.scanner()
            collect = report.values if options.collect else None
            rows = bar.add_task("scan", total=None, found=0)
            for _table, table_rows in read_database(db, sample=sample):
                report.tables += 1
                for row in table_rows:
                    findings = scanner.scan_row(row, collect)
                    report.add(findings)
                    found += len(findings)
                    bar.update(rows, advance=1, found=found)
    return report


def _ours_json(ours: Ownership) -> dict[str, Any]:
    return {
        "resident_ids_looked_up": ours.resident_ids,
        "mobiles_looked_up": ours.mobiles,
        "people_in_vault": ours.people,
        "people_by_resident_id": ours.by_resident_id,
        "people_by_mobile": ours.by_mobile,
        "honeytokens": ours.honeytokens,
        "honeytoken_values_found": ours.canaries,
    }


def _ours_summary(ours: Ownership) -> None:
    stdout().print(
        f"vault: {ours.people:,} distinct people of this vault among the found values "
        f"({ours.resident_ids:,} resident IDs and {ours.mobiles:,} mobiles looked up, purpose "
        f"{PURPOSE}; {ours.by_resident_id:,} by resident ID, {ours.by_mobile:,} by mobile)\n"
        f"honeytokens: {ours.honeytokens}"
    )


def _sarif(findings: list[Finding]) -> dict[str, Any]:
    """SARIF 2.1.0: one rule per kind; level error at confidence ≥ 0.9, else warning."""
    rules = [
        {"id": f"strongroom.{k}", "shortDescription": {"text": f"unencrypted {k}"}} for k in KINDS
    ]
    results = []
    for f in findings:
        loc = f.location
        region: dict[str, int] = {}
        if loc.line:
            region["startLine"] = loc.line
        if loc.column:
            region["startColumn"] = loc.column
        physical: dict[str, Any] = {"artifactLocation": {"uri": loc.target.split("!")[0]}}
        if region:
            physical["region"] = region
        results.append(
            {
                "ruleId": f"strongroom.{f.kind}",
                "level": "error" if f.confidence >= 0.9 else "warning",
                "message": {"text": f"{f.kind} {f.masked} (confidence {f.confidence:.2f})"},
                "locations": [{"physicalLocation": physical}],
                "properties": {"confidence": round(f.confidence, 2), "rowKey": loc.row_key},
            }
        )
    return {
        "version": "2.1.0",
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "runs": [
            {"tool": {"driver": {"name": "strongroom scan", "rules": rules}}, "results": results}
        ],
    }


def _summary(report: Report, samples: int) -> None:
    counts = report.counts
    where = f"{report.files} file(s)" + (f", {report.tables} table(s)" if report.tables else "")
    table = Table(title=f"scan: {where}, {report.total} finding(s)")
    table.add_column("kind")
    table.add_column("found", justify="right")
    table.add_column("masked samples (location)")
    for kind in KINDS:
        if not counts[kind]:
            continue
        shown = report.examples.get(kind, [])[:samples]
        text = "\n".join(
            f"{f.masked}  ({f.location.target}"
            + (f":{f.location.line}" if f.location.line else "")
            + (f":{f.location.column}" if f.location.column else "")
            + (f" row {f.location.row_key}" if f.location.row_key else "")
            + ")"
            for f in shown
        )
        table.add_row(kind, f"{counts[kind]:,}", Text(text))  # never read as markup
    stdout().print(table)
