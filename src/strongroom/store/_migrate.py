"""Alembic migrations for the record database and the key store (two branches)."""

from __future__ import annotations

from importlib import resources

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.exc import SQLAlchemyError

from strongroom.errors import StoreError

RECORDS = "records"
KEYS = "keys"
_VERSION_TABLE = {RECORDS: "alembic_version", KEYS: "strongroom_keys_version"}


def _config(branch: str) -> Config:
    cfg = Config()
    cfg.set_main_option(
        "script_location", str(resources.files("strongroom.store").joinpath("migrations"))
    )
    cfg.attributes["version_table"] = _VERSION_TABLE[branch]
    return cfg


def upgrade(engine: sa.Engine, branch: str) -> None:
    """Bring ``branch`` (``records`` or ``keys``) of the database at ``engine`` to head."""
    cfg = _config(branch)
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, f"{branch}@head")
    except SQLAlchemyError as exc:
        raise StoreError(f"migrating the {branch} database failed") from exc


def revision_of(engine: sa.Engine, branch: str) -> tuple[str, ...]:
    """The database's current revisions of ``branch`` (empty: never migrated)."""
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"version_table": _VERSION_TABLE[branch]})
            return tuple(ctx.get_current_heads())
    except SQLAlchemyError as exc:
        raise StoreError("cannot read the database's migration state") from exc


def is_current(engine: sa.Engine, branch: str) -> bool:
    """True when the database is at the branch's head revision."""
    script = ScriptDirectory.from_config(_config(branch))
    head = script.get_revision(f"{branch}@head")
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"version_table": _VERSION_TABLE[branch]})
            return head is not None and head.revision in ctx.get_current_heads()
    except SQLAlchemyError as exc:
        raise StoreError("cannot read the database's migration state") from exc
