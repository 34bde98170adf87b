"""SLA alerts and daily digests: each is claimed once, then sent or retried.

An alert is one (lead, SLA, SLA start, level); a digest is one (business day, owner). The
alerts job claims one and commits before sending, then records the outcome in a second
transaction. A claim that exists already returns False, also after a restart, so nothing
is sent twice by two runs; a crash between sending and recording leaves the claim pending,
to be retried (the only case where a duplicate e-mail is possible). A digest that has
nothing left to say, or whose day has passed, is `cancelled` with the reason.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal, get_args

from sqlmodel import col, select, update

from state._base import Queries, as_literal
from state._types import require_aware, require_aware_columns
from state.exceptions import NotFoundError
from state.tables import AlertSentRow, DigestSentRow

AlertStatus = Literal["pending", "sent", "failed"]
"""`pending` when claimed, then `sent`, or `failed` until a retry succeeds."""

ALERT_STATUSES: tuple[AlertStatus, ...] = get_args(AlertStatus)

DigestStatus = Literal["pending", "sent", "failed", "cancelled"]
"""Like `AlertStatus`; `cancelled` when it is not to be sent any more (`last_error` says why)."""

DIGEST_STATUSES: tuple[DigestStatus, ...] = get_args(DigestStatus)


@dataclass(frozen=True, slots=True)
class AlertClaim:
    """An alert to claim: a breach of `sla`, which started at `sla_started_at`, by the lead
    at escalation `level`, for `recipient` (addresses separated by commas)."""

    lead_key: str
    sla: str
    sla_started_at: datetime
    level: int
    recipient: str


@dataclass(frozen=True, slots=True)
class AlertRecord:
    """One claimed alert and how sending it went."""

    id: int
    lead_key: str
    sla: str
    sla_started_at: datetime
    level: int
    recipient: str
    status: AlertStatus
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


def _to_record(row: AlertSentRow) -> AlertRecord:
    assert row.id is not None
    return AlertRecord(
        id=row.id,
        lead_key=row.lead_key,
        sla=row.sla,
        sla_started_at=row.sla_started_at,
        level=row.level,
        recipient=row.recipient,
        status=as_literal(row.status, ALERT_STATUSES, "alert status"),
        attempts=row.attempts,
        last_error=row.last_error,
        created_at=row.created_at,
        sent_at=row.sent_at,
    )


class AlertQueries(Queries):
    """Claiming SLA alerts and recording how sending them went."""

    def claim_alert(
        self,
        lead_key: str,
        sla: str,
        sla_started_at: datetime,
        level: int,
        recipient: str,
        at: datetime,
    ) -> bool:
        """Claim the alert as pending; False if this (lead, SLA, start, level) was claimed."""
        claim = AlertClaim(lead_key, sla, sla_started_at, level, recipient)
        return self.claim_alerts([claim], at) == 1

    def claim_alerts(self, claims: Iterable[AlertClaim], at: datetime) -> int:
        """`claim_alert` for many alerts, in one statement; how many were claimed now (an
        alert claimed before, or twice among `claims`, is claimed once)."""
        rows = [
            require_aware_columns(
                {
                    "lead_key": claim.lead_key,
                    "sla": claim.sla,
                    "sla_started_at": claim.sla_started_at,
                    "level": claim.level,
                    "recipient": claim.recipient,
                    "status": "pending",
                    "attempts": 0,
                    "created_at": at,
                },
                "alerts_sent",
            )
            for claim in claims
        ]
        unique = ["lead_key", "sla", "sla_started_at", "level"]
        return self._insert_ignoring_conflicts(AlertSentRow, rows, unique)

    def mark_alert_sent(
        self, lead_key: str, sla: str, sla_started_at: datetime, level: int, at: datetime
    ) -> None:
        """Record that the claimed alert was sent at `at`."""
        self._update_alert(
            lead_key,
            sla,
            sla_started_at,
            level,
            status="sent",
            sent_at=require_aware(at, "at"),
            last_error=None,
        )

    def mark_alert_failed(
        self, lead_key: str, sla: str, sla_started_at: datetime, level: int, error: str
    ) -> None:
        """Record a failed attempt to send the claimed alert, with the error, for a retry."""
        self._update_alert(lead_key, sla, sla_started_at, level, status="failed", last_error=error)

    def pending_alerts(self) -> list[AlertRecord]:
        """Alerts claimed but not sent (pending or failed), oldest claim first: to retry."""
        statement = (
            select(AlertSentRow)
            .where(col(AlertSentRow.status) != "sent")
            .order_by(col(AlertSentRow.created_at), col(AlertSentRow.id))
        )
        return [_to_record(row) for row in self._session.exec(statement)]

    def alerts_for(self, lead_key: str) -> list[AlertRecord]:
        """Every alert claimed for one lead, oldest claim first."""
        statement = (
            select(AlertSentRow)
            .where(col(AlertSentRow.lead_key) == lead_key)
            .order_by(col(AlertSentRow.created_at), col(AlertSentRow.id))
        )
        return [_to_record(row) for row in self._session.exec(statement)]

    def _update_alert(
        self,
        lead_key: str,
        sla: str,
        sla_started_at: datetime,
        level: int,
        **values: object,
    ) -> None:
        require_aware(sla_started_at, "sla_started_at")
        result = self._session.exec(
            update(AlertSentRow)
            .where(
                col(AlertSentRow.lead_key) == lead_key,
                col(AlertSentRow.sla) == sla,
                col(AlertSentRow.sla_started_at) == sla_started_at,
                col(AlertSentRow.level) == level,
            )
            .values(attempts=col(AlertSentRow.attempts) + 1, **values)
        )
        if result.rowcount == 0:
            raise NotFoundError("claimed alert", (lead_key, sla, sla_started_at.isoformat(), level))


@dataclass(frozen=True, slots=True)
class DigestRecord:
    """One claimed daily digest and how sending it went."""

    id: int
    day: date
    owner: str
    """The owner's e-mail address, lower case."""
    status: DigestStatus
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


def _to_digest(row: DigestSentRow) -> DigestRecord:
    assert row.id is not None
    return DigestRecord(
        id=row.id,
        day=row.day,
        owner=row.owner,
        status=as_literal(row.status, DIGEST_STATUSES, "digest status"),
        attempts=row.attempts,
        last_error=row.last_error,
        created_at=row.created_at,
        sent_at=row.sent_at,
    )


class DigestQueries(Queries):
    """Claiming each owner's daily digest and recording how sending it went.

    An owner is their e-mail address, compared without regard to case."""

    def claim_digest(self, day: date, owner: str, at: datetime) -> bool:
        """Claim the digest as pending; False if this (day, owner) was claimed already."""
        row = {
            "day": day,
            "owner": _owner_key(owner),
            "status": "pending",
            "attempts": 0,
            "created_at": at,
        }
        require_aware_columns(row, "digests_sent")
        return self._insert_ignoring_conflicts(DigestSentRow, [row], ["day", "owner"]) == 1

    def mark_digest_sent(self, day: date, owner: str, at: datetime) -> None:
        """Record that the claimed digest was sent at `at`."""
        sent_at = require_aware(at, "at")
        self._update_digest(day, owner, True, status="sent", sent_at=sent_at, last_error=None)

    def mark_digest_failed(self, day: date, owner: str, error: str) -> None:
        """Record a failed attempt to send the claimed digest, with the error, for a retry."""
        self._update_digest(day, owner, True, status="failed", last_error=error)

    def cancel_digest(self, day: date, owner: str, reason: str) -> None:
        """Give up the claimed digest without sending it, keeping `reason`."""
        self._update_digest(day, owner, False, status="cancelled", last_error=reason)

    def unsent_digests(self) -> list[DigestRecord]:
        """Digests claimed and neither sent nor cancelled, oldest day first: to retry."""
        statement = (
            select(DigestSentRow)
            .where(col(DigestSentRow.status).in_(("pending", "failed")))
            .order_by(col(DigestSentRow.day), col(DigestSentRow.owner))
        )
        return [_to_digest(row) for row in self._session.exec(statement)]

    def digests_on(self, day: date) -> list[DigestRecord]:
        """Every digest claimed for `day`, by owner."""
        statement = (
            select(DigestSentRow)
            .where(col(DigestSentRow.day) == day)
            .order_by(col(DigestSentRow.owner))
        )
        return [_to_digest(row) for row in self._session.exec(statement)]

    def _update_digest(self, day: date, owner: str, attempted: bool, **values: object) -> None:
        """Set `values` on the claimed digest; `attempted` counts one more sending attempt."""
        counted = col(DigestSentRow.attempts) + (1 if attempted else 0)
        key = _owner_key(owner)
        result = self._session.exec(
            update(DigestSentRow)
            .where(col(DigestSentRow.day) == day, col(DigestSentRow.owner) == key)
            .values(attempts=counted, **values)
        )
        if result.rowcount == 0:
            raise NotFoundError("claimed digest", (day.isoformat(), key))


def _owner_key(owner: str) -> str:
    key = owner.strip().lower()
    if not key:
        raise ValueError("owner must not be empty")
    return key
