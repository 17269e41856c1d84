"""Alembic environment: Strongroom passes the connection in ``config.attributes``."""

from alembic import context

config = context.config
connection = config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=None,
    version_table=config.attributes.get("version_table", "alembic_version"),
    render_as_batch=True,
)
with context.begin_transaction():
    context.run_migrations()
