"""Persistence: leads, activities, stage history, corrections, cursors, outbox, runs,
alerts and digests sent, and quarantined records, in SQLite or PostgreSQL, with migrations.

>>> store = Store.connect(database_url(), migrate=True)        # doctest: +SKIP
>>> with store.transaction() as repo:                           # doctest: +SKIP
...     lead = repo.get_lead("lead-1")
"""

from state.alerts import AlertClaim, AlertRecord, AlertStatus, DigestRecord, DigestStatus
from state.cursors import Cursor, advance, is_new
from state.database import DEFAULT_DATABASE_URL, database_url, redact_url
from state.exceptions import NotFoundError, StateError, UnsupportedDatabaseError
from state.migrate import upgrade
from state.outbox import OutboxItem, OutboxTarget, OutboxWrite
from state.quarantine import QuarantineRecord
from state.repository import Repository
from state.runs import RunRecord, RunStatus
from state.store import Store, utc_now

__all__ = [
    "DEFAULT_DATABASE_URL",
    "AlertClaim",
    "AlertRecord",
    "AlertStatus",
    "Cursor",
    "DigestRecord",
    "DigestStatus",
    "NotFoundError",
    "OutboxItem",
    "OutboxTarget",
    "OutboxWrite",
    "QuarantineRecord",
    "Repository",
    "RunRecord",
    "RunStatus",
    "StateError",
    "Store",
    "UnsupportedDatabaseError",
    "advance",
    "database_url",
    "is_new",
    "redact_url",
    "upgrade",
    "utc_now",
]
