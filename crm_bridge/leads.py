"""The lead service: turn what a conversation learned into one lead per person.

Every function takes a Session from its caller and never commits: the caller owns the unit
of work (``with session_factory.begin() as session:``), so all of a visitor's answers, the
score and its history row commit together or not at all.

Concurrency: two transactions that create the same new sender id or email at once collide on
a unique constraint, and the later one fails with ``IntegrityError`` (on SQLite, where writers
queue on ``BEGIN IMMEDIATE``, they never collide). The caller must then roll back and run the
whole unit of work again; ``crm_bridge.retry.with_retries`` does exactly that, and the second
run finds the row the first one committed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from dataclasses import fields as dataclass_fields
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session, selectinload

from crm_bridge import lifecycle, outbox
from crm_bridge.models import (
    HANDOFF_REASONS,
    LEAD_SOURCES,
    OPEN_HANDOFF_STATUSES,
    REP_STAGES,
    STAGES,
    TEMPERATURES,
    Conversation,
    Handoff,
    Lead,
    LeadAnswer,
    LeadEvent,
    LeadNote,
    QualificationHistory,
)
from crm_bridge.record import lead_record
from crm_bridge.submission import (
    CONTACT_SLOTS,
    Answer,
    ConversationRef,
    LeadFields,
    Scoring,
    TranscriptLine,
)
from crm_bridge.timestamps import as_utc, utc_now

__all__ = [
    "Answer",
    "AnswersOnFile",
    "ConversationRef",
    "LeadFields",
    "Scoring",
    "TranscriptLine",
    "answers_on_file",
    "lead_for_sender",
    "record_for_sender",
    "lead_record",
    "list_leads",
    "note_visit",
    "record_qualification",
    "request_handoff",
    "save_answers",
]

# Fields that identify a person: kept only while some conversation of the lead consents.
CONTACT_FIELDS: Final = ("person_name", "email", "email_is_business", "company")
_CONSENT_FIELDS: Final = ("consent", "consent_at")
WITHHELD: Final = "[withheld]"
# The lead event kept when a visitor changes an answer they gave before.
ANSWER_CHANGED: Final = "answer_changed"


@dataclass(frozen=True)
class AnswersOnFile:
    """What the store already knows of a person, as the conversation's slots hold it.

    Attributes:
        answers: the latest answer per slot over all the lead's conversations, as a slot
            value (``{"said": ..., **normalised}``); contact answers only where kept.
        qualified: the lead was scored at least once.
        person_name: the name to greet them by, when kept.
        sender_ids: the conversations linked to the lead.
    """

    answers: dict[str, dict[str, Any]]
    qualified: bool
    person_name: str | None
    sender_ids: frozenset[str]


def save_answers(
    session: Session,
    conversation: ConversationRef,
    fields: LeadFields,
    answers: Sequence[Answer],
    transcript: Sequence[TranscriptLine],
) -> Lead:
    """Store what a conversation learned and return the lead it belongs to.

    The conversation is created on first sight. A known email joins the lead that already has
    it (a returning visitor on any channel) and folds in the anonymous lead this conversation
    made earlier; otherwise the conversation keeps its own lead, created when needed. Given
    fields overwrite, None fields never erase. ``fields.consent is False`` clears the lead's
    contact data unless another of its conversations consented. Answers are upserted per slot
    and the transcript is replaced as a whole.

    Args:
        session: the caller's session; flushed, never committed.
        conversation: which conversation is talking.
        fields: the lead fields known from this conversation.
        answers: the latest answer per slot.
        transcript: the whole conversation so far.

    Returns:
        The lead, flushed (it has an id), with its conversations and handoffs loaded.
    """
    lead, _ = _store_submission(session, conversation, fields, answers, transcript)
    return lead


def record_qualification(
    session: Session,
    conversation: ConversationRef,
    fields: LeadFields,
    answers: Sequence[Answer],
    transcript: Sequence[TranscriptLine],
    scoring: Scoring,
) -> Lead:
    """Save like `save_answers`, then set the lead's score and keep a history of its changes.

    A history row is added only when score, temperature, stage, breakdown or rules version
    differ from the lead's latest one, so submitting the same qualification twice is harmless.
    A stage a sales rep set (customer, disqualified) is kept: re-scoring updates the score and
    temperature but never moves such a lead back into the funnel.

    Raises:
        ValueError: the scoring names an unknown stage or temperature.
    """
    if scoring.stage not in STAGES or scoring.temperature not in TEMPERATURES:
        raise ValueError(
            f"unknown stage or temperature: {scoring.stage!r}, {scoring.temperature!r}"
        )
    lead, _ = _store_submission(session, conversation, fields, answers, transcript)
    lead.score = scoring.score
    lead.temperature = scoring.temperature
    lead.stage = lead.stage if lead.stage in REP_STAGES else scoring.stage
    lead.breakdown = _plain_json(list(scoring.breakdown))
    lead.rules_version = scoring.rules_version
    if _qualification(lead) != _latest_qualification(session, lead):
        session.add(
            QualificationHistory(
                lead=lead,
                score=lead.score,
                breakdown=lead.breakdown,
                temperature=lead.temperature,
                stage=lead.stage,
                rules_version=lead.rules_version,
            )
        )
    session.flush()
    return lead


def request_handoff(
    session: Session,
    conversation: ConversationRef,
    reason: str,
    fields: LeadFields,
    answers: Sequence[Answer],
    transcript: Sequence[TranscriptLine],
) -> Handoff:
    """Save like `save_answers`, then return the lead's open handoff, creating a pending one.

    Asking twice gives the same handoff while a rep has not rejected it. A new handoff gets,
    in the same transaction, its Slack alert in the outbox and an entry in the lead's events.

    Args:
        reason: ``"visitor_request"`` or ``"hot_lead"``.

    Raises:
        ValueError: the reason is not one of the above.
    """
    if reason not in HANDOFF_REASONS:
        raise ValueError(f"unknown handoff reason: {reason!r}")
    lead, chat = _store_submission(session, conversation, fields, answers, transcript)
    handoff = session.scalars(
        select(Handoff)
        .where(Handoff.lead_id == lead.id, Handoff.status.in_(OPEN_HANDOFF_STATUSES))
        .order_by(Handoff.created_at.desc(), Handoff.id.desc())
        .limit(1)
    ).first()
    if handoff is None:
        handoff = Handoff(lead=lead, conversation_id=chat.id, reason=reason, status="pending")
        session.add(handoff)
        session.flush()
        # The reps' Slack alert commits with the handoff, or neither does.
        outbox.enqueue(session, outbox.SLACK_HANDOFF_ALERT, handoff.id)
        lifecycle.record_event(
            session, lead.id, lifecycle.BOT, "handoff_requested", {"reason": reason}, handoff.id
        )
    return handoff


def lead_for_sender(session: Session, sender_id: str) -> Lead | None:
    """The lead linked to a conversation, or None when the conversation is unknown."""
    return session.scalars(
        _leads_with_relations().join(Lead.conversations).where(Conversation.sender_id == sender_id)
    ).first()


def record_for_sender(session: Session, sender_id: str) -> dict[str, Any] | None:
    """The lead record of a conversation as `leadbot leads show` prints it, or None."""
    lead = lead_for_sender(session, sender_id)
    return None if lead is None else lead_record(lead)


def note_visit(
    session: Session,
    sender_id: str,
    *,
    page_url: str | None,
    referrer: str | None,
    utm: Mapping[str, str] | None,
    source: str | None,
) -> None:
    """Keep where a conversation's visitor came from, once the conversation is stored.

    The conversation keeps the first page, referrer and UTM values it was told; the lead keeps
    its first known source (a later visit, e.g. a direct one, never overwrites it).

    Raises:
        ValueError: the source is not one of `LEAD_SOURCES`.
    """
    if source is not None and source not in LEAD_SOURCES:
        raise ValueError(f"unknown lead source: {source!r}")
    chat = session.scalars(
        select(Conversation).where(Conversation.sender_id == sender_id)
    ).one_or_none()
    if chat is None:
        return  # nothing stored yet: the visitor has not answered anything
    if (chat.page_url, chat.referrer, chat.utm) == (None, None, None):
        chat.page_url, chat.referrer = page_url, referrer
        chat.utm = dict(utm) if utm else None
    if chat.lead.source is None and source is not None:
        chat.lead.source = source
    session.flush()


def answers_on_file(
    session: Session, *, sender_id: str | None = None, email: str | None = None
) -> AnswersOnFile | None:
    """What the store knows of the lead of this conversation, or else of this email.

    Returns:
        The latest answer per slot over all the lead's conversations, or None when the store
        has no such lead.
    """
    lead = lead_for_sender(session, sender_id) if sender_id else None
    if lead is None and email:
        lead = session.scalars(
            _leads_with_relations().where(Lead.email == _canonical_email(email))
        ).first()
    if lead is None:
        return None
    rows = session.scalars(
        select(LeadAnswer)
        .join(LeadAnswer.conversation)
        .where(Conversation.lead_id == lead.id)
        .order_by(LeadAnswer.answered_at, LeadAnswer.id)
    )
    latest = {row.slot: {"said": row.said, **row.value} for row in rows}
    return AnswersOnFile(
        answers=latest,
        qualified=lead.rules_version is not None,
        person_name=lead.person_name,
        sender_ids=frozenset(chat.sender_id for chat in lead.conversations),
    )


def list_leads(session: Session) -> list[Lead]:
    """Every lead, newest first (the latest created on top, as `leadbot leads list` promises)."""
    newest_first = (Lead.created_at.desc(), Lead.id.desc())
    return list(session.scalars(_leads_with_relations().order_by(*newest_first)))


def _leads_with_relations() -> Select[tuple[Lead]]:
    # Loaded up front so lead_record works after the session closes.
    return select(Lead).options(selectinload(Lead.conversations), selectinload(Lead.handoffs))


def _store_submission(
    session: Session,
    ref: ConversationRef,
    fields: LeadFields,
    answers: Sequence[Answer],
    transcript: Sequence[TranscriptLine],
) -> tuple[Lead, Conversation]:
    chat = session.scalars(
        select(Conversation).where(Conversation.sender_id == ref.sender_id)
    ).one_or_none()
    lead = _lead_to_join(session, chat, fields.email)
    if chat is None:
        chat = Conversation(sender_id=ref.sender_id, channel=ref.channel, lead=lead, transcript=[])
        session.add(chat)
    elif chat.lead is not lead:
        _move_conversation(session, chat, lead)
    _apply_fields(lead, fields)
    changed, revised = _upsert_answers(chat, answers)
    _record_revisions(session, lead, revised)
    new_transcript = [_transcript_line(line) for line in transcript]
    if chat.transcript != new_transcript:
        chat.transcript = new_transcript
        changed = True
    if changed:
        lead.updated_at = utc_now()
    session.flush()
    _apply_consent(session, lead, chat, fields)
    session.flush()
    # lead_record reads these; loading them now keeps it working after the session closes.
    session.refresh(lead, attribute_names=["conversations", "handoffs"])
    return lead, chat


def _record_revisions(
    session: Session, lead: Lead, revised: Iterable[tuple[str, str | None, str | None]]
) -> None:
    """Keep every changed answer in the lead's events, with the words before and now."""
    # Contact answers stay out of the audit, which outlives a later refusal of consent.
    kept = [(slot, before, now) for slot, before, now in revised if slot not in CONTACT_SLOTS]
    if not kept:
        return
    session.flush()  # a lead new in this unit of work needs its id
    for slot, before, now in kept:
        detail = {"question": slot, "before": before, "now": now}
        lifecycle.record_event(session, lead.id, lifecycle.BOT, ANSWER_CHANGED, detail)


def _lead_to_join(session: Session, chat: Conversation | None, email: str | None) -> Lead:
    """The lead that already has this email, else the conversation's own, else a new one."""
    if email:
        owner = session.scalars(select(Lead).where(Lead.email == _canonical_email(email))).first()
        if owner is not None:
            return owner
    if chat is not None:
        return chat.lead
    lead = Lead()
    session.add(lead)
    return lead


def _move_conversation(session: Session, chat: Conversation, lead: Lead) -> None:
    """Link the conversation to a returning visitor's lead, folding in the lead it leaves."""
    previous = chat.lead
    chat.lead = lead
    session.flush()
    if session.scalars(select(Conversation.id).where(Conversation.lead_id == previous.id)).first():
        return  # the lead it leaves still belongs to other conversations
    # What this conversation learned is newer than what the returning lead held.
    for name in _field_names(exclude=("email", "email_is_business")):
        value = getattr(previous, name)
        if value is not None:
            setattr(lead, name, value)
    if previous.rules_version is not None:
        lead.score = previous.score
        lead.temperature = previous.temperature
        lead.breakdown = previous.breakdown
        lead.rules_version = previous.rules_version
        if lead.stage not in REP_STAGES:
            lead.stage = previous.stage
    for row in list(previous.history):
        row.lead = lead
    for handoff in list(previous.handoffs):
        handoff.lead = lead
    if lead.owner_id is None:
        lead.owner_id = previous.owner_id
    if lead.source is None:
        lead.source = previous.source  # the returning lead's own source, when known, came first
    # Who did what to the lead it leaves stays in the lead's audit and notes.
    for table in (LeadEvent, LeadNote):
        session.execute(
            update(table)
            .where(table.lead_id == previous.id)
            .values(lead_id=lead.id)
            .execution_options(synchronize_session=False)
        )
    session.flush()
    session.delete(previous)


def _apply_fields(lead: Lead, fields: LeadFields) -> None:
    """Overwrite the lead with every given field; consent is handled by `_apply_consent`."""
    for name in _field_names(exclude=_CONSENT_FIELDS):
        value = getattr(fields, name)
        if value is None:
            continue
        setattr(lead, name, _canonical_email(value) if name == "email" else value)


def _apply_consent(session: Session, lead: Lead, chat: Conversation, fields: LeadFields) -> None:
    """Record this conversation's consent; a refusal drops contact data nobody consented to."""
    if fields.consent is None:
        return
    chat.consent = fields.consent
    consent_at = as_utc(fields.consent_at) if fields.consent_at else None
    if fields.consent:
        lead.consent = True
        lead.consent_at = consent_at or lead.consent_at or utc_now()
        return
    other_consent = session.scalars(
        select(Conversation.id).where(
            Conversation.lead_id == lead.id,
            Conversation.id != chat.id,
            Conversation.consent.is_(True),
        )
    ).first()
    if other_consent is not None:
        return  # consent given in another conversation still covers the contact data
    contact_words = [getattr(lead, name) for name in CONTACT_FIELDS if name != "email_is_business"]
    contact_words += [row.said for row in chat.answers if row.slot in CONTACT_SLOTS]
    for name in CONTACT_FIELDS:
        setattr(lead, name, None)
    lead.consent = False
    lead.consent_at = consent_at
    for row in [row for row in chat.answers if row.slot in CONTACT_SLOTS]:
        chat.answers.remove(row)
    chat.transcript = _withhold(chat.transcript, contact_words)


def _upsert_answers(
    chat: Conversation, answers: Iterable[Answer]
) -> tuple[bool, list[tuple[str, str | None, str | None]]]:
    """Keep the latest answer per slot.

    Returns:
        Whether anything changed, and (slot, words before, words now) for every answer whose
        meaning changed (a visitor who says "our budget grew to 80k").
    """
    by_slot = {row.slot: row for row in chat.answers}
    changed = False
    revised = []
    for answer in answers:
        value = _plain_json(dict(answer.value))
        row = by_slot.get(answer.slot)
        if row is None:
            row = LeadAnswer(slot=answer.slot, said=answer.said, value=value)
            chat.answers.append(row)
            by_slot[answer.slot] = row
        elif (row.said, row.value) != (answer.said, value):
            if row.value != value:
                revised.append((answer.slot, row.said, answer.said))
            row.said, row.value, row.answered_at = answer.said, value, utc_now()
        else:
            continue
        changed = True
    return changed, revised


def _withhold(
    transcript: list[dict[str, Any]], words: Iterable[str | None]
) -> list[dict[str, Any]]:
    """The transcript with every mention of the given words replaced by a placeholder."""
    patterns = [
        re.compile(rf"(?<!\w){re.escape(word.strip())}(?!\w)", re.IGNORECASE)
        for word in words
        if word and word.strip()
    ]
    withheld = []
    for line in transcript:
        text = line["text"]
        for pattern in patterns:
            text = pattern.sub(WITHHELD, text)
        withheld.append({**line, "text": text})
    return withheld


def _latest_qualification(session: Session, lead: Lead) -> tuple[Any, ...] | None:
    latest = session.scalars(
        select(QualificationHistory)
        .where(QualificationHistory.lead_id == lead.id)
        .order_by(QualificationHistory.created_at.desc(), QualificationHistory.id.desc())
        .limit(1)
    ).first()
    return None if latest is None else _qualification(latest)


def _qualification(row: Lead | QualificationHistory) -> tuple[Any, ...]:
    return (row.score, row.temperature, row.stage, row.breakdown, row.rules_version)


def _transcript_line(line: TranscriptLine) -> dict[str, Any]:
    return {"speaker": line.speaker, "text": line.text, "at": as_utc(line.at).isoformat()}


def _plain_json(value: Any) -> Any:
    """The value as plain JSON types, so a stored copy compares equal to a fresh one."""
    return json.loads(json.dumps(value, default=_json_default))


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return as_utc(value).isoformat()
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, (tuple, set, frozenset)):
        return list(value)
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")


def _canonical_email(email: str) -> str:
    # The unique key of a person: the same mailbox however it was typed.
    return email.strip().lower()


def _field_names(exclude: Sequence[str]) -> list[str]:
    return [field.name for field in dataclass_fields(LeadFields) if field.name not in exclude]
