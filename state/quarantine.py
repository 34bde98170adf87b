"""Quarantine: records a CRM refused, kept with the CRM's own error text for the CLI to list
and replay, so one bad record never stops a batch."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select

from state._base import Queries
from state._types import require_aware
from state.exceptions import NotFoundError
from state.tables import QuarantineRow


@dataclass(frozen=True, slots=True)
class QuarantineRecord:
    """One quarantined record: where it failed, the CRM's error and how often it failed."""

    id: int
    system: str
    operation: str
    record_key: str
    payload: Mapping[str, Any]
    error_code: str | None
    error_message: str
    attempts: int
    first_seen_at: datetime
    last_attempt_at: datetime
    resolved_at: datetime | None


def _to_record(row: QuarantineRow) -> QuarantineRecord:
    assert row.id is not None
    return QuarantineRecord(
        id=row.id,
        system=row.system,
        operation=row.operation,
        record_key=row.record_key,
        payload=row.payload,
        error_code=row.error_code,
        error_message=row.error_message,
        attempts=row.attempts,
        first_seen_at=row.first_seen_at,
        last_attempt_at=row.last_attempt_at,
        resolved_at=row.resolved_at,
    )


class QuarantineQueries(Queries):
    """Quarantining, listing and resolving refused records."""

    def quarantine(
        self,
        system: str,
        operation: str,
        record_key: str,
        payload: Mapping[str, Any],
        error_code: str | None,
        error_message: str,
        at: datetime,
    ) -> int:
        """Quarantine a record; its id. The same unresolved (system, operation, record)
        failing again updates that entry (payload, error, attempts) instead of adding one."""
        require_aware(at, "at")
        statement = select(QuarantineRow).where(
            col(QuarantineRow.system) == system,
            col(QuarantineRow.operation) == operation,
            col(QuarantineRow.record_key) == record_key,
            col(QuarantineRow.resolved_at).is_(None),
        )
        row = self._session.exec(statement.order_by(col(QuarantineRow.id))).first()
        if row is None:
            row = QuarantineRow(
                system=system,
                operation=operation,
                record_key=record_key,
                first_seen_at=at,
                error_message=error_message,
                last_attempt_at=at,
                attempts=0,
            )
            self._session.add(row)
        row.payload = dict(payload)
        row.error_code = error_code
        row.error_message = error_message
        row.attempts += 1
        row.last_attempt_at = at
        self._session.flush()
        assert row.id is not None
        return row.id

    def quarantined(self, include_resolved: bool = False) -> list[QuarantineRecord]:
        """Quarantined records, oldest first; unresolved only unless `include_resolved`."""
        statement = select(QuarantineRow).order_by(col(QuarantineRow.id))
        if not include_resolved:
            statement = statement.where(col(QuarantineRow.resolved_at).is_(None))
        return [_to_record(row) for row in self._session.exec(statement)]

    def count_quarantined(self) -> int:
        """How many quarantined records are unresolved."""
        statement = select(func.count()).where(col(QuarantineRow.resolved_at).is_(None))
        return self._session.exec(statement).one()

    def resolve(self, id: int, at: datetime) -> None:
        """Mark a quarantined record resolved (replayed or dismissed) at `at`; resolving it
        again keeps the first time."""
        require_aware(at, "at")
        row = self._session.get(QuarantineRow, id)
        if row is None:
            raise NotFoundError("quarantined record", id)
        if row.resolved_at is None:
            row.resolved_at = at
            self._session.flush()
