"""The outbox: external writes recorded in the same transaction as the change behind them,
then drained by the handoff job. The idempotency key makes a repeated enqueue a no-op."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, get_args

from sqlalchemy import Row, func
from sqlalchemy import select as select_rows
from sqlmodel import col, select, update

from state._base import Queries, as_literal, chunks, core_table
from state._types import require_aware
from state.exceptions import NotFoundError
from state.tables import OutboxRow

OutboxTarget = Literal["hubspot", "salesforce"]
"""The system an outbox item is written to."""

OUTBOX_TARGETS: tuple[OutboxTarget, ...] = get_args(OutboxTarget)


_OUTBOX = core_table(OutboxRow)


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """One pending external write: what to do to which lead, and how it went so far."""

    id: int
    target: OutboxTarget
    operation: str
    lead_key: str
    idempotency_key: str
    payload: Mapping[str, Any]
    created_at: datetime
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    done_at: datetime | None


@dataclass(frozen=True, slots=True)
class OutboxWrite:
    """An external write to queue (`OutboxQueries.enqueue_many`); its idempotency key makes
    queuing it again a no-op."""

    target: OutboxTarget
    operation: str
    lead_key: str
    idempotency_key: str
    payload: Mapping[str, Any]


def _to_item(row: OutboxRow | Row[Any]) -> OutboxItem:
    assert row.id is not None
    return OutboxItem(
        id=row.id,
        target=as_literal(row.target, OUTBOX_TARGETS, "outbox target"),
        operation=row.operation,
        lead_key=row.lead_key,
        idempotency_key=row.idempotency_key,
        payload=row.payload,
        created_at=row.created_at,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        last_error=row.last_error,
        done_at=row.done_at,
    )


class OutboxQueries(Queries):
    """Enqueueing and draining external writes."""

    def enqueue(
        self,
        target: OutboxTarget,
        operation: str,
        lead_key: str,
        idempotency_key: str,
        payload: Mapping[str, Any],
        *,
        at: datetime | None = None,
    ) -> bool:
        """Queue a write, due at once; False (and nothing queued) if the key exists already.

        `payload` must be JSON-serializable (strings, numbers, booleans, None, lists, dicts).
        `at` defaults to the clock's now.
        """
        write = OutboxWrite(target, operation, lead_key, idempotency_key, payload)
        return bool(self.enqueue_many([write], at=at))

    def enqueue_many(
        self, writes: Iterable[OutboxWrite], *, at: datetime | None = None
    ) -> set[str]:
        """`enqueue` for many writes, one INSERT per 500; the idempotency keys queued.

        Same as enqueuing them one by one in order: a key already stored, or repeated among
        `writes`, queues nothing again (the first write of a key wins).
        """
        now = require_aware(self._clock() if at is None else at, "outbox.created_at")
        rows: dict[str, dict[str, Any]] = {}
        for write in writes:
            as_literal(write.target, OUTBOX_TARGETS, "outbox target")
            rows.setdefault(
                write.idempotency_key,
                {
                    "target": write.target,
                    "operation": write.operation,
                    "lead_key": write.lead_key,
                    "idempotency_key": write.idempotency_key,
                    "payload": dict(write.payload),
                    "created_at": now,
                    "attempts": 0,
                    "next_attempt_at": now,
                },
            )
        queued = self._insert_new(
            OutboxRow, list(rows.values()), ["idempotency_key"], col(OutboxRow.idempotency_key)
        )
        return set(queued)

    def pending_outbox(self, target: OutboxTarget, limit: int, now: datetime) -> list[OutboxItem]:
        """Up to `limit` items for `target` not done and due at `now`, in the order queued."""
        columns = _OUTBOX.c
        statement = (
            select_rows(_OUTBOX)
            .where(
                columns.target == target,
                columns.done_at.is_(None),
                columns.next_attempt_at <= require_aware(now, "now"),
            )
            .order_by(columns.id)
            .limit(limit)
        )
        return [_to_item(row) for row in self._rows(statement).all()]

    def mark_done(self, ids: Iterable[int], at: datetime) -> None:
        """Mark items written; unknown ids are ignored (the batch is what it is)."""
        require_aware(at, "at")
        for batch in chunks(sorted(set(ids))):
            self._session.exec(
                update(OutboxRow).where(self._among(col(OutboxRow.id), batch)).values(done_at=at)
            )

    def mark_failed(self, id: int, error: str, retry_at: datetime) -> None:
        """Count a failed attempt, keep its error and make the item due again at `retry_at`."""
        require_aware(retry_at, "retry_at")
        result = self._session.exec(
            update(OutboxRow)
            .where(col(OutboxRow.id) == id)
            .values(
                attempts=col(OutboxRow.attempts) + 1, last_error=error, next_attempt_at=retry_at
            )
        )
        if result.rowcount == 0:
            raise NotFoundError("outbox item", id)

    def last_payloads(
        self, target: OutboxTarget, operation: str, lead_keys: Iterable[str]
    ) -> dict[str, Mapping[str, Any]]:
        """The payload of the latest item queued for each of these leads (done or not), by
        lead key; leads with none are left out."""
        found: dict[str, Mapping[str, Any]] = {}
        for batch in chunks(sorted(set(lead_keys))):
            latest = (
                select(col(OutboxRow.lead_key), func.max(col(OutboxRow.id)).label("id"))
                .where(
                    col(OutboxRow.target) == target,
                    col(OutboxRow.operation) == operation,
                    self._among(col(OutboxRow.lead_key), batch),
                )
                .group_by(col(OutboxRow.lead_key))
                .subquery()
            )
            statement = select(OutboxRow.lead_key, OutboxRow.payload).join(
                latest, col(OutboxRow.id) == latest.c.id
            )
            found.update((lead_key, payload) for lead_key, payload in self._session.exec(statement))
        return found

    def outbox_item(self, id: int) -> OutboxItem | None:
        """One outbox item by id, done or not, or None."""
        row = self._session.get(OutboxRow, id)
        return None if row is None else _to_item(row)
