"""The tables, as sqlmodel classes. Rows stay inside `state`; callers get canonical values.

All instants are `UtcDateTime` (aware, UTC). JSON columns use `sqlalchemy.JSON`, which is
`json` on PostgreSQL and text on SQLite. Constraint and index names come from one naming
convention so that migrations name them the same way on every database.

`lead_key` columns are plain indexed strings, not foreign keys: the streams are read in no
guaranteed order (a Salesforce Task can arrive before its Lead), and a foreign-key error
would abort the whole batch's transaction instead of one record.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Index, MetaData, Text, UniqueConstraint
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from state._types import UtcDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)
"""The schema of leadloop's database (its own, not sqlmodel's global one)."""


class Table(SQLModel, registry=registry(metadata=metadata)):
    """Base of every leadloop table: binds them to `metadata`."""


class LeadRow(Table, table=True):
    """One lead: identity, fit, stage, score with reasons, milestones, BANT, assessment."""

    __tablename__ = "leads"

    key: str = Field(primary_key=True)
    email: str | None = Field(default=None, index=True)
    first_name: str | None = None
    last_name: str | None = None
    hubspot_id: str | None = Field(default=None, unique=True)
    salesforce_id: str | None = Field(default=None, unique=True)
    company: str | None = None
    title: str | None = None
    industry: str | None = None
    employees: int | None = None
    country: str | None = None
    source: str | None = None
    campaign: str | None = None
    owner: str | None = None
    stage: str = Field(index=True)
    stage_reason: str | None = Field(default=None, sa_type=Text)
    score_total: int = 0
    score_behaviour: int = 0
    score_fit: int = 0
    score_reasons: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    first_seen: datetime | None = Field(default=None, sa_type=UtcDateTime)
    mql_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    handed_off_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    first_touch_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    sql_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    recycled_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    bant_budget: bool | None = None
    bant_authority: bool | None = None
    bant_need: bool | None = None
    bant_timeline: bool | None = None
    problem_hypothesis: str | None = None
    problem_observed: str | None = None
    solution_hypothesis: str | None = None
    solution_observed: str | None = None
    decision_hypothesis: str | None = None
    decision_observed: str | None = None
    timeline_hypothesis: str | None = None
    timeline_observed: str | None = None
    outcome_won: bool | None = None
    # Salesforce's Opportunity.Amount is currency(16, 2): 18 digits, 2 after the point.
    outcome_amount: Decimal | None = Field(default=None, max_digits=18, decimal_places=2)
    created_at: datetime = Field(sa_type=UtcDateTime)
    updated_at: datetime = Field(sa_type=UtcDateTime, index=True)


class ActivityRow(Table, table=True):
    """One activity; `dedupe_key` is unique so a record read twice is stored once."""

    __tablename__ = "activities"
    __table_args__ = (Index(None, "lead_key", "occurred_at"),)

    id: int | None = Field(default=None, primary_key=True)
    lead_key: str
    kind: str
    occurred_at: datetime = Field(sa_type=UtcDateTime)
    url: str | None = Field(default=None, sa_type=Text)
    name: str | None = None
    campaign: str | None = None
    dedupe_key: str = Field(unique=True)
    stored_at: datetime | None = Field(default=None, sa_type=UtcDateTime, index=True)
    """When leadloop stored it (its clock); None for rows stored before migration 0002."""


class StageChangeRow(Table, table=True):
    """One stage transition with its reasons and the job or system that made it."""

    __tablename__ = "stage_history"
    __table_args__ = (Index(None, "lead_key", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    lead_key: str
    from_stage: str
    to_stage: str
    at: datetime = Field(sa_type=UtcDateTime)
    reasons: list[str] = Field(default_factory=list, sa_type=JSON)
    source: str


class CorrectionRow(Table, table=True):
    """Sales overwrote marketing's hypothesis on one axis."""

    __tablename__ = "corrections"
    __table_args__ = (Index(None, "lead_key", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    lead_key: str
    axis: str
    hypothesis: str | None = None
    observed: str
    at: datetime = Field(sa_type=UtcDateTime)
    source: str


class CursorRow(Table, table=True):
    """Where a stream's incremental read stands, with the ids already seen at that value."""

    __tablename__ = "cursors"

    stream: str = Field(primary_key=True)
    value: str | None = None
    boundary_keys: list[str] = Field(default_factory=list, sa_type=JSON)
    updated_at: datetime = Field(sa_type=UtcDateTime)


class OutboxRow(Table, table=True):
    """One external write waiting to be made, keyed for idempotency."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index(None, "target", "done_at", "next_attempt_at"),
        Index(None, "target", "operation", "lead_key", "id"),  # the latest item of a lead
        CheckConstraint("target IN ('hubspot', 'salesforce')", name="target"),
    )

    id: int | None = Field(default=None, primary_key=True)
    target: str
    operation: str
    lead_key: str = Field(index=True)
    idempotency_key: str = Field(unique=True)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    created_at: datetime = Field(sa_type=UtcDateTime)
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_type=UtcDateTime)
    last_error: str | None = Field(default=None, sa_type=Text)
    done_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class RunRow(Table, table=True):
    """One run of one job, with its counts."""

    __tablename__ = "runs"
    __table_args__ = (
        Index(None, "job", "started_at"),
        CheckConstraint("status IN ('running', 'ok', 'failed')", name="status"),
    )

    id: str = Field(primary_key=True)
    job: str
    started_at: datetime = Field(sa_type=UtcDateTime, index=True)
    finished_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    status: str
    counts: dict[str, int] = Field(default_factory=dict, sa_type=JSON)
    error: str | None = Field(default=None, sa_type=Text)


class AlertSentRow(Table, table=True):
    """One SLA alert; the unique key makes each (lead, SLA, start, level) go out once."""

    __tablename__ = "alerts_sent"
    __table_args__ = (
        UniqueConstraint("lead_key", "sla", "sla_started_at", "level"),
        CheckConstraint("status IN ('pending', 'sent', 'failed')", name="status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    lead_key: str
    sla: str
    sla_started_at: datetime = Field(sa_type=UtcDateTime)
    level: int
    recipient: str
    status: str
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = Field(sa_type=UtcDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class DigestSentRow(Table, table=True):
    """One owner's daily digest; the unique key makes each (day, owner) go out once."""

    __tablename__ = "digests_sent"
    __table_args__ = (
        UniqueConstraint("day", "owner"),
        CheckConstraint("status IN ('pending', 'sent', 'failed', 'cancelled')", name="status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    day: date
    """The business day of the digest, in the calendar's time zone."""
    owner: str
    """The owner's e-mail address, lower case."""
    status: str
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = Field(sa_type=UtcDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class QuarantineRow(Table, table=True):
    """A record a CRM refused, kept with the CRM's own error text for replay."""

    __tablename__ = "quarantine"
    __table_args__ = (Index(None, "system", "operation", "record_key"),)

    id: int | None = Field(default=None, primary_key=True)
    system: str
    operation: str
    record_key: str
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    error_code: str | None = None
    error_message: str = Field(sa_type=Text)
    attempts: int = 1
    first_seen_at: datetime = Field(sa_type=UtcDateTime)
    last_attempt_at: datetime = Field(sa_type=UtcDateTime)
    resolved_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class LockRow(Table, table=True):
    """A named lease, for a later single-active-instance lock."""

    __tablename__ = "locks"

    name: str = Field(primary_key=True)
    holder: str
    lease_until: datetime = Field(sa_type=UtcDateTime)
