"""The sales reps' review app: accounts, lead owners and sources, handoff decisions, the audit
of who did what, notes, the outbox of Slack alerts, follow-ups; where a visit came from.

Revision ID: 0002_review_app
Revises: 0001_initial
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002_review_app"
down_revision: str | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the column types: a migration must not change when the models do.
MOMENT = sa.DateTime(timezone=True)
DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
SOURCE_CHECK = "source IN ('direct', 'search', 'referral', 'social', 'campaign', 'slack')"


def upgrade() -> None:
    """Create the review app's tables and add its columns to leads, conversations, handoffs."""
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", MOMENT, nullable=False),
        sa.Column("last_login_at", MOMENT, nullable=True),
        sa.CheckConstraint("role IN ('rep', 'admin')", name=op.f("ck_users_role")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )
    with op.batch_alter_table("leads") as leads:
        leads.add_column(sa.Column("source", sa.String(length=16), nullable=True))
        leads.add_column(sa.Column("owner_id", sa.Integer(), nullable=True))
        leads.create_check_constraint(op.f("ck_leads_source"), SOURCE_CHECK)
        leads.create_foreign_key(
            op.f("fk_leads_owner_id_users"), "users", ["owner_id"], ["id"], ondelete="SET NULL"
        )
    with op.batch_alter_table("conversations") as conversations:
        conversations.add_column(sa.Column("page_url", sa.Text(), nullable=True))
        conversations.add_column(sa.Column("referrer", sa.Text(), nullable=True))
        conversations.add_column(sa.Column("utm", DOCUMENT, nullable=True))
        conversations.add_column(sa.Column("held_by", sa.String(length=320), nullable=True))
        conversations.add_column(sa.Column("held_since", MOMENT, nullable=True))
    with op.batch_alter_table("handoffs") as handoffs:
        handoffs.add_column(sa.Column("claimed_at", MOMENT, nullable=True))
        handoffs.add_column(sa.Column("decided_at", MOMENT, nullable=True))
        handoffs.add_column(sa.Column("reject_reason", sa.Text(), nullable=True))
    op.create_index(op.f("ix_handoffs_status"), "handoffs", ["status"])
    op.create_table(
        "lead_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("handoff_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=320), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("detail", DOCUMENT, nullable=False),
        sa.Column("created_at", MOMENT, nullable=False),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["leads.id"], name=op.f("fk_lead_events_lead_id_leads"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["handoff_id"],
            ["handoffs.id"],
            name=op.f("fk_lead_events_handoff_id_handoffs"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lead_events")),
    )
    op.create_index(op.f("ix_lead_events_lead_id"), "lead_events", ["lead_id"])
    op.create_index(op.f("ix_lead_events_handoff_id"), "lead_events", ["handoff_id"])
    op.create_table(
        "lead_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(length=320), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", MOMENT, nullable=False),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["leads.id"], name=op.f("fk_lead_notes_lead_id_leads"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lead_notes")),
    )
    op.create_index(op.f("ix_lead_notes_lead_id"), "lead_notes", ["lead_id"])
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("handoff_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", MOMENT, nullable=False),
        sa.Column("lease_until", MOMENT, nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("created_at", MOMENT, nullable=False),
        sa.Column("sent_at", MOMENT, nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'sending', 'sent', 'failed')", name=op.f("ck_outbox_status")
        ),
        sa.ForeignKeyConstraint(
            ["handoff_id"],
            ["handoffs.id"],
            name=op.f("fk_outbox_handoff_id_handoffs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("kind", "handoff_id", name=op.f("uq_outbox_kind_handoff_id")),
    )
    op.create_index(op.f("ix_outbox_next_attempt_at"), "outbox", ["next_attempt_at"])
    op.create_table(
        "follow_ups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("due_at", MOMENT, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("snoozes", sa.Integer(), nullable=False),
        sa.Column("done_at", MOMENT, nullable=True),
        sa.Column("done_by", sa.String(length=320), nullable=True),
        sa.Column("created_at", MOMENT, nullable=False),
        sa.CheckConstraint("status IN ('open', 'done')", name=op.f("ck_follow_ups_status")),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["leads.id"], name=op.f("fk_follow_ups_lead_id_leads"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follow_ups")),
        sa.UniqueConstraint("lead_id", "step", name=op.f("uq_follow_ups_lead_id_step")),
    )
    op.create_index(op.f("ix_follow_ups_lead_id"), "follow_ups", ["lead_id"])
    op.create_index(op.f("ix_follow_ups_due_at"), "follow_ups", ["due_at"])


def downgrade() -> None:
    """Drop the review app's tables and columns."""
    op.drop_table("follow_ups")
    op.drop_table("outbox")
    op.drop_table("lead_notes")
    op.drop_table("lead_events")
    op.drop_index(op.f("ix_handoffs_status"), table_name="handoffs")
    with op.batch_alter_table("handoffs") as handoffs:
        handoffs.drop_column("reject_reason")
        handoffs.drop_column("decided_at")
        handoffs.drop_column("claimed_at")
    with op.batch_alter_table("conversations") as conversations:
        for column in ("held_since", "held_by", "utm", "referrer", "page_url"):
            conversations.drop_column(column)
    with op.batch_alter_table("leads") as leads:
        leads.drop_constraint(op.f("fk_leads_owner_id_users"), type_="foreignkey")
        leads.drop_constraint(op.f("ck_leads_source"), type_="check")
        leads.drop_column("owner_id")
        leads.drop_column("source")
    op.drop_table("users")
