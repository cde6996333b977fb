"""CRM sync: outbox messages keyed by lead (one per lead and destination), with a revision.

Revision ID: 0004_crm_sync
Revises: 0002_review_app
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_crm_sync"
down_revision: str | None = "0002_review_app"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Give outbox messages a lead, unique per kind, and a revision bumped by each change."""
    with op.batch_alter_table("outbox") as outbox:
        outbox.add_column(sa.Column("lead_id", sa.Integer(), nullable=True))
        outbox.add_column(sa.Column("revision", sa.Integer(), server_default="1", nullable=False))
        outbox.create_foreign_key(
            op.f("fk_outbox_lead_id_leads"), "leads", ["lead_id"], ["id"], ondelete="CASCADE"
        )
        outbox.create_unique_constraint(op.f("uq_outbox_kind_lead_id"), ["kind", "lead_id"])
        outbox.create_index(op.f("ix_outbox_lead_id"), ["lead_id"])


def downgrade() -> None:
    """Drop the outbox's lead messages and their columns."""
    op.execute("DELETE FROM outbox WHERE lead_id IS NOT NULL")
    with op.batch_alter_table("outbox") as outbox:
        outbox.drop_index(op.f("ix_outbox_lead_id"))
        outbox.drop_constraint(op.f("uq_outbox_kind_lead_id"), type_="unique")
        outbox.drop_constraint(op.f("fk_outbox_lead_id_leads"), type_="foreignkey")
        outbox.drop_column("revision")
        outbox.drop_column("lead_id")
