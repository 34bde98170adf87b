"""Tests for the Alembic migrations: the migrated schema is the tables' schema, everywhere."""

from __future__ import annotations

import threading
import tomllib
from collections.abc import Iterator
from fnmatch import fnmatch
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect

from state import Store, upgrade
from state.database import create_engine_for
from state.migrate import MIGRATIONS, alembic_config, upgrade_engine
from state.tables import metadata

ROOT = Path(__file__).parents[2]


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on the empty test database."""
    engine = create_engine_for(db_url)
    yield engine
    engine.dispose()


def differences(engine: Engine) -> list[object]:
    """What autogenerate would change to make the database match `state.tables`."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))


def revision(engine: Engine) -> str | None:
    """The revision the database is at."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def downgrade_engine(engine: Engine, target: str) -> None:
    """``alembic downgrade <target>`` on the database behind `engine`."""
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, target)


class TestSchema:
    def test_migrated_schema_equals_the_table_metadata(self, db_url: str, engine: Engine) -> None:
        """After upgrade head, autogenerate finds no difference with state.tables."""
        upgrade(db_url)
        assert differences(engine) == []

    def test_upgrade_creates_every_table_and_records_head(
        self, db_url: str, engine: Engine
    ) -> None:
        """All tables exist and the database is at the head revision."""
        upgrade(db_url)
        head = ScriptDirectory.from_config(alembic_config()).get_current_head()
        assert revision(engine) == head == "0004"
        assert set(inspect(engine).get_table_names()) == set(metadata.tables) | {"alembic_version"}

    def test_upgrade_twice_is_harmless(self, db_url: str, engine: Engine) -> None:
        """Starting again on a migrated database changes nothing (Store.connect(migrate=True))."""
        with Store.connect(db_url, migrate=True):
            pass
        with Store.connect(db_url, migrate=True):
            pass
        assert differences(engine) == []

    def test_replicas_starting_together_migrate_once(self, db_url: str, engine: Engine) -> None:
        """Four processes' worth of start-ups on an empty database at the same moment: each
        waits for the one migrating, none fails, the schema is the tables' schema."""
        start = threading.Barrier(4)
        failures: list[BaseException] = []

        def start_up() -> None:
            start.wait()
            try:
                upgrade(db_url)
            except BaseException as exc:  # reported below, with the others
                failures.append(exc)

        threads = [threading.Thread(target=start_up) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert failures == []
        assert differences(engine) == []

    def test_downgrade_to_base_drops_everything_and_upgrade_restores(self, engine: Engine) -> None:
        """The first revision can be undone and done again."""
        upgrade_engine(engine)
        downgrade_engine(engine, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        upgrade_engine(engine)
        assert differences(engine) == []


class TestPackaging:
    def test_scripts_are_found_inside_the_package(self) -> None:
        """The script location is the package's own directory, not the working directory."""
        assert ROOT / "state" / "migrations" == MIGRATIONS
        assert (MIGRATIONS / "env.py").is_file()
        script = ScriptDirectory.from_config(alembic_config())
        assert [r.revision for r in script.walk_revisions()] == ["0004", "0003", "0002", "0001"]

    def test_migrations_are_packages_that_setuptools_finds(self) -> None:
        """state.migrations and its versions have __init__.py, so find_packages (pyproject's
        include = ["state*"]) picks them up and an install ships their .py files."""
        config = tomllib.loads((ROOT / "pyproject.toml").read_text())
        assert "state*" in config["tool"]["setuptools"]["packages"]["find"]["include"]
        for package in (MIGRATIONS, MIGRATIONS / "versions"):
            assert (package / "__init__.py").is_file(), package

    def test_package_data_ships_the_non_python_files(self) -> None:
        """pyproject's package-data patterns cover script.py.mako and alembic.ini."""
        config = tomllib.loads((ROOT / "pyproject.toml").read_text())
        patterns = config["tool"]["setuptools"]["package-data"]["*"]
        for name in ("script.py.mako", "alembic.ini"):
            assert any(fnmatch(name, pattern) for pattern in patterns), name
