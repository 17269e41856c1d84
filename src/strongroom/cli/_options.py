"""Parameter types shared by several commands."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from strongroom.cli._settings import Settings


class FileFormat(StrEnum):
    csv = "csv"
    jsonl = "jsonl"


JsonFlag = Annotated[
    bool,
    typer.Option("--json", help="Print machine-readable JSON on stdout, and nothing else there."),
]
CollectionArg = Annotated[
    str,
    typer.Argument(
        metavar="COLLECTION", help="The collection: person or incident.", show_default=False
    ),
]
RefArg = Annotated[
    str,
    typer.Argument(
        metavar="REF",
        help="The record reference (a UUID, as 'find' prints it).",
        show_default=False,
    ),
]


def settings_of(ctx: typer.Context) -> Settings:
    """The global options, as the top-level callback stored them."""
    obj = ctx.find_object(Settings)
    if obj is None:  # pragma: no cover - the callback always runs first
        raise RuntimeError("the strongroom callback did not run")
    return obj
