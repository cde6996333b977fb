"""Leads, handoffs and accounts written through the lead service, as the bot and `leadbot users
add` write them, for the review app's tests."""

from __future__ import annotations

import itertools
from datetime import datetime, timezone
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from crm_bridge import accounts, leads
from crm_bridge.models import User

PASSWORD = "correct horse battery"
_senders = itertools.count(1)

HOT = leads.Scoring(
    score=100,
    breakdown=[
        {"dimension": "budget", "points": 30, "reason": "Budget of $50,000 a year: 20,000 or more"},
        {
            "dimension": "timeline",
            "points": 25,
            "reason": "Buying in about 1 week: within 3 months",
        },
        {"dimension": "authority", "points": 20, "reason": "Visitor makes the buying decision"},
        {"dimension": "need", "points": 25, "reason": "Need matches the CRM offering"},
    ],
    temperature="hot",
    stage="potential_customer",
    rules_version="test",
)
WARM = leads.Scoring(
    score=45,
    breakdown=[{"dimension": "budget", "points": 20, "reason": "Budget of $5,000 a year"}],
    temperature="warm",
    stage="prospect",
    rules_version="test",
)
COLD = leads.Scoring(
    score=10,
    breakdown=[{"dimension": "need", "points": 10, "reason": "Need stated, matches no offering"}],
    temperature="cold",
    stage="lead",
    rules_version="test",
)


def add_user(sessions: sessionmaker[Session], email: str, role: str = "rep") -> User:
    with sessions.begin() as session:
        return accounts.add_user(session, email, PASSWORD, role)


def make_lead(
    sessions: sessionmaker[Session],
    *,
    name: str = "Dana Reyes",
    email: str | None = None,
    company: str = "Acme",
    need: str = "we lose track of deals",
    consent: bool | None = True,
    scoring: leads.Scoring | None = HOT,
    handoff: str | None = "hot_lead",
    channel: str = "rest",
    sender_id: str | None = None,
    extra_answers: list[leads.Answer] | None = None,
) -> dict[str, Any]:
    """A lead as a finished conversation leaves it; returns ids and the sender id."""
    number = next(_senders)
    sender = sender_id or f"visitor-{number}"
    said_at = datetime(2026, 11, 3, 9, 30, tzinfo=timezone.utc)
    contact = consent is True
    fields = leads.LeadFields(
        need=need,
        need_category="crm",
        budget_min=50000,
        budget_max=50000,
        budget_currency="USD",
        budget_period="yearly",
        budget_annual=50000,
        timeline_months=0.25,
        authority="decision_maker",
        person_name=name if contact else None,
        email=(email or f"person{number}@example.com") if contact else None,
        email_is_business=True if contact else None,
        company=company if contact else None,
        consent=consent,
        consent_at=said_at if consent is not None else None,
    )
    answers = [
        leads.Answer("need", need, {"need": need, "need_category": "crm"}),
        leads.Answer("budget", "around $50k a year", {"budget_min": 50000, "budget_max": 50000}),
        *(extra_answers or []),
    ]
    if consent is not None:
        answers.append(leads.Answer("consent", "yes" if consent else "no", {"consent": consent}))
    if contact:
        answers.append(leads.Answer("person_name", name, {"person_name": name}))
    transcript = [
        leads.TranscriptLine("visitor", need, said_at),
        leads.TranscriptLine("bot", "Thanks! A rep will reply here.", said_at),
    ]
    ref = leads.ConversationRef(sender, channel)
    with sessions.begin() as session:
        if scoring is None:
            lead = leads.save_answers(session, ref, fields, answers, transcript)
        else:
            lead = leads.record_qualification(session, ref, fields, answers, transcript, scoring)
        handoff_id = None
        if handoff:
            handoff_id = leads.request_handoff(
                session, ref, handoff, fields, answers, transcript
            ).id
        return {"lead_id": lead.id, "handoff_id": handoff_id, "sender_id": sender}
