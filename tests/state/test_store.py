"""Tests for Store transactions and cursor persistence."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from mappings.model import Lead
from state import Cursor, Store, advance
from state.tables import CursorRow
from tests.state.support import FakeClock, activity

T1 = "2026-01-05T09:00:00.000Z"
T2 = "2026-01-05T09:00:01.000Z"


class BoomError(Exception):
    """Raised by a test to abort a transaction."""


class TestTransaction:
    def test_commit_makes_writes_visible_to_later_transactions(self, store: Store) -> None:
        """Data written in a block that ends normally is there in the next one."""
        with store.transaction() as repo:
            repo.save_lead(Lead("k"))
            repo.add_activities([activity("e1", lead_key="k")])
            repo.save_cursor(Cursor("contacts", T1, frozenset({"k"})))
        with store.transaction() as repo:
            assert repo.get_lead("k") == Lead("k")
            assert len(repo.activities_for("k")) == 1
            assert repo.get_cursor("contacts") == Cursor("contacts", T1, frozenset({"k"}))

    def test_rollback_leaves_neither_the_data_nor_the_cursor_moved(self, store: Store) -> None:
        """An exception after storing a read and moving its cursor undoes both."""
        with store.transaction() as repo:
            repo.add_activities([activity("e1")])
            repo.save_cursor(Cursor("events", T1, frozenset({"e1"})))
        with pytest.raises(BoomError), store.transaction() as repo:
            cursor = repo.get_cursor("events")
            repo.add_activities([activity("e2", 1)])
            repo.save_lead(Lead("lead-1"))
            repo.save_cursor(advance(cursor, [("e2", T2)]))
            raise BoomError
        with store.transaction() as repo:
            assert [a.dedupe_key for a in repo.activities_for("lead-1")] == ["e1"]
            assert repo.get_lead("lead-1") is None
            assert repo.get_cursor("events") == Cursor("events", T1, frozenset({"e1"}))

    def test_each_transaction_is_a_new_session(self, store: Store) -> None:
        """Two blocks get two repositories, so nothing leaks between them."""
        with store.transaction() as first:
            pass
        with store.transaction() as second:
            assert second is not first
            assert second._session is not first._session

    def test_a_second_store_sees_committed_data(self, db_url: str, store: Store) -> None:
        """Data committed by one store is read by a new store on the same database."""
        with store.transaction() as repo:
            repo.save_lead(Lead("k", stage="mql"))
        with Store.connect(db_url) as again, again.transaction() as repo:
            assert repo.get_lead("k") == Lead("k", stage="mql")

    def test_url_and_repr_hide_the_password(self) -> None:
        """The store's printable URL and repr never contain the password."""
        with Store.connect("postgresql+psycopg://leadloop:hunter2@127.0.0.1:1/x") as store:
            assert store.url == "postgresql+psycopg://leadloop:***@127.0.0.1:1/x"
            assert "hunter2" not in repr(store)


class TestSqliteLocking:
    def test_a_transaction_holds_the_write_lock_from_its_start(self, tmp_path: Path) -> None:
        """Even before it writes, an open transaction keeps other writers out (BEGIN
        IMMEDIATE), so a read-then-write cannot fail half-way; the lock goes at the end."""
        path = tmp_path / "lock.db"
        with Store.connect(f"sqlite:///{path}", migrate=True) as store:
            other = sqlite3.connect(path, timeout=0.05, isolation_level=None)
            try:
                with store.transaction() as repo:
                    assert repo.get_lead("k") is None
                    with pytest.raises(sqlite3.OperationalError, match="locked"):
                        other.execute("BEGIN IMMEDIATE")
                other.execute("BEGIN IMMEDIATE")
                other.execute("ROLLBACK")
            finally:
                other.close()


class TestCursors:
    def test_absent_cursor_is_empty(self, store: Store) -> None:
        """A stream never saved has an empty cursor: read everything."""
        with store.transaction() as repo:
            assert repo.get_cursor("contacts") == Cursor("contacts")

    def test_save_replaces_value_and_boundary(self, store: Store, clock: FakeClock) -> None:
        """Saving again overwrites the cursor and stamps updated_at from the clock."""
        with store.transaction() as repo:
            repo.save_cursor(Cursor("contacts", T1, frozenset({"a", "b"})))
        clock.advance(timedelta(minutes=5))
        with store.transaction() as repo:
            repo.save_cursor(Cursor("contacts", T2, frozenset({"c"})))
            repo.save_cursor(Cursor("events"))
        with store.transaction() as repo:
            assert repo.get_cursor("contacts") == Cursor("contacts", T2, frozenset({"c"}))
            assert repo.get_cursor("events") == Cursor("events")
            row = repo._session.get(CursorRow, "contacts")
            assert row is not None
            assert row.updated_at == clock.now
            assert row.boundary_keys == ["c"]
