"""The store: one database, its engine, and transactions that hand out a `Repository`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from types import TracebackType

from sqlalchemy import Engine
from sqlmodel import Session

from state._base import Clock
from state.database import create_engine_for, redact_url
from state.migrate import upgrade_engine
from state.repository import Repository


def utc_now() -> datetime:
    """The system clock, aware and in UTC: the default clock."""
    return datetime.now(UTC)


class Store:
    """leadloop's database. Build it with `Store.connect(url)`; use it through transactions:

    >>> with store.transaction() as repo:        # doctest: +SKIP
    ...     repo.add_activities(activities)
    ...     repo.save_cursor(advance(cursor, read))

    Everything inside the block commits together when it ends, or rolls back together if
    it raises, so a cursor moves only with what was read.
    """

    def __init__(self, engine: Engine, clock: Clock = utc_now) -> None:
        self._engine = engine
        self._clock = clock

    @classmethod
    def connect(cls, url: str, *, migrate: bool = False, clock: Clock = utc_now) -> Store:
        """A store on the database at `url` (SQLite or PostgreSQL; see `database_url`).

        With `migrate`, the schema is first brought to the latest revision. `clock` stamps
        bookkeeping times (a lead's created_at and updated_at, a cursor's updated_at...).
        """
        engine = create_engine_for(url)
        try:
            if migrate:
                upgrade_engine(engine)
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, clock)

    @property
    def clock(self) -> Clock:
        """The clock that stamps what this store writes."""
        return self._clock

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine, for migrations and diagnostics."""
        return self._engine

    @property
    def url(self) -> str:
        """The database URL with its password hidden, safe to log."""
        return redact_url(self._engine.url)

    @contextmanager
    def transaction(self) -> Iterator[Repository]:
        """A repository bound to one new transaction: committed if the block ends normally,
        rolled back if it raises."""
        with Session(self._engine, expire_on_commit=False) as session, session.begin():
            yield Repository(session, self._clock)

    def dispose(self) -> None:
        """Close every pooled connection."""
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.dispose()

    def __repr__(self) -> str:
        return f"Store({self.url!r})"
