"""Fixtures: a migrated `Store` on a fresh SQLite file, and on a fresh PostgreSQL schema
when LEADLOOP_TEST_POSTGRES_URL is set (e.g. postgresql+psycopg://postgres@127.0.0.1/test)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from state import Store, database_url
from tests.state.support import FakeClock

POSTGRES_ENV = "LEADLOOP_TEST_POSTGRES_URL"


def _postgres_schema_url(base: str, schema: str) -> str:
    """`base` with every connection's search_path set to `schema` only."""
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database: a temp SQLite file, or a new PostgreSQL schema that is
    dropped afterwards, so runs never collide nor leave tables behind."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'var' / 'leadloop.db'}"
        return
    raw = os.environ.get(POSTGRES_ENV, "").strip()
    if not raw:
        pytest.skip(f"{POSTGRES_ENV} is not set: PostgreSQL runs are skipped")
    base = database_url({"DATABASE_URL": raw})
    schema = f"leadloop_test_{uuid.uuid4().hex[:16]}"
    admin = create_engine(base)
    try:
        with admin.begin() as connection:
            connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        yield _postgres_schema_url(base, schema)
        with admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
    finally:
        admin.dispose()


@pytest.fixture
def clock() -> FakeClock:
    """The clock the store stamps bookkeeping times with."""
    return FakeClock()


@pytest.fixture
def store(db_url: str, clock: FakeClock) -> Iterator[Store]:
    """A migrated store on the empty database."""
    with Store.connect(db_url, migrate=True, clock=clock) as store:
        yield store
