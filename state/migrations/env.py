"""Alembic environment for leadloop: the target is `state.tables.metadata`.

Called from `state.migrate` with an open connection in ``config.attributes["connection"]``,
or from the ``alembic`` command line (``-c state/alembic.ini``), which connects to
``sqlalchemy.url`` if set, else to ``DATABASE_URL`` (see `state.database.database_url`).
SQLite gets batch mode (copy-and-move), since its ALTER TABLE can do little.
"""

from __future__ import annotations

import logging
from logging.config import fileConfig
from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy.engine import Connection
from sqlmodel.sql.sqltypes import AutoString

from state._types import UtcDateTime
from state.database import create_engine_for, database_url
from state.tables import metadata

config = context.config


def render_item(kind: str, item: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Autogenerate plain SQLAlchemy types, so revisions never import application code."""
    if kind == "type" and isinstance(item, AutoString):
        return "sa.String()"
    if kind == "type" and isinstance(item, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _configure(**kwargs: Any) -> None:
    context.configure(
        target_metadata=metadata,
        compare_type=True,
        render_item=render_item,
        **kwargs,
    )


def run_offline() -> None:
    """Print the SQL instead of running it (``alembic upgrade head --sql``)."""
    url = config.get_main_option("sqlalchemy.url") or database_url()
    _configure(
        url=url,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        render_as_batch=url.startswith("sqlite"),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_on(connection: Connection) -> None:
    """Run the migrations on an open connection, in its transaction."""
    _configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    """Run the migrations on the connection given by `state.migrate`, or on a new one."""
    connection = config.attributes.get("connection")
    if connection is not None:
        run_on(connection)
        return
    if config.config_file_name is not None and not logging.getLogger().handlers:
        # Only for the alembic command line: a process that set up its logging keeps it.
        fileConfig(config.config_file_name, disable_existing_loggers=False)
    engine = create_engine_for(config.get_main_option("sqlalchemy.url") or database_url())
    try:
        with engine.begin() as new_connection:
            run_on(new_connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
