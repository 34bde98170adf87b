"""initial schema

Tables: leads, activities, stage_history, corrections, cursors, outbox, runs, alerts_sent,
quarantine and locks.

Revision ID: 0001
Revises:
Create Date: 2026-11-20

Generated with autogenerate, then tidied by hand. Plain SQLAlchemy types only, so this file
never changes when the application code does: instants are ``DateTime(timezone=True)``
(``timestamptz`` on PostgreSQL; SQLite keeps no offset and the application stores UTC),
strings are ``String()`` (``VARCHAR`` without a length) and free text is ``Text()``. Every
constraint and index is named (see ``state.tables.NAMING_CONVENTION``), so later batch
migrations on SQLite and plain ones on PostgreSQL can find them by the same name.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _instant(name: str, *, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _string(name: str, *, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.String(), nullable=nullable)


def _id() -> sa.Column[Any]:
    return sa.Column("id", sa.Integer(), autoincrement=True, nullable=False)


def upgrade() -> None:
    """Create every table and index."""
    op.create_table(
        "leads",
        _string("key"),
        _string("email", nullable=True),
        _string("first_name", nullable=True),
        _string("last_name", nullable=True),
        _string("hubspot_id", nullable=True),
        _string("salesforce_id", nullable=True),
        _string("company", nullable=True),
        _string("title", nullable=True),
        _string("industry", nullable=True),
        sa.Column("employees", sa.Integer(), nullable=True),
        _string("country", nullable=True),
        _string("source", nullable=True),
        _string("campaign", nullable=True),
        _string("owner", nullable=True),
        _string("stage"),
        sa.Column("stage_reason", sa.Text(), nullable=True),
        sa.Column("score_total", sa.Integer(), nullable=False),
        sa.Column("score_behaviour", sa.Integer(), nullable=False),
        sa.Column("score_fit", sa.Integer(), nullable=False),
        sa.Column("score_reasons", sa.JSON(), nullable=False),
        _instant("first_seen", nullable=True),
        _instant("mql_at", nullable=True),
        _instant("handed_off_at", nullable=True),
        _instant("first_touch_at", nullable=True),
        _instant("sql_at", nullable=True),
        _instant("closed_at", nullable=True),
        _instant("recycled_at", nullable=True),
        sa.Column("bant_budget", sa.Boolean(), nullable=True),
        sa.Column("bant_authority", sa.Boolean(), nullable=True),
        sa.Column("bant_need", sa.Boolean(), nullable=True),
        sa.Column("bant_timeline", sa.Boolean(), nullable=True),
        _string("problem_hypothesis", nullable=True),
        _string("problem_observed", nullable=True),
        _string("solution_hypothesis", nullable=True),
        _string("solution_observed", nullable=True),
        _string("decision_hypothesis", nullable=True),
        _string("decision_observed", nullable=True),
        _string("timeline_hypothesis", nullable=True),
        _string("timeline_observed", nullable=True),
        sa.Column("outcome_won", sa.Boolean(), nullable=True),
        sa.Column("outcome_amount", sa.Numeric(precision=18, scale=2), nullable=True),
        _instant("created_at"),
        _instant("updated_at"),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_leads")),
        sa.UniqueConstraint("hubspot_id", name=op.f("uq_leads_hubspot_id")),
        sa.UniqueConstraint("salesforce_id", name=op.f("uq_leads_salesforce_id")),
    )
    op.create_index(op.f("ix_leads_email"), "leads", ["email"])
    op.create_index(op.f("ix_leads_stage"), "leads", ["stage"])

    op.create_table(
        "activities",
        _id(),
        _string("lead_key"),
        _string("kind"),
        _instant("occurred_at"),
        sa.Column("url", sa.Text(), nullable=True),
        _string("name", nullable=True),
        _string("campaign", nullable=True),
        _string("dedupe_key"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activities")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_activities_dedupe_key")),
    )
    op.create_index(
        op.f("ix_activities_lead_key_occurred_at"), "activities", ["lead_key", "occurred_at"]
    )

    op.create_table(
        "stage_history",
        _id(),
        _string("lead_key"),
        _string("from_stage"),
        _string("to_stage"),
        _instant("at"),
        sa.Column("reasons", sa.JSON(), nullable=False),
        _string("source"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stage_history")),
    )
    op.create_index(op.f("ix_stage_history_lead_key_at"), "stage_history", ["lead_key", "at"])

    op.create_table(
        "corrections",
        _id(),
        _string("lead_key"),
        _string("axis"),
        _string("hypothesis", nullable=True),
        _string("observed"),
        _instant("at"),
        _string("source"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_corrections")),
    )
    op.create_index(op.f("ix_corrections_lead_key_at"), "corrections", ["lead_key", "at"])

    op.create_table(
        "cursors",
        _string("stream"),
        _string("value", nullable=True),
        sa.Column("boundary_keys", sa.JSON(), nullable=False),
        _instant("updated_at"),
        sa.PrimaryKeyConstraint("stream", name=op.f("pk_cursors")),
    )

    op.create_table(
        "outbox",
        _id(),
        _string("target"),
        _string("operation"),
        _string("lead_key"),
        _string("idempotency_key"),
        sa.Column("payload", sa.JSON(), nullable=False),
        _instant("created_at"),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _instant("next_attempt_at"),
        sa.Column("last_error", sa.Text(), nullable=True),
        _instant("done_at", nullable=True),
        sa.CheckConstraint("target IN ('hubspot', 'salesforce')", name=op.f("ck_outbox_target")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_outbox_idempotency_key")),
    )
    op.create_index(op.f("ix_outbox_lead_key"), "outbox", ["lead_key"])
    op.create_index(
        op.f("ix_outbox_target_done_at_next_attempt_at"),
        "outbox",
        ["target", "done_at", "next_attempt_at"],
    )

    op.create_table(
        "runs",
        _string("id"),
        _string("job"),
        _instant("started_at"),
        _instant("finished_at", nullable=True),
        _string("status"),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.CheckConstraint("status IN ('running', 'ok', 'failed')", name=op.f("ck_runs_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_runs")),
    )
    op.create_index(op.f("ix_runs_job_started_at"), "runs", ["job", "started_at"])
    op.create_index(op.f("ix_runs_started_at"), "runs", ["started_at"])

    op.create_table(
        "alerts_sent",
        _id(),
        _string("lead_key"),
        _string("sla"),
        _instant("sla_started_at"),
        sa.Column("level", sa.Integer(), nullable=False),
        _string("recipient"),
        _string("status"),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        _instant("created_at"),
        _instant("sent_at", nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'sent', 'failed')", name=op.f("ck_alerts_sent_status")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts_sent")),
        sa.UniqueConstraint(
            "lead_key",
            "sla",
            "sla_started_at",
            "level",
            name=op.f("uq_alerts_sent_lead_key_sla_sla_started_at_level"),
        ),
    )

    op.create_table(
        "quarantine",
        _id(),
        _string("system"),
        _string("operation"),
        _string("record_key"),
        sa.Column("payload", sa.JSON(), nullable=False),
        _string("error_code", nullable=True),
        sa.Column("error_message", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _instant("first_seen_at"),
        _instant("last_attempt_at"),
        _instant("resolved_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantine")),
    )
    op.create_index(
        op.f("ix_quarantine_system_operation_record_key"),
        "quarantine",
        ["system", "operation", "record_key"],
    )

    op.create_table(
        "locks",
        _string("name"),
        _string("holder"),
        _instant("lease_until"),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_locks")),
    )


def downgrade() -> None:
    """Drop every table (their indexes go with them)."""
    for table in (
        "locks",
        "quarantine",
        "alerts_sent",
        "runs",
        "outbox",
        "cursors",
        "corrections",
        "stage_history",
        "activities",
        "leads",
    ):
        op.drop_table(table)
