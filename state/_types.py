"""Column types shared by the tables: instants that are always aware and in UTC."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.types import DateTime, TypeDecorator


class UtcDateTime(TypeDecorator[datetime]):
    """A `DateTime(timezone=True)` that only accepts aware datetimes and returns them in UTC.

    PostgreSQL keeps the instant (``timestamptz``); SQLite keeps no offset at all, so every
    value is converted to UTC on the way in and marked UTC on the way out. A naive datetime
    is ambiguous, so it is refused with a `ValueError` instead of being guessed at.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Refuse naive datetimes; send aware ones as UTC (offset dropped for SQLite)."""
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}: {value!r}")
        utc = require_aware(value, "a datetime to store").astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """Return every stored instant as an aware datetime in UTC."""
        if value is not None and not isinstance(value, datetime):
            raise TypeError(f"expected a datetime from the database, got {value!r}")
        return _aware_in_utc(value)

    def result_processor(
        self, dialect: Dialect, coltype: Any
    ) -> Callable[[Any], datetime | None] | None:
        """On PostgreSQL, one call a value (`_aware_in_utc`). On SQLite, read the stored
        text with `datetime.fromisoformat` in one step.

        SQLite keeps these instants as text in SQLAlchemy's format ("2026-04-27
        09:00:00.000000", UTC); its own reader parses that with a regular expression, a
        large share of the cost of reading a page of leads (nine instants a row)."""
        if dialect.name == "postgresql":
            return _aware_in_utc  # psycopg reads timestamptz as aware datetimes
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)
        stored = self.impl_instance.dialect_impl(dialect).result_processor(dialect, coltype)
        fromisoformat = datetime.fromisoformat

        def process(value: Any) -> datetime | None:
            if value is None:
                return None
            if isinstance(value, str):
                try:
                    return fromisoformat(value + "+00:00")  # aware, with UTC as its tzinfo
                except ValueError:
                    pass
                try:
                    return fromisoformat(value).astimezone(UTC)  # text with its own offset
                except ValueError:
                    pass  # not the usual format: SQLAlchemy's reader says what is wrong
            if stored is not None:
                value = stored(value)
            return self.process_result_value(value, dialect)

        return process


def _aware_in_utc(value: datetime | None) -> datetime | None:
    """A stored instant in UTC: a `timestamptz` as psycopg reads it (aware, in the
    session's time zone), or a naive value, which is stored as UTC.

    On PostgreSQL, one call a value: SQLAlchemy's generic path for a TypeDecorator makes
    three, a large share of reading a page of leads (nine instants a row). The engine sets
    the session's time zone to UTC (`state.database`), so the value is usually returned as
    it is."""
    if value is None or value.tzinfo is UTC:
        return value
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def require_aware(value: datetime, what: str) -> datetime:
    """`value` unchanged if it is aware; a ValueError naming `what` if it is naive."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            f"{what} is the naive datetime {value.isoformat()}: pass an aware datetime "
            "(for example datetime.now(UTC)) so the stored instant is unambiguous"
        )
    return value


def require_aware_columns(columns: dict[str, Any], table: str) -> dict[str, Any]:
    """`columns` unchanged if none of its datetimes is naive; else a ValueError naming one.

    Checked before a row reaches the session, so a naive datetime is a plain ValueError
    and the transaction stays usable (a failed flush would spoil it).
    """
    for name, value in columns.items():
        if isinstance(value, datetime):
            require_aware(value, f"{table}.{name}")
    return columns
