"""Initial CRM store: leads, conversations, answers, qualification history, handoffs.

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001_initial"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the column types: a migration must not change when the models do.
MOMENT = sa.DateTime(timezone=True)
DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
STAGE_CHECK = "stage IN ('lead', 'prospect', 'potential_customer', 'customer', 'disqualified')"
TEMPERATURE_CHECK = "temperature IN ('cold', 'warm', 'hot')"


def upgrade() -> None:
    """Create every table of the CRM store."""
    op.create_table(
        "leads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("need", sa.Text(), nullable=True),
        sa.Column("need_category", sa.String(length=64), nullable=True),
        sa.Column("budget_min", sa.Float(), nullable=True),
        sa.Column("budget_max", sa.Float(), nullable=True),
        sa.Column("budget_currency", sa.String(length=3), nullable=True),
        sa.Column("budget_period", sa.String(length=16), nullable=True),
        sa.Column("budget_annual", sa.Float(), nullable=True),
        sa.Column("timeline_months", sa.Float(), nullable=True),
        sa.Column("authority", sa.String(length=32), nullable=True),
        sa.Column("job_title", sa.String(length=200), nullable=True),
        sa.Column("person_name", sa.String(length=200), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("email_is_business", sa.Boolean(), nullable=True),
        sa.Column("company", sa.String(length=200), nullable=True),
        sa.Column("consent", sa.Boolean(), nullable=True),
        sa.Column("consent_at", MOMENT, nullable=True),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("temperature", sa.String(length=16), nullable=True),
        sa.Column("stage", sa.String(length=32), nullable=False),
        sa.Column("breakdown", DOCUMENT, nullable=True),
        sa.Column("rules_version", sa.String(length=64), nullable=True),
        sa.Column("created_at", MOMENT, nullable=False),
        sa.Column("updated_at", MOMENT, nullable=False),
        sa.CheckConstraint(STAGE_CHECK, name=op.f("ck_leads_stage")),
        sa.CheckConstraint(TEMPERATURE_CHECK, name=op.f("ck_leads_temperature")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_leads")),
        sa.UniqueConstraint("email", name=op.f("uq_leads_email")),
    )
    op.create_table(
        "conversations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sender_id", sa.String(length=255), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("consent", sa.Boolean(), nullable=True),
        sa.Column("transcript", DOCUMENT, nullable=False),
        sa.Column("started_at", MOMENT, nullable=False),
        sa.Column("updated_at", MOMENT, nullable=False),
        sa.ForeignKeyConstraint(
            ["lead_id"],
            ["leads.id"],
            name=op.f("fk_conversations_lead_id_leads"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversations")),
        sa.UniqueConstraint("sender_id", name=op.f("uq_conversations_sender_id")),
    )
    op.create_index(op.f("ix_conversations_lead_id"), "conversations", ["lead_id"])
    op.create_table(
        "qualification_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("breakdown", DOCUMENT, nullable=False),
        sa.Column("temperature", sa.String(length=16), nullable=False),
        sa.Column("stage", sa.String(length=32), nullable=False),
        sa.Column("rules_version", sa.String(length=64), nullable=False),
        sa.Column("created_at", MOMENT, nullable=False),
        sa.CheckConstraint(STAGE_CHECK, name=op.f("ck_qualification_history_stage")),
        sa.CheckConstraint(TEMPERATURE_CHECK, name=op.f("ck_qualification_history_temperature")),
        sa.ForeignKeyConstraint(
            ["lead_id"],
            ["leads.id"],
            name=op.f("fk_qualification_history_lead_id_leads"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qualification_history")),
    )
    op.create_index(op.f("ix_qualification_history_lead_id"), "qualification_history", ["lead_id"])
    op.create_table(
        "handoffs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("claimed_by", sa.String(length=200), nullable=True),
        sa.Column("created_at", MOMENT, nullable=False),
        sa.Column("updated_at", MOMENT, nullable=False),
        sa.CheckConstraint(
            "reason IN ('visitor_request', 'hot_lead')", name=op.f("ck_handoffs_reason")
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'claimed', 'accepted', 'rejected')",
            name=op.f("ck_handoffs_status"),
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_handoffs_conversation_id_conversations"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["leads.id"], name=op.f("fk_handoffs_lead_id_leads"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handoffs")),
    )
    op.create_index(op.f("ix_handoffs_lead_id"), "handoffs", ["lead_id"])
    op.create_table(
        "lead_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("slot", sa.String(length=64), nullable=False),
        sa.Column("said", sa.Text(), nullable=True),
        sa.Column("value", DOCUMENT, nullable=False),
        sa.Column("answered_at", MOMENT, nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_lead_answers_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lead_answers")),
        sa.UniqueConstraint(
            "conversation_id", "slot", name=op.f("uq_lead_answers_conversation_id_slot")
        ),
    )


def downgrade() -> None:
    """Drop every table of the CRM store."""
    op.drop_table("lead_answers")
    op.drop_table("handoffs")
    op.drop_table("qualification_history")
    op.drop_table("conversations")
    op.drop_table("leads")
