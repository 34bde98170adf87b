"""What every part of the repository shares: the session, the clock and a few helpers."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar, cast

import orjson
from sqlalchemy import (
    JSON,
    CursorResult,
    Executable,
    Insert,
    Text,
    any_,
    bindparam,
    func,
    inspect,
    literal_column,
    select,
    update,
)
from sqlalchemy import Table as CoreTable
from sqlalchemy import cast as sql_cast
from sqlalchemy import column as sql_column
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Session

from state._types import require_aware
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

    def _rows(
        self, statement: Executable, params: Sequence[Mapping[str, Any]] | None = None
    ) -> Any:
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
        if self._dialect_name() == "postgresql":
            return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
        return column.in_(values)

    def _insert_ignoring_conflicts(
        self, table: type[Table], rows: Sequence[dict[str, Any]], unique: Sequence[str]
    ) -> int:
        """INSERT rows, skipping those that collide on the `unique` columns; how many went in."""
        # Count the rows RETURNING gives back: the driver's rowcount for an INSERT is not
        # reliable (psycopg reports -1 here). RETURNING needs SQLite 3.35 or later.
        return len(self._insert_new(table, rows, unique, literal_column("1")))

    def _insert_new(
        self,
        table: type[Table],
        rows: Sequence[Mapping[str, Any]],
        unique: Sequence[str],
        returning: Any,
    ) -> list[Any]:
        """INSERT rows (each with the same columns), skipping those that collide on the
        `unique` columns; the `returning` value of each row that went in, in no set order.

        Uses ``ON CONFLICT (...) DO NOTHING``, so a duplicate neither raises nor aborts the
        transaction (on PostgreSQL a failed INSERT would abort it). PostgreSQL gets one
        ``INSERT ... SELECT`` from the rows bound as one document (`_bound_rows`); SQLite one
        cached statement that the driver layer sends in multi-row batches.
        """
        if not rows:
            return []
        statement = self._ignoring_conflicts(table, unique).returning(returning)
        if self._dialect_name() == "postgresql":
            names = list(rows[0])
            bound = self._bound_rows(core_table(table), rows, names)
            selected = statement.from_select(names, select(*(bound[name] for name in names)))
            return list(self._rows(selected).scalars())
        return list(self._rows(statement, list(rows)).scalars())

    def _update_rows(self, table: CoreTable, key: str, rows: Sequence[Mapping[str, Any]]) -> None:
        """UPDATE the rows of `table` whose `key` column holds each row's `key` value, setting
        the row's other columns (every row the same columns)."""
        if not rows:
            return
        names = [name for name in rows[0] if name != key]
        if self._dialect_name() == "postgresql":
            bound = self._bound_rows(table, rows, [key, *names])
            statement = (
                update(table)
                .where(table.c[key] == bound[key])
                .values({name: bound[name] for name in names})
            )
            self._rows(statement)
            return
        parameter = f"{key}_"  # a bind name that is not a column SET takes a value for
        statement = update(table).where(table.c[key] == bindparam(parameter))
        self._rows(statement, [{**{n: row[n] for n in names}, parameter: row[key]} for row in rows])

    def _bound_rows(
        self, table: CoreTable, rows: Sequence[Mapping[str, Any]], names: Sequence[str]
    ) -> dict[str, Any]:
        """PostgreSQL: the `names` columns of `rows` as columns of a derived table, by name.

        The rows are bound as one JSON document, read back as typed columns by
        ``json_to_recordset``. The statement is then short and the same whatever the number
        of rows: a multi-row VALUES list is a long new text the driver parses on every call,
        one statement a row costs a round of work per row on both sides, and arrays of text
        are escaped by the driver one element at a time.
        """
        try:
            document = orjson.dumps(
                [{name: row[name] for name in names} for row in rows],
                default=_json_value,
                option=orjson.OPT_PASSTHROUGH_DATETIME,
            )
        except orjson.JSONEncodeError as exc:
            if isinstance(exc.__cause__, ValueError | TypeError):
                raise exc.__cause__ from None  # what `_json_value` said, not orjson's summary
            raise
        derived = (
            func.json_to_recordset(sql_cast(bindparam(None, document.decode(), Text), JSON))
            .table_valued(*(sql_column(name, table.c[name].type) for name in names))
            .render_derived(with_types=True)
        )
        return {name: derived.c[name] for name in names}

    def _dialect_name(self) -> str:
        return self._session.get_bind().dialect.name

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
        dialect = self._dialect_name()
        if dialect == "postgresql":
            return postgresql.insert(table)
        if dialect == "sqlite":
            return sqlite.insert(table)
        raise NotImplementedError(dialect)  # pragma: no cover - refused at connect


def _json_value(value: Any) -> str:
    """A column value orjson does not write itself, as the text PostgreSQL reads it from: an
    aware datetime with its offset (a naive one is refused), a date, a Decimal exactly."""
    if isinstance(value, datetime):
        return require_aware(value, "a datetime to store").isoformat()
    if isinstance(value, date | Decimal):
        return str(value)
    raise TypeError(f"cannot store {type(value).__name__} {value!r}")


def chunks(items: Sequence[_T], size: int = BATCH_SIZE) -> Iterator[Sequence[_T]]:
    """`items` in consecutive slices of at most `size`."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def as_literal(value: str, allowed: Collection[_S], what: str) -> _S:
    """`value` typed as one of the `allowed` literal values, or a ValueError saying which."""
    if value in allowed:
        return cast(_S, value)
    raise ValueError(f"unknown {what} {value!r}: expected one of {list(allowed)}")
