"""One active instance: a lock in the state database.

On PostgreSQL, a session advisory lock (`pg_try_advisory_lock`) on a connection of its own,
held for as long as the process lives: the server releases it the moment that connection
dies, so a standby takes over at its next try; `renew` asks the server whether that session
still holds it (a connection lost to a network cut or a server restart loses the lock). On
SQLite (one machine, one file), a row in `locks` with a lease the holder renews; a holder
that stops renewing loses the lock when the lease ends.

    lock = InstanceLock(store, holder="host-1:4242", lease=timedelta(seconds=60))
    while not lock.acquire():      # a hot standby: try again every few seconds
        time.sleep(5)
    ...                            # call lock.renew() more often than the lease
    lock.release()
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import Connection, text
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import col, delete

from state._base import Queries
from state._types import require_aware
from state.tables import LockRow

if TYPE_CHECKING:
    from state.store import Store

LOCK_NAME = "leadloop.daemon"
_HELD = text(
    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted"
    " AND pid = pg_backend_pid() AND classid = CAST(:high AS oid)"
    " AND objid = CAST(:low AS oid) AND objsubid = 1)"
)
"""Whether this session holds the advisory lock of a 64-bit key (its halves as `pg_locks`
shows them)."""


class LockQueries(Queries):
    """The lease rows of `locks`."""

    def take_lease(self, name: str, holder: str, until: datetime, now: datetime) -> bool:
        """Hold `name` until `until` if it is free, expired at `now` or held by `holder`."""
        require_aware(until, "until")
        row = self._session.get(LockRow, name)
        if row is None:
            self._session.add(LockRow(name=name, holder=holder, lease_until=until))
            self._session.flush()
            return True
        if row.holder == holder or row.lease_until <= require_aware(now, "now"):
            row.holder = holder
            row.lease_until = until
            self._session.flush()
            return True
        return False

    def drop_lease(self, name: str, holder: str) -> None:
        """Give up `name` if `holder` holds it."""
        self._session.exec(
            delete(LockRow).where(col(LockRow.name) == name, col(LockRow.holder) == holder)
        )

    def lease_holder(self, name: str) -> str | None:
        row = self._session.get(LockRow, name)
        return None if row is None else row.holder


class InstanceLock:
    """The daemon's lock; `acquire` and `renew` say whether this process holds it."""

    def __init__(self, store: Store, holder: str, lease: timedelta, name: str = LOCK_NAME) -> None:
        self._store = store
        self.holder = holder
        self.lease = lease
        self.name = name
        self._connection: Connection | None = None
        self._postgres = store.engine.dialect.name == "postgresql"

    @property
    def kind(self) -> str:
        return "postgresql advisory lock" if self._postgres else "lease row"

    def acquire(self) -> bool:
        """Take the lock if it is free (or this holder has it); whether it is held now."""
        if self._postgres:
            return self._advisory()
        return self._lease()

    def renew(self) -> bool:
        """Keep the lock; False when it was lost (another holder took an expired lease, or
        the session that held the advisory lock is gone)."""
        if self._postgres and self._connection is not None:
            return self._still_advisory(self._connection)
        return self.acquire()

    def release(self) -> None:
        """Give the lock up (a no-op when not held)."""
        if self._postgres:
            connection, self._connection = self._connection, None
            if connection is not None:
                try:
                    connection.execute(
                        text("SELECT pg_advisory_unlock(:key)"), {"key": _key(self.name)}
                    )
                except SQLAlchemyError:
                    connection.invalidate()  # closing the session frees its locks
                connection.close()
            return
        with self._store.transaction() as repo:
            repo.drop_lease(self.name, self.holder)

    def _advisory(self) -> bool:
        if self._connection is not None:
            return True
        connection = self._store.engine.connect()
        connection.execution_options(isolation_level="AUTOCOMMIT")
        got = connection.execute(
            text("SELECT pg_try_advisory_lock(:key)"), {"key": _key(self.name)}
        ).scalar()
        if got:
            self._connection = connection
            return True
        connection.close()
        return False

    def _still_advisory(self, connection: Connection) -> bool:
        key = _key(self.name)
        try:
            held = bool(
                connection.execute(
                    _HELD, {"high": (key >> 32) & 0xFFFFFFFF, "low": key & 0xFFFFFFFF}
                ).scalar()
            )
        except SQLAlchemyError:
            held = False
        if not held:
            self._connection = None
            connection.invalidate()  # whatever session it has now must not keep a lock
            connection.close()
        return held

    def _lease(self) -> bool:
        with self._store.transaction() as repo:
            now = self._store.clock()
            return repo.take_lease(self.name, self.holder, now + self.lease, now)

    def holder_now(self) -> str | None:
        """Who holds the lease row (SQLite), for messages; None on PostgreSQL or if free."""
        if self._postgres:
            return None
        with self._store.transaction() as repo:
            return repo.lease_holder(self.name)


def _key(name: str) -> int:
    """A stable signed 64-bit advisory lock key for `name`."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
