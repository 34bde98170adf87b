"""Which database to use and how to connect to it: URL from the environment, engine set-up.

Two backends are supported: SQLite (the default, a file under ``./var/``) and PostgreSQL
(production) through psycopg 3. The repository relies on ``INSERT ... ON CONFLICT``, which
both have.
"""

from __future__ import annotations

import os
import re
import sqlite3
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import StaticPool

from state.exceptions import UnsupportedDatabaseError

DEFAULT_DATABASE_URL = "sqlite:///var/leadloop.db"
"""A SQLite file relative to the working directory; its directory is created on connect."""

SQLITE_BUSY_TIMEOUT_MS = 30_000
"""How long a SQLite connection waits for another writer before giving up."""

_BARE_POSTGRES = re.compile(r"^(?:postgres|postgresql)://", re.IGNORECASE)
_PASSWORD_IN_NETLOC = re.compile(r"(?P<head>://[^/?#@:]*:)[^/?#@]*@")
_SECRET_QUERY = re.compile(r"(?P<head>[?&](?:password|passwd|pwd)=)[^&#]*", re.IGNORECASE)


def database_url(environ: Mapping[str, str] = os.environ) -> str:
    """The database URL: ``DATABASE_URL`` if set and not blank, else `DEFAULT_DATABASE_URL`.

    A bare ``postgresql://`` or ``postgres://`` URL (as hosting providers print them) is
    rewritten to ``postgresql+psycopg://`` so the installed driver, psycopg 3, is used.
    """
    url = environ.get("DATABASE_URL", "").strip() or DEFAULT_DATABASE_URL
    return _BARE_POSTGRES.sub("postgresql+psycopg://", url, count=1)


def redact_url(url: str | URL) -> str:
    """The URL with its password replaced by ``***``, safe to log."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        text = str(url)
    else:
        text = parsed.render_as_string(hide_password=True)
    text = _PASSWORD_IN_NETLOC.sub(r"\g<head>***@", text)
    return _SECRET_QUERY.sub(r"\g<head>***", text)


def create_engine_for(url: str | URL, *, echo: bool = False) -> Engine:
    """An engine for a SQLite or PostgreSQL URL, set up for leadloop's transactions.

    SQLite: the file's directory is created; connections may cross threads, wait up to
    `SQLITE_BUSY_TIMEOUT_MS` for a lock and use WAL for files; every transaction starts
    with ``BEGIN IMMEDIATE``, so it holds the write lock from the start and a read followed
    by a write cannot fail half-way with "database is locked" (and SAVEPOINT and DDL take
    part in the transaction, which the sqlite3 driver's legacy mode does not ensure).
    PostgreSQL: connections are checked before use, so a restarted server is survived,
    and read instants in UTC.
    """
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(parsed, echo=echo)
    if backend == "postgresql":
        return _postgresql_engine(parsed, echo=echo)
    raise UnsupportedDatabaseError(redact_url(parsed), backend)


def _postgresql_engine(url: URL, *, echo: bool) -> Engine:
    engine = create_engine(url, echo=echo, pool_pre_ping=True)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Instants are then read in UTC, which is how leadloop hands them on: reading one
        # needs no conversion (`state._types`). Nothing stored depends on it.
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET TIME ZONE 'UTC'")
        dbapi_connection.commit()

    return engine


def _use_wal(cursor: Any) -> None:
    """Switch to write-ahead logging. The switch needs the database to itself and SQLite
    does not wait for that (no busy timeout), so a process starting next to another one,
    on a new file, tries again for up to the busy timeout."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _sqlite_engine(url: URL, *, echo: bool) -> Engine:
    database = url.database or ""
    in_memory = database in ("", ":memory:") or url.query.get("mode") == "memory"
    kwargs: dict[str, Any] = {
        "echo": echo,
        "connect_args": {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
    }
    if in_memory:
        kwargs["poolclass"] = StaticPool  # one connection, or every session sees a new database
    elif not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (see below)
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            if not in_memory:
                _use_wal(cursor)
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
