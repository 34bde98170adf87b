"""The repository: every query the jobs use, bound to one transaction.

Get one from `Store.transaction()`; it takes and returns canonical values (`Lead`,
`Activity`, `Cursor`, `OutboxItem`...), never table rows. All datetimes going in must be
aware; all coming out are aware and in UTC.
"""

from __future__ import annotations

from sqlalchemy import select as select_rows

from state._base import core_table
from state._history import HistoryQueries
from state._leads import LeadQueries
from state._types import require_aware_columns
from state.alerts import AlertQueries, DigestQueries
from state.cursors import Cursor
from state.lock import LockQueries
from state.outbox import OutboxQueries
from state.quarantine import QuarantineQueries
from state.runs import RunQueries
from state.tables import CursorRow

_CURSORS = core_table(CursorRow)


class Repository(
    LeadQueries,
    HistoryQueries,
    OutboxQueries,
    RunQueries,
    AlertQueries,
    DigestQueries,
    QuarantineQueries,
    LockQueries,
):
    """Reads and writes within one transaction; see `Store.transaction`."""

    def get_cursor(self, stream: str) -> Cursor:
        """The stream's cursor; an empty one (read everything) if it has none yet."""
        columns = _CURSORS.c
        statement = select_rows(columns.value, columns.boundary_keys).where(
            columns.stream == stream
        )
        row = self._rows(statement).first()
        if row is None:
            return Cursor(stream)
        return Cursor(stream, row.value, frozenset(row.boundary_keys))

    def save_cursor(self, cursor: Cursor) -> None:
        """Store the cursor; it moves with the transaction, so only with what was read."""
        columns = require_aware_columns(
            {
                "stream": cursor.stream,
                "value": cursor.value,
                "boundary_keys": sorted(cursor.boundary_keys),
                "updated_at": self._clock(),
            },
            "cursors",
        )
        self._rows(self._replacing_on_conflict(CursorRow, ["stream"]), [columns])

    def flush(self) -> None:
        """Send pending writes now (they are also sent before each query and at commit)."""
        self._session.flush()
