"""change tracking for the jobs

`activities.stored_at` (when leadloop stored the activity, on its own clock) and an index on
`leads.updated_at`, so the score job rescores only the leads touched since its last run and
the feedback job writes back only the leads changed since its last run.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add `activities.stored_at` with its index and index `leads.updated_at`."""
    with op.batch_alter_table("activities") as batch:
        batch.add_column(sa.Column("stored_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index(op.f("ix_activities_stored_at"), ["stored_at"])
    op.create_index(op.f("ix_leads_updated_at"), "leads", ["updated_at"])


def downgrade() -> None:
    """Drop them again."""
    op.drop_index(op.f("ix_leads_updated_at"), table_name="leads")
    with op.batch_alter_table("activities") as batch:
        batch.drop_index(op.f("ix_activities_stored_at"))
        batch.drop_column("stored_at")
