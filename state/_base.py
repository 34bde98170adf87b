"""What every part of the repository shares: the session, the clock and a few helpers."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Sequence
from datetime import datetime
from typing import Any, TypeVar, cast

from sqlalchemy import CursorResult, Executable, Insert, any_, bindparam, inspect, literal_column
from sqlalchemy import Table as CoreTable
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Session

from state.tables import Table

Clock = Callable[[], datetime]
"""Returns the current time as an aware datetime; injected so tests control time."""

BATCH_SIZE = 500
"""Rows per multi-row INSERT and keys per IN list: well under SQLite's 32,766 parameters."""

_T = TypeVar("_T")
_S = TypeVar("_S", bound=str)


def core_table(model: type[Table]) -> CoreTable:
    """The SQLAlchemy Core table of a row class, for statements that read plain rows."""
    return cast(CoreTable, inspect(model).local_table)


class Queries:
    """Base of the repository parts: one session (one transaction) and the clock."""

    def __init__(self, session: Session, clock: Clock) -> None:
        self._session = session
        self._clock = clock

    def _rows(self, statement: Executable, params: list[dict[str, Any]] | None = None) -> Any:
        """Run a Core statement on the transaction's connection: plain rows, no ORM objects
        (the session then tracks nothing, which makes reading a page several times cheaper).
        Read the rows with `.all()`: psycopg fetches them all at once that way, where
        iterating the result fetches them one call per row."""
        result: CursorResult[Any] = self._session.connection().execute(statement, params)
        return result

    def _among(self, column: Any, values: Sequence[Any]) -> Any:
        """`column IN values`. On PostgreSQL `column = ANY(array)` with the values bound as
        one array: the statement's text stays the same whatever the values, where an IN
        list of 500 placeholders made the driver parse a long new text on every call."""
        if self._session.get_bind().dialect.name == "postgresql":
            return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
        return column.in_(values)

    def _insert_ignoring_conflicts(
        self, table: type[Table], rows: Sequence[dict[str, Any]], unique: Sequence[str]
    ) -> int:
        """INSERT rows, skipping those that collide on the `unique` columns; how many went in.

        Uses ``ON CONFLICT (...) DO NOTHING``, so a duplicate neither raises nor aborts the
        transaction (on PostgreSQL a failed INSERT would abort it). The rows are bound to one
        cached statement that the driver layer sends in multi-row batches.
        """
        if not rows:
            return 0
        # Count the rows RETURNING gives back: the driver's rowcount for an INSERT is not
        # reliable (psycopg reports -1 here). RETURNING needs SQLite 3.35 or later.
        statement = self._ignoring_conflicts(table, unique)
        return len(self._rows(statement.returning(literal_column("1")), list(rows)).all())

    def _replacing_on_conflict(self, table: type[Table], unique: Sequence[str]) -> Insert:
        """``INSERT ... ON CONFLICT (unique) DO UPDATE`` of every other column bound: one
        statement that inserts a row or overwrites the one with the same `unique` values."""
        statement = self._dialect_insert(table)
        replaced = {
            column.name: statement.excluded[column.name]
            for column in core_table(table).columns
            if column.name not in unique
        }
        return statement.on_conflict_do_update(index_elements=unique, set_=replaced)

    def _ignoring_conflicts(self, table: type[Table], unique: Sequence[str]) -> Insert:
        """``INSERT ... ON CONFLICT (unique) DO NOTHING`` into `table`, values to be bound."""
        return self._dialect_insert(table).on_conflict_do_nothing(index_elements=unique)

    def _dialect_insert(self, table: type[Table]) -> postgresql.Insert | sqlite.Insert:
        """An INSERT into `table` that can say what to do ON CONFLICT, in this dialect."""
        dialect = self._session.get_bind().dialect.name
        if dialect == "postgresql":
            return postgresql.insert(table)
        if dialect == "sqlite":
            return sqlite.insert(table)
        raise NotImplementedError(dialect)  # pragma: no cover - refused at connect


def chunks(items: Sequence[_T], size: int = BATCH_SIZE) -> Iterator[Sequence[_T]]:
    """`items` in consecutive slices of at most `size`."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def as_literal(value: str, allowed: Collection[_S], what: str) -> _S:
    """`value` typed as one of the `allowed` literal values, or a ValueError saying which."""
    if value in allowed:
        return cast(_S, value)
    raise ValueError(f"unknown {what} {value!r}: expected one of {list(allowed)}")
