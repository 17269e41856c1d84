"""Output of the CLI: results on stdout (Rich tables or JSON), everything else on stderr.

Record values are always wrapped in :class:`rich.text.Text`, never parsed as Rich markup, so
a stored value cannot restyle the terminal (Rich also strips control characters from them).
Errors are printed as ``error: <diagnostics>``: the library's messages name fields and
reasons, never values.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
import typer
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text
from sqlalchemy.exc import ArgumentError

from strongroom.errors import StrongroomError
from strongroom.vault import RecordView

PIPE_WIDTH = 160
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it

# Columns shown when a search lists records (the whole record is one `get` away).
LIST_FIELDS: dict[str, tuple[str, ...]] = {
    "person": ("name", "date_of_birth", "sex"),
    "incident": ("received_at", "category", "case_ref"),
}


def stdout() -> Console:
    # Made per call: Rich looks at the stream (terminal or not, colours) when it is created.
    console = Console(highlight=False)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console.width = PIPE_WIDTH  # a pipe or file: do not fold tables to 80 columns
    return console


def stderr() -> Console:
    return Console(stderr=True, highlight=False)


def note(message: str) -> None:
    """Information for a person, on stderr (stdout stays clean for results and JSON)."""
    stderr().print(Text(message), soft_wrap=True)


def warn(message: str) -> None:
    stderr().print(Text.assemble(("warning: ", "bold yellow"), message), soft_wrap=True)


def report_error(exc: StrongroomError, hint: str | None = None) -> None:
    text = Text.assemble(("error: ", "bold red"), exc.diagnostics())
    if hint:
        text.append(f"\n{hint}")
    stderr().print(text, soft_wrap=True)


def print_json(value: Any) -> None:
    typer.echo(json.dumps(value, ensure_ascii=False, indent=2))


def redact_url(url: str) -> str:
    """A database URL fit to print: any password replaced by ``***``."""
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<not a valid database URL>"


def format_value(value: Any) -> str:
    """One field value as a line of text: lists ``;``-separated, objects ``a:b``."""
    if value is None:
        return ""
    if isinstance(value, Mapping):
        return ":".join(format_value(v) for v in value.values())
    if isinstance(value, list | tuple):
        return "; ".join(format_value(v) for v in value)
    return str(value)


def _when(ms: int) -> str:
    if not ms:
        return ""
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).isoformat(timespec="seconds")


def record_table(view: RecordView, *, title: str | None = None) -> Table:
    """Every field of one record version."""
    caption = f"version {view.version}, region {view.region}"
    if view.created_at:
        caption += f", written {_when(view.created_at)}"
    table = Table(
        title=title or f"{view.collection} {view.ref}", caption=caption, show_header=False
    )
    table.add_column("field", style="bold", no_wrap=True)
    table.add_column("value", overflow="fold")
    for name, value in view.fields.items():
        table.add_row(Text(name), Text(format_value(value)))
    return table


def list_table(collection: str, views: Sequence[RecordView]) -> Table:
    """One line per record: reference, region and a few identifying fields."""
    fields = LIST_FIELDS.get(collection)
    if fields is None:
        fields = tuple(next(iter(views)).fields)[:3] if views else ()
    table = Table(title=f"{len(views)} {collection} record(s)", box=box.SIMPLE_HEAD)
    table.add_column("ref", no_wrap=True, min_width=36)
    table.add_column("region", no_wrap=True)
    for name in fields:
        table.add_column(name.replace("_", " "), overflow="fold")
    for v in views:
        cells = [Text(v.ref), Text(v.region)]
        cells += [Text(format_value(v.fields.get(name))) for name in fields]
        table.add_row(*cells)
    return table
