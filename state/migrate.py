"""Schema migrations with Alembic, run from code: `upgrade(url)` or `Store.connect(url,
migrate=True)`. The scripts ship inside the package (`state/migrations`), so this works
from an installed package as well as from the repository."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, text

from state.database import create_engine_for

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
"""The Alembic script directory inside the installed package."""
MIGRATION_LOCK = 0x6C6C6D67
"""The PostgreSQL advisory lock that lets one replica migrate at a time (`llmg`)."""


def alembic_config() -> Config:
    """An Alembic configuration pointing at the packaged migrations; no ini file needed."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    config.set_main_option("path_separator", "os")
    return config


def upgrade_engine(engine: Engine, revision: str = "head") -> None:
    """Upgrade the database behind `engine` to `revision`, in one transaction.

    Replicas starting together migrate one at a time: the transaction first takes a
    PostgreSQL advisory lock (SQLite's `BEGIN IMMEDIATE` does the same), so the next one
    finds the schema at `revision` and has nothing to do.
    """
    config = alembic_config()
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def upgrade(url: str, revision: str = "head") -> None:
    """``alembic upgrade head`` on the database at `url` (SQLite or PostgreSQL)."""
    engine = create_engine_for(url)
    try:
        upgrade_engine(engine, revision)
    finally:
        engine.dispose()
