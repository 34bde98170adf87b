"""One active instance: the second process waits, and takes over when the first is gone."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import text

from state import Store
from state.lock import InstanceLock
from tests.state.support import FakeClock

LEASE = timedelta(seconds=60)


def name() -> str:
    """A lock name of this test's own: PostgreSQL advisory locks are server-wide."""
    return f"test-{uuid.uuid4()}"


def test_a_second_holder_waits_while_the_first_holds(db_url: str, clock: FakeClock) -> None:
    with Store.connect(db_url, clock=clock, migrate=True) as first_store:
        second_store = Store.connect(db_url, clock=clock)
        lock = name()
        first = InstanceLock(first_store, "host-a:1", LEASE, lock)
        second = InstanceLock(second_store, "host-b:2", LEASE, lock)
        try:
            assert first.acquire()
            assert first.renew()
            assert not second.acquire()
            first.release()
            assert second.acquire()
            assert not first.acquire()
        finally:
            second.release()
            first.release()
            second_store.dispose()


def test_a_lease_nobody_renews_is_taken_over(db_url: str, clock: FakeClock) -> None:
    """SQLite: the lease ends. PostgreSQL: the holder's connection ends (it died)."""
    with Store.connect(db_url, clock=clock, migrate=True) as store:
        gone = Store.connect(db_url, clock=clock)
        lock = name()
        dead = InstanceLock(gone, "host-a:1", LEASE, lock)
        standby = InstanceLock(store, "host-b:2", LEASE, lock)
        assert dead.acquire()
        assert not standby.acquire()
        if store.engine.dialect.name == "postgresql":
            gone.dispose()  # the process died: its connections close
            assert dead._connection is not None
            dead._connection.invalidate()
        else:
            clock.advance(LEASE + timedelta(seconds=1))
        assert standby.acquire()
        standby.release()
        gone.dispose()


def test_renew_says_when_the_lock_was_lost(db_url: str, clock: FakeClock) -> None:
    """SQLite: a standby took the expired lease. PostgreSQL: the server ended the holder's
    session (a restart, a network cut), which freed the lock. `renew` says False."""
    with Store.connect(db_url, clock=clock, migrate=True) as store:
        lock = name()
        holder = InstanceLock(store, "host-a:1", LEASE, lock)
        standby = InstanceLock(store, "host-b:2", LEASE, lock)
        assert holder.acquire()
        if store.engine.dialect.name == "postgresql":
            assert holder._connection is not None
            pid = holder._connection.execute(text("SELECT pg_backend_pid()")).scalar()
            with store.engine.connect() as admin:
                admin.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid})
            assert not holder.renew()
            assert standby.acquire()
        else:
            clock.advance(LEASE + timedelta(seconds=1))
            assert standby.acquire()
            assert not holder.renew()
        assert not holder.acquire()  # the standby holds it now
        standby.release()
