"""``strongroom scan``: look for unencrypted personal data in files and directories."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn
from rich.table import Table
from rich.text import Text

from strongroom.cli._io import print_json, stderr, stdout
from strongroom.errors import ValidationError
from strongroom.scan import DEFAULT_THRESHOLD, KINDS, Finding, Scanner, expand, read_target

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


def scan(
    paths: Annotated[
        list[Path], typer.Argument(help="Files or directories (scanned recursively).")
    ],
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
    names) in CSV/TSV, JSON/JSONL, SQL dumps, SQLite files, gzip and zip archives and text.
    Prints masked samples only — never a whole value."""
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise ValidationError.single("paths", f"not found: {', '.join(missing)}")
    scanner = Scanner(threshold=threshold)
    findings: list[Finding] = []
    targets = list(expand(paths))
    files = len(targets)
    total = sum(p.stat().st_size for p in targets)
    with Progress(
        TextColumn("scan"),
        BarColumn(bar_width=20),
        DownloadColumn(),
        TextColumn("{task.fields[found]:,} found"),
        console=stderr(),
        transient=True,
    ) as bar:
        task = bar.add_task("scan", total=total, found=0)
        for path in targets:
            for row in read_target(path):
                findings.extend(scanner.scan_row(row))
            bar.update(task, advance=path.stat().st_size, found=len(findings))
    top = max((f.confidence for f in findings), default=0.0)
    failed = fail_on is not None and top >= fail_on
    if sarif is not None:
        sarif.write_text(json.dumps(_sarif(findings), ensure_ascii=False, indent=1), "utf-8")
    if json_out:
        print_json(
            {
                "files": files,
                "counts": dict(Counter(f.kind for f in findings)),
                "findings": [_finding_json(f) for f in findings],
                "failed": failed,
            }
        )
    else:
        _summary(findings, files, samples)
    if failed:
        stderr().print(f"found personal data at confidence {top:.2f} ≥ --fail-on {fail_on}")
        raise typer.Exit(EXIT_FOUND)


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


def _summary(findings: list[Finding], files: int, samples: int) -> None:
    counts = Counter(f.kind for f in findings)
    table = Table(title=f"scan: {files} file(s), {len(findings)} finding(s)")
    table.add_column("kind")
    table.add_column("found", justify="right")
    table.add_column("masked samples (location)")
    for kind in KINDS:
        if not counts[kind]:
            continue
        shown = [f for f in findings if f.kind == kind][:samples]
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
