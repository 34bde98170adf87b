"""outbox: the latest item of a lead found by index

`ix_outbox_target_operation_lead_key_id`: the feedback job asks, for 500 leads at a time,
for the latest item queued for each (`OutboxQueries.last_payloads`). Without this index the
query walked every item of the target, done ones included, and the outbox keeps those: the
job slowed down as the outbox grew.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_outbox_target_operation_lead_key_id"


def upgrade() -> None:
    """Create the index."""
    op.create_index(INDEX, "outbox", ["target", "operation", "lead_key", "id"])


def downgrade() -> None:
    """Drop it again."""
    op.drop_index(INDEX, table_name="outbox")
