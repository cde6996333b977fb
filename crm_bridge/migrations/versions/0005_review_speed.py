"""Review pages at scale: each lead's furthest funnel stage, and leads indexed by last activity.

The funnel counted the furthest stage of every lead by grouping the whole stage history on
each view; the lead now keeps it. Existing leads get it from their stage and their history.

Revision ID: 0005_review_speed
Revises: 0004_crm_sync
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_review_speed"
down_revision: str | None = "0004_crm_sync"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copy of the funnel's levels, in order: a migration must not change when the models do.
FUNNEL_STAGES = ("lead", "prospect", "potential_customer", "customer")


def upgrade() -> None:
    """Add leads.furthest_stage (filled for existing leads) and an index on leads.updated_at."""
    # Not batch mode: SQLite adds a column with a constant default in place, while a batch
    # rebuild drops the old leads table, and with foreign keys on that deletes every row that
    # refers to a lead (conversations, history, handoffs).
    op.add_column(
        "leads",
        sa.Column("furthest_stage", sa.String(length=32), server_default="lead", nullable=False),
    )
    op.create_index(op.f("ix_leads_updated_at"), "leads", ["updated_at"])
    lead = sa.table("leads", sa.column("id"), sa.column("stage"), sa.column("furthest_stage"))
    history = sa.table("qualification_history", sa.column("lead_id"), sa.column("stage"))
    # Level by level, lowest first: a lead ends at the furthest level it or its history holds.
    for level in FUNNEL_STAGES[1:]:
        reached = (
            sa.select(history.c.lead_id)
            .where(history.c.lead_id == lead.c.id, history.c.stage == level)
            .exists()
        )
        op.execute(
            lead.update().where(sa.or_(lead.c.stage == level, reached)).values(furthest_stage=level)
        )


def downgrade() -> None:
    """Drop leads.furthest_stage and the index on leads.updated_at."""
    op.drop_index(op.f("ix_leads_updated_at"), table_name="leads")
    # In place, not batch mode (see upgrade); SQLite drops a column in place since 3.35.
    op.execute("ALTER TABLE leads DROP COLUMN furthest_stage")
