"""The CRM tables: leads, the conversations that fed them, answers, score history, handoffs."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, validates

from crm_bridge import transcripts
from crm_bridge.timestamps import UTCDateTime, utc_now

STAGES: Final = ("lead", "prospect", "potential_customer", "customer", "disqualified")
# The sales funnel's levels, in order; disqualified is outside it.
FUNNEL_STAGES: Final = ("lead", "prospect", "potential_customer", "customer")
# Stages only a sales rep sets; re-scoring never overwrites them.
REP_STAGES: Final = ("customer", "disqualified")
TEMPERATURES: Final = ("cold", "warm", "hot")
HANDOFF_REASONS: Final = ("visitor_request", "hot_lead")
HANDOFF_STATUSES: Final = ("pending", "claimed", "accepted", "rejected")
OPEN_HANDOFF_STATUSES: Final = ("pending", "claimed", "accepted")
ROLES: Final = ("rep", "admin")
# Where a lead came from; filled from the first page the visitor saw (or the channel).
LEAD_SOURCES: Final = ("direct", "search", "referral", "social", "campaign", "slack")
OUTBOX_STATUSES: Final = ("pending", "sending", "sent", "failed")
FOLLOW_UP_STATUSES: Final = ("open", "done")

NAMING_CONVENTION: Final = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# JSONB on PostgreSQL so the review app and reports can query inside it.
JSONDocument = JSON().with_variant(JSONB(), "postgresql")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    """SQL that limits a column to a fixed set of words."""
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


def further(reached: str | None, stage: str | None) -> str:
    """The further of two stages along the funnel; a stage outside it counts as its first."""
    levels = [s if s in FUNNEL_STAGES else FUNNEL_STAGES[0] for s in (reached, stage)]
    return max(levels, key=FUNNEL_STAGES.index)


class Base(DeclarativeBase):
    """Declarative base with predictable constraint names for migrations."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Lead(Base):
    """One person (one email when known) and what leadbot learned and scored about them."""

    __tablename__ = "leads"
    __table_args__ = (
        CheckConstraint(_one_of("stage", STAGES), name="stage"),
        CheckConstraint(_one_of("temperature", TEMPERATURES), name="temperature"),
        CheckConstraint(_one_of("source", LEAD_SOURCES), name="source"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    need: Mapped[str | None] = mapped_column(Text)
    need_category: Mapped[str | None] = mapped_column(String(64))
    budget_min: Mapped[float | None] = mapped_column(Float)
    budget_max: Mapped[float | None] = mapped_column(Float)
    budget_currency: Mapped[str | None] = mapped_column(String(3))
    budget_period: Mapped[str | None] = mapped_column(String(16))
    budget_annual: Mapped[float | None] = mapped_column(Float)
    timeline_months: Mapped[float | None] = mapped_column(Float)
    authority: Mapped[str | None] = mapped_column(String(32))
    job_title: Mapped[str | None] = mapped_column(String(200))
    person_name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320), unique=True)
    email_is_business: Mapped[bool | None] = mapped_column(Boolean)
    company: Mapped[str | None] = mapped_column(String(200))
    consent: Mapped[bool | None] = mapped_column(Boolean)
    consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    score: Mapped[int | None] = mapped_column(Integer)
    temperature: Mapped[str | None] = mapped_column(String(16))
    stage: Mapped[str] = mapped_column(String(32), default="lead")
    # The furthest funnel stage the lead ever reached (now or in its history): what the funnel
    # counts. Kept by every stage change in the same unit of work, so the funnel reads one
    # column instead of grouping the whole history.
    furthest_stage: Mapped[str] = mapped_column(String(32), default="lead", server_default="lead")
    breakdown: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONDocument)
    rules_version: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str | None] = mapped_column(String(16))
    # The sales rep who owns the lead: whoever claimed its handoff.
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    # Indexed: the queue lists leads most recently active first, a page at a time.
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utc_now, onupdate=utc_now, index=True
    )

    owner: Mapped[User | None] = relationship()
    conversations: Mapped[list[Conversation]] = relationship(
        back_populates="lead", order_by="Conversation.id"
    )
    history: Mapped[list[QualificationHistory]] = relationship(
        back_populates="lead", order_by="QualificationHistory.id", cascade="all, delete-orphan"
    )
    handoffs: Mapped[list[Handoff]] = relationship(
        back_populates="lead", order_by="Handoff.id", cascade="all, delete-orphan"
    )

    @validates("stage")
    def _reach(self, _: str, stage: str) -> str:
        self.furthest_stage = further(self.furthest_stage, stage)
        return stage


class Conversation(Base):
    """One chat of one visitor on one channel, identified by the channel's sender id."""

    __tablename__ = "conversations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sender_id: Mapped[str] = mapped_column(String(255), unique=True)
    channel: Mapped[str] = mapped_column(String(64))
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    # What the visitor said in this conversation about consent; None until asked.
    consent: Mapped[bool | None] = mapped_column(Boolean)
    transcript: Mapped[list[dict[str, Any]]] = mapped_column(JSONDocument, default=list)
    # The first page the visitor saw, where they came from, and its UTM parameters.
    page_url: Mapped[str | None] = mapped_column(Text)
    referrer: Mapped[str | None] = mapped_column(Text)
    utm: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)
    # The sales rep writing to the visitor in this chat, while the bot stays quiet.
    held_by: Mapped[str | None] = mapped_column(String(320))
    held_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now, onupdate=utc_now)

    lead: Mapped[Lead] = relationship(back_populates="conversations")
    answers: Mapped[list[LeadAnswer]] = relationship(
        back_populates="conversation", order_by="LeadAnswer.id", cascade="all, delete-orphan"
    )

    @validates("transcript")
    def _bounded(self, _: str, lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
        # Whoever writes it (the bot's turns, the review app), the store keeps it bounded.
        return transcripts.bounded(lines)


class LeadAnswer(Base):
    """The latest answer a conversation gave for one slot: raw words and normalised value."""

    __tablename__ = "lead_answers"
    __table_args__ = (UniqueConstraint("conversation_id", "slot"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    slot: Mapped[str] = mapped_column(String(64))
    said: Mapped[str | None] = mapped_column(Text)
    value: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)

    conversation: Mapped[Conversation] = relationship(back_populates="answers")


class QualificationHistory(Base):
    """One change of a lead's score, temperature or stage, with the rules that produced it."""

    __tablename__ = "qualification_history"
    __table_args__ = (
        CheckConstraint(_one_of("stage", STAGES), name="stage"),
        CheckConstraint(_one_of("temperature", TEMPERATURES), name="temperature"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    score: Mapped[int] = mapped_column(Integer)
    breakdown: Mapped[list[dict[str, Any]]] = mapped_column(JSONDocument)
    temperature: Mapped[str] = mapped_column(String(16))
    stage: Mapped[str] = mapped_column(String(32))
    rules_version: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)

    lead: Mapped[Lead] = relationship(back_populates="history")

    @validates("lead", "stage")
    def _reached(self, key: str, value: Any) -> Any:
        # A row moved to another lead (a returning visitor's leads merged) brings its stage.
        lead, stage = (value, self.stage) if key == "lead" else (self.lead, value)
        if lead is not None and stage is not None:
            lead.furthest_stage = further(lead.furthest_stage, stage)
        return value


class Handoff(Base):
    """A request that a sales rep take over a lead, and how far the rep got with it."""

    __tablename__ = "handoffs"
    __table_args__ = (
        CheckConstraint(_one_of("reason", HANDOFF_REASONS), name="reason"),
        CheckConstraint(_one_of("status", HANDOFF_STATUSES), name="status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="SET NULL")
    )
    reason: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reject_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now, onupdate=utc_now)

    lead: Mapped[Lead] = relationship(back_populates="handoffs")
    alert: Mapped[OutboxMessage | None] = relationship(viewonly=True)


class User(Base):
    """A sales rep or an admin of the review app; the password is kept as an argon2 hash."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint(_one_of("role", ROLES), name="role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="rep")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LeadEvent(Base):
    """Who did what to a lead and when: claims, decisions, stage changes, replies, follow-ups."""

    __tablename__ = "lead_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    handoff_id: Mapped[int | None] = mapped_column(
        ForeignKey("handoffs.id", ondelete="SET NULL"), index=True
    )
    actor: Mapped[str] = mapped_column(String(320))  # a user's email, or "bot"
    kind: Mapped[str] = mapped_column(String(32))
    detail: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


class LeadNote(Base):
    """A sales rep's note on a lead."""

    __tablename__ = "lead_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    author: Mapped[str] = mapped_column(String(320))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


class OutboxMessage(Base):
    """A message to deliver outside the store, written in the same transaction as what it
    announces and delivered later by a worker: a Slack alert (one per handoff), or a lead's
    latest state for one CRM (one per lead and destination, re-armed by every change)."""

    __tablename__ = "outbox"
    __table_args__ = (
        CheckConstraint(_one_of("status", OUTBOX_STATUSES), name="status"),
        UniqueConstraint("kind", "handoff_id"),
        UniqueConstraint("kind", "lead_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    handoff_id: Mapped[int | None] = mapped_column(ForeignKey("handoffs.id", ondelete="CASCADE"))
    lead_id: Mapped[int | None] = mapped_column(
        ForeignKey("leads.id", ondelete="CASCADE"), index=True
    )
    # Bumped by every change it announces; a delivery counts only for the revision it sent.
    revision: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now, index=True)
    # While a worker sends it; a worker that died mid-way lets another try after this moment.
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class FollowUp(Base):
    """A task for a sales rep to get back to a warm lead by a due date (step n of a cadence)."""

    __tablename__ = "follow_ups"
    __table_args__ = (
        CheckConstraint(_one_of("status", FOLLOW_UP_STATUSES), name="status"),
        UniqueConstraint("lead_id", "step"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    step: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    status: Mapped[str] = mapped_column(String(16), default="open")
    snoozes: Mapped[int] = mapped_column(Integer, default=0)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_by: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)

    lead: Mapped[Lead] = relationship()
