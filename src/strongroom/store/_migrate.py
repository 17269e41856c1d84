"""Alembic migrations for the record database and the key store (two branches).

Alembic is imported when a migration state is read or changed, not with this module: every
command line run imports the store, and Alembic costs ~150 ms to import.
"""

from __future__ import annotations

from importlib import resources
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

if TYPE_CHECKING:
    from alembic.config import Config

from strongroom.errors import StoreError

RECORDS = "records"
KEYS = "keys"
_VERSION_TABLE = {RECORDS: "alembic_version", KEYS: "strongroom_keys_version"}


def _config(branch: str) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option(
        "script_location", str(resources.files("strongroom.store").joinpath("migrations"))
    )
    cfg.attributes["version_table"] = _VERSION_TABLE[branch]
    return cfg


def upgrade(engine: sa.Engine, branch: str) -> None:
    """Bring ``branch`` (``records`` or ``keys``) of the database at ``engine`` to head."""
    from alembic import command

    cfg = _config(branch)
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, f"{branch}@head")
    except SQLAlchemyError as exc:
        raise StoreError(f"migrating the {branch} database failed") from exc


def revision_of(engine: sa.Engine, branch: str) -> tuple[str, ...]:
    """The database's current revisions of ``branch`` (empty: never migrated)."""
    from alembic.runtime.migration import MigrationContext

    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"version_table": _VERSION_TABLE[branch]})
            return tuple(ctx.get_current_heads())
    except SQLAlchemyError as exc:
        raise StoreError("cannot read the database's migration state") from exc


def is_current(engine: sa.Engine, branch: str) -> bool:
    """True when the database is at the branch's head revision."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(_config(branch))
    head = script.get_revision(f"{branch}@head")
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"version_table": _VERSION_TABLE[branch]})
            return head is not None and head.revision in ctx.get_current_heads()
    except SQLAlchemyError as exc:
        raise StoreError("cannot read the database's migration state") from exc
