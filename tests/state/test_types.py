"""Tests for UtcDateTime: aware datetimes in, aware UTC datetimes out, naive ones refused."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.engine import Dialect, make_url

from state._types import UtcDateTime
from tests.state.support import JST

NOON_JST = datetime(2026, 1, 5, 12, 0, tzinfo=JST)
THREE_UTC = datetime(2026, 1, 5, 3, 0, tzinfo=UTC)


def dialect(url: str) -> Dialect:
    """The dialect of a URL, without connecting."""
    return make_url(url).get_dialect()()


SQLITE = dialect("sqlite://")
POSTGRES = dialect("postgresql+psycopg://")


class TestUtcDateTime:
    def test_naive_datetimes_are_refused(self) -> None:
        """A naive datetime raises ValueError on the way in, on every dialect."""
        for dialect in (SQLITE, POSTGRES):
            with pytest.raises(ValueError, match="naive datetime"):
                UtcDateTime().process_bind_param(datetime(2026, 1, 5, 12), dialect)

    def test_non_datetimes_are_refused(self) -> None:
        """A date string is not silently stored as an instant."""
        with pytest.raises(TypeError, match="expected a datetime"):
            UtcDateTime().process_bind_param("2026-01-05", SQLITE)  # type: ignore[arg-type]

    def test_values_are_sent_in_utc(self) -> None:
        """PostgreSQL gets the aware UTC instant; SQLite the UTC wall time without offset."""
        kind = UtcDateTime()
        assert kind.process_bind_param(NOON_JST, POSTGRES) == THREE_UTC
        assert kind.process_bind_param(NOON_JST, SQLITE) == datetime(2026, 1, 5, 3, 0)
        assert kind.process_bind_param(None, SQLITE) is None

    def test_values_come_back_aware_in_utc(self) -> None:
        """SQLite's naive value is read as UTC; an offset from PostgreSQL is converted."""
        kind = UtcDateTime()
        from_sqlite = kind.process_result_value(datetime(2026, 1, 5, 3, 0), SQLITE)
        from_postgres = kind.process_result_value(NOON_JST, POSTGRES)
        assert from_sqlite == from_postgres == THREE_UTC
        assert from_sqlite is not None and from_sqlite.tzinfo is UTC
        assert from_postgres is not None and from_postgres.tzinfo is UTC

    def test_sqlite_text_is_read_as_sqlalchemy_reads_it(self) -> None:
        """SQLite hands back text; every form SQLAlchemy's own reader accepts gives the same
        aware UTC instant through the faster reader."""
        kind = UtcDateTime()
        fast = kind.result_processor(SQLITE, None)
        reference = kind.impl_instance.dialect_impl(SQLITE).result_processor(SQLITE, None)
        assert fast is not None and reference is not None
        for text in (
            "2026-01-05 03:00:00.000000",
            "2026-01-05 03:00:00.250000",
            "2026-01-05 03:00:00",
            "2026-01-05 03:00",
        ):
            read, expected = fast(text), reference(text)
            assert expected is not None
            assert read == expected.replace(tzinfo=UTC), text
            assert read is not None and read.tzinfo is UTC
        assert fast("2026-01-05T12:00:00+09:00") == THREE_UTC
        assert fast(None) is None

    def test_sqlite_text_it_cannot_read_is_an_error(self) -> None:
        """A value that is not an instant is not turned into one."""
        fast = UtcDateTime().result_processor(SQLITE, None)
        assert fast is not None
        with pytest.raises(ValueError):
            fast("not a time")
