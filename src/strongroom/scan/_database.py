"""A live database as a scan target: the text columns of every table, through SQLAlchemy.

``read_database("postgresql://user@host/db")`` (or ``sqlite:///path``) reflects every table
of every schema but the system ones, selects the text columns (``CHAR``, ``VARCHAR``,
``TEXT`` and the like; in SQLite also columns declared without a type, which may hold text) and
streams the rows with a server-side cursor, so memory holds one batch of rows. ``sample=N``
reads the first N rows of each table in the database's own order (``LIMIT N``: cheap on any
size, but not a random sample).

Each value is a chunk located at ``table.column`` (``schema.table.column`` outside the
default schema) with the row's primary key as ``row_key`` (values joined by ``,`` for a
composite key), or the row's ordinal (1-based) when the table has none.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from strongroom.errors import ConfigError, ValidationError
from strongroom.scan._model import Chunk, Location
from strongroom.scan._targets import Row

__all__ = ["read_database", "safe_url"]

_SYSTEM_SCHEMAS = frozenset({"information_schema", "pg_catalog", "pg_toast"})
_BATCH = 1000


def safe_url(dsn: str) -> str:
    """The DSN with any password replaced by ``***`` (for messages)."""
    try:
        return sa.make_url(dsn).render_as_string(hide_password=True)
    except ArgumentError:
        return "(unparseable DSN)"


def _engine(dsn: str) -> sa.Engine:
    try:
        url = sa.make_url(dsn)
    except ArgumentError as exc:
        raise ValidationError.single(
            "--db", "not a database URL (sqlite:///path or postgresql://user@host/db)"
        ) from exc
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        raise ValidationError.single("--db", "only sqlite:// and postgresql:// URLs are read")
    if url.get_backend_name() == "postgresql" and url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:":
            raise ValidationError.single("--db", "give the SQLite file: sqlite:///path/to/file")
        if not Path(url.database).is_file():
            raise ValidationError.single("--db", "no such SQLite file")
        read_only = {**url.query, "mode": "ro", "uri": "true"}  # never creates or writes
        url = url.set(database=f"file:{url.database}", query=read_only)
    try:
        return sa.create_engine(url)
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        raise ValidationError.single("--db", "no driver for this database URL") from exc


def _is_text(column: dict[str, object], sqlite: bool) -> bool:
    kind = column["type"]
    return isinstance(kind, sa.String) or (sqlite and isinstance(kind, sa.types.NullType))


def read_database(dsn: str, *, sample: int | None = None) -> Iterator[tuple[str, Iterator[Row]]]:
    """``(table name, rows)`` for each table that has text columns."""
    if sample is not None and sample < 1:
        raise ValidationError.single("--sample", "must be at least 1")
    engine = _engine(dsn)
    where = safe_url(dsn)
    try:
        with engine.connect() as conn:
            inspector = sa.inspect(conn)
            sqlite = engine.dialect.name == "sqlite"
            default = inspector.default_schema_name
            schemas = [s for s in inspector.get_schema_names() if s not in _SYSTEM_SCHEMAS]
            for schema in schemas:
                for table in sorted(inspector.get_table_names(schema=schema)):
                    rows = _table_rows(conn, inspector, schema, table, default, sqlite, sample)
                    if rows is not None:
                        name = table if schema == default else f"{schema}.{table}"
                        yield name, rows
    except SQLAlchemyError as exc:
        raise ConfigError(
            f"--db: cannot read the database at {where} ({type(exc).__name__})"
        ) from exc
    finally:
        engine.dispose()


def _table_rows(
    conn: sa.Connection,
    inspector: sa.Inspector,
    schema: str,
    table: str,
    default: str | None,
    sqlite: bool,
    sample: int | None,
) -> Iterator[Row] | None:
    columns = inspector.get_columns(table, schema=schema)
    text = [c["name"] for c in columns if _is_text(dict(c), sqlite)]
    if not text:
        return None
    keys = list(inspector.get_pk_constraint(table, schema=schema).get("constrained_columns") or [])
    meta = sa.MetaData()
    t = sa.Table(
        table,
        meta,
        *(sa.Column(name) for name in dict.fromkeys([*keys, *text])),
        schema=None if schema == default else schema,
    )
    query = sa.select(
        *(t.c[k].label(f"k{i}") for i, k in enumerate(keys)),
        *(t.c[c].label(f"v{i}") for i, c in enumerate(text)),
    )
    if keys:
        query = query.order_by(*(t.c[k] for k in keys))
    if sample is not None:
        query = query.limit(sample)
    prefix = table if schema == default else f"{schema}.{table}"
    targets = [f"{prefix}.{c}" for c in text]
    nkeys = len(keys)
    return _stream(conn, query, targets, text, nkeys)


def _stream(
    conn: sa.Connection,
    query: sa.Select[Any],
    targets: list[str],
    text: list[str],
    nkeys: int,
) -> Iterator[Row]:
    try:
        result = conn.execution_options(stream_results=True, yield_per=_BATCH).execute(query)
        for n, values in enumerate(result, start=1):
            key = ",".join(str(v) for v in values[:nkeys]) if nkeys else str(n)
            row = [
                Chunk(v, Location(targets[i], row_key=key), (text[i],), n)
                for i, v in enumerate(values[nkeys:])
                if isinstance(v, str) and v
            ]
            if row:
                yield row
    except SQLAlchemyError as exc:
        table = targets[0].rsplit(".", 1)[0]
        raise ConfigError(f"--db: cannot read table {table} ({type(exc).__name__})") from exc
