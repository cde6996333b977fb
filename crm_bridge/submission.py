"""What a conversation hands to the store: who is talking, what they said, how they scored."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

# Slots whose answers identify a person: dropped when the visitor refuses consent.
CONTACT_SLOTS = ("person_name", "email", "company")


@dataclass(frozen=True)
class ConversationRef:
    """One conversation, as its channel identifies it."""

    sender_id: str
    channel: str  # "rest", "socketio", "slack", ...


@dataclass(frozen=True)
class Answer:
    """The visitor's latest answer to one slot."""

    slot: str  # need, budget, timeline, authority, person_name, email, company, consent
    said: str | None  # the visitor's raw words
    value: Mapping[str, Any]  # normalised fields for this slot, JSON-serialisable ({} if declined)


@dataclass(frozen=True)
class LeadFields:
    """Lead fields learned in one conversation; None means not known from it."""

    need: str | None = None
    need_category: str | None = None
    budget_min: float | None = None
    budget_max: float | None = None
    budget_currency: str | None = None
    budget_period: str | None = None
    budget_annual: float | None = None
    timeline_months: float | None = None
    authority: str | None = None
    job_title: str | None = None
    person_name: str | None = None
    email: str | None = None
    email_is_business: bool | None = None
    company: str | None = None
    consent: bool | None = None
    consent_at: datetime | None = None


@dataclass(frozen=True)
class TranscriptLine:
    """One message of the conversation."""

    speaker: str  # "visitor" | "bot"
    text: str
    at: datetime


@dataclass(frozen=True)
class Scoring:
    """A qualification: the score, its reasons and the classification it leads to."""

    score: int
    breakdown: Sequence[Mapping[str, Any]]  # [{"dimension": "budget", "points": 30, ...}]
    temperature: str  # hot / warm / cold
    stage: str  # lead / prospect / potential_customer
    rules_version: str
