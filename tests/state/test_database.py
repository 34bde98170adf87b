"""Tests for state.database: the URL from the environment, redaction, engine set-up."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from state import DEFAULT_DATABASE_URL, UnsupportedDatabaseError, database_url, redact_url
from state.database import create_engine_for


class TestDatabaseUrl:
    def test_default_is_a_sqlite_file_under_var(self) -> None:
        """Without DATABASE_URL the default SQLite file under ./var/ is used."""
        assert database_url({}) == DEFAULT_DATABASE_URL == "sqlite:///var/leadloop.db"

    def test_blank_value_means_the_default(self) -> None:
        """An empty or blank DATABASE_URL is treated as unset."""
        assert database_url({"DATABASE_URL": "  "}) == DEFAULT_DATABASE_URL

    @pytest.mark.parametrize(
        ("given", "expected"),
        [
            ("postgresql://u:p@db:5432/leads", "postgresql+psycopg://u:p@db:5432/leads"),
            (
                "postgres://u:p@db/leads?sslmode=require",
                "postgresql+psycopg://u:p@db/leads?sslmode=require",
            ),
            ("POSTGRES://db/leads", "postgresql+psycopg://db/leads"),
        ],
    )
    def test_bare_postgres_urls_get_the_psycopg_driver(self, given: str, expected: str) -> None:
        """A pasted postgres:// or postgresql:// URL is rewritten to use psycopg 3."""
        assert database_url({"DATABASE_URL": given}) == expected

    @pytest.mark.parametrize(
        "given",
        ["postgresql+psycopg://u@db/leads", "postgresql+psycopg2://u@db/leads", "sqlite:///x.db"],
    )
    def test_urls_with_a_driver_are_kept(self, given: str) -> None:
        """A URL that already names its driver, or a SQLite URL, is used as given."""
        assert database_url({"DATABASE_URL": given}) == given


class TestRedactUrl:
    def test_password_is_replaced(self) -> None:
        """The password is shown as *** and everything else is kept."""
        redacted = redact_url("postgresql+psycopg://leadloop:s3cr%40t@db:5432/leads")
        assert redacted == "postgresql+psycopg://leadloop:***@db:5432/leads"

    def test_password_in_the_query_is_replaced(self) -> None:
        """A password passed as a query parameter is hidden too."""
        redacted = redact_url("postgresql+psycopg://db/leads?user=a&password=hunter2&sslmode=x")
        assert "hunter2" not in redacted
        assert "password=***" in redacted
        assert "sslmode=x" in redacted

    def test_unparseable_url_still_hides_the_password(self) -> None:
        """Even a URL SQLAlchemy cannot parse never shows its password."""
        redacted = redact_url("not a url://user:hunter2@host/db")
        assert "hunter2" not in redacted

    def test_url_without_password_is_unchanged(self) -> None:
        """Nothing to hide, nothing changed."""
        assert redact_url("sqlite:///var/leadloop.db") == "sqlite:///var/leadloop.db"


class TestCreateEngine:
    def test_sqlite_file_directory_is_created_and_wal_is_on(self, tmp_path: Path) -> None:
        """Connecting to a SQLite file creates its directory and uses WAL and a busy timeout."""
        path = tmp_path / "nested" / "dir" / "leadloop.db"
        engine = create_engine_for(f"sqlite:///{path}")
        try:
            with engine.connect() as connection:
                mode = connection.execute(text("PRAGMA journal_mode")).scalar()
                timeout = connection.execute(text("PRAGMA busy_timeout")).scalar()
        finally:
            engine.dispose()
        assert path.parent.is_dir()
        assert (mode, timeout) == ("wal", 30000)

    def test_in_memory_sqlite_keeps_one_database_across_connections(self) -> None:
        """An in-memory database is shared by every connection of the engine."""
        engine = create_engine_for("sqlite://")
        try:
            with engine.begin() as connection:
                connection.execute(text("CREATE TABLE t (x INTEGER)"))
            with engine.connect() as connection:
                assert connection.execute(text("SELECT count(*) FROM t")).scalar() == 0
        finally:
            engine.dispose()

    def test_other_backends_are_refused_with_what_is_allowed(self) -> None:
        """A MySQL URL is refused, naming the supported ones, without its password."""
        with pytest.raises(UnsupportedDatabaseError) as caught:
            create_engine_for("mysql://u:hunter2@db/leads")
        message = str(caught.value)
        assert "hunter2" not in message
        assert "sqlite:///" in message
        assert "postgresql://" in message
