"""What sales reps do to a lead after the bot: claim and decide its handoff, set its stage, add
notes, re-score it, hold its live chat; every change kept in the lead's events with who and when.

Like the rest of the lead service, every function takes its caller's session and never
commits. Two reps who claim one handoff at the same moment cannot both win: the claim is one
conditional UPDATE (``... WHERE status = 'pending'``) and only the transaction that changed the
row owns it; the other sees no row changed (on PostgreSQL it waits for the first to commit and
then re-reads the row; on SQLite writers take turns).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

# Its mapper event arms a lead's CRM sync whenever a rep changes what a CRM sees.
from crm_bridge import outbox  # noqa: F401
from crm_bridge.models import (
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
    User,
)
from crm_bridge.submission import Scoring
from crm_bridge.timestamps import utc_now

MAX_NOTE_CHARS: Final = 5000
MAX_REASON_CHARS: Final = 500
BOT: Final = "bot"


class NotAllowed(PermissionError):
    """The user's role or ownership does not allow this change; the message says why."""


class Conflict(RuntimeError):
    """The record moved on (another rep claimed it first, it was already decided, ...)."""


class NotFound(LookupError):
    """No such lead, handoff or conversation."""


def record_event(
    session: Session,
    lead_id: int,
    actor: str,
    kind: str,
    detail: Mapping[str, Any] | None = None,
    handoff_id: int | None = None,
) -> LeadEvent:
    """Keep one entry of the lead's audit: who (an email, or "bot") did what, and when."""
    event = LeadEvent(
        lead_id=lead_id, actor=actor, kind=kind, detail=dict(detail or {}), handoff_id=handoff_id
    )
    session.add(event)
    return event


def load_lead(session: Session, lead_id: int) -> Lead:
    """A lead with its conversations, answers, history and handoffs loaded.

    Raises:
        NotFound: there is no such lead.
    """
    lead = session.scalars(
        select(Lead)
        .where(Lead.id == lead_id)
        .options(
            selectinload(Lead.conversations).selectinload(Conversation.answers),
            selectinload(Lead.history),
            selectinload(Lead.handoffs).selectinload(Handoff.alert),
            selectinload(Lead.owner),
        )
    ).first()
    if lead is None:
        raise NotFound(f"no lead {lead_id}")
    return lead


def contact_allowed(lead: Lead) -> bool:
    """True when the visitor agreed to be contacted (in some conversation of the lead)."""
    return lead.consent is True


def events_of(session: Session, lead_id: int) -> list[LeadEvent]:
    """The lead's audit, oldest first."""
    return list(
        session.scalars(
            select(LeadEvent)
            .where(LeadEvent.lead_id == lead_id)
            .order_by(LeadEvent.created_at, LeadEvent.id)
        )
    )


def handoff_events(session: Session, handoff_ids: Sequence[int]) -> dict[int, list[LeadEvent]]:
    """The events of each handoff (its transitions), oldest first."""
    found: dict[int, list[LeadEvent]] = {handoff_id: [] for handoff_id in handoff_ids}
    if not handoff_ids:
        return found
    for event in session.scalars(
        select(LeadEvent)
        .where(LeadEvent.handoff_id.in_(handoff_ids))
        .order_by(LeadEvent.created_at, LeadEvent.id)
    ):
        found[event.handoff_id or 0].append(event)
    return found


def notes_of(session: Session, lead_id: int) -> list[LeadNote]:
    """The lead's notes, newest first."""
    return list(
        session.scalars(
            select(LeadNote)
            .where(LeadNote.lead_id == lead_id)
            .order_by(LeadNote.created_at.desc(), LeadNote.id.desc())
        )
    )


def claim_handoff(session: Session, handoff_id: int, user: User) -> Handoff:
    """Make the user the owner of a pending handoff and of its lead.

    Raises:
        NotFound: there is no such handoff.
        Conflict: the handoff is no longer pending (another rep was first).
    """
    now = utc_now()
    claimed = session.execute(
        update(Handoff)
        .where(Handoff.id == handoff_id, Handoff.status == "pending")
        .values(status="claimed", claimed_by=user.email, claimed_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    handoff = session.get(Handoff, handoff_id)
    if handoff is None:
        raise NotFound(f"no handoff {handoff_id}")
    session.refresh(handoff)
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(f"already {handoff.status} by {handoff.claimed_by or 'someone else'}")
    lead = session.get(Lead, handoff.lead_id)
    assert lead is not None
    lead.owner_id = user.id
    record_event(session, lead.id, user.email, "claimed", {"status": "claimed"}, handoff.id)
    session.flush()
    return handoff


def release_handoff(session: Session, handoff_id: int, user: User) -> Handoff:
    """Put a claimed handoff back in the queue (its owner or an admin)."""
    handoff = _handoff(session, handoff_id)
    _must_hold(handoff, user)
    if handoff.status != "claimed":
        raise Conflict(f"the handoff is {handoff.status}, not claimed")
    handoff.status, handoff.claimed_by, handoff.claimed_at = "pending", None, None
    record_event(
        session, handoff.lead_id, user.email, "released", {"status": "pending"}, handoff.id
    )
    session.flush()
    return handoff


def decide_handoff(
    session: Session, handoff_id: int, user: User, decision: str, reason: str | None = None
) -> Handoff:
    """Accept or reject a claimed handoff: only its owner, or an admin, may.

    Args:
        decision: ``"accepted"`` or ``"rejected"``; a rejection needs a reason.

    Raises:
        NotFound, NotAllowed, Conflict, ValueError (an unknown decision or no reason).
    """
    if decision not in ("accepted", "rejected"):
        raise ValueError(f"unknown decision {decision!r}")
    reason = (reason or "").strip()[:MAX_REASON_CHARS] or None
    if decision == "rejected" and not reason:
        raise ValueError("say why the handoff is rejected")
    handoff = _handoff(session, handoff_id)
    _must_hold(handoff, user)
    if handoff.status != "claimed":
        raise Conflict(f"the handoff is {handoff.status}: claim it first")
    handoff.status, handoff.decided_at = decision, utc_now()
    handoff.reject_reason = reason if decision == "rejected" else None
    detail: dict[str, Any] = {"status": decision}
    if reason and decision == "rejected":
        detail["reason"] = reason
    record_event(session, handoff.lead_id, user.email, decision, detail, handoff.id)
    session.flush()
    return handoff


def set_stage(session: Session, lead_id: int, stage: str, user: User) -> Lead:
    """Mark a lead a customer or disqualified (its owner, or an admin), keeping the change in
    its stage history and its audit."""
    if stage not in REP_STAGES:
        raise ValueError(f"reps set only {', '.join(REP_STAGES)}, not {stage!r}")
    lead = load_lead(session, lead_id)
    if user.role != "admin" and lead.owner_id != user.id:
        raise NotAllowed("only the lead's owner or an admin can change its stage")
    previous = lead.stage
    if previous == stage:
        return lead
    lead.stage = stage
    if lead.score is not None and lead.temperature in TEMPERATURES:
        session.add(
            QualificationHistory(
                lead=lead,
                score=lead.score,
                breakdown=lead.breakdown or [],
                temperature=lead.temperature,
                stage=stage,
                rules_version=lead.rules_version or "",
            )
        )
    record_event(session, lead.id, user.email, "stage_changed", {"from": previous, "to": stage})
    session.flush()
    return lead


def add_note(session: Session, lead_id: int, user: User, body: str) -> LeadNote:
    """Keep a rep's note on a lead."""
    text = body.strip()
    if not text:
        raise ValueError("the note is empty")
    if len(text) > MAX_NOTE_CHARS:
        raise ValueError(f"a note holds at most {MAX_NOTE_CHARS} characters")
    load_lead(session, lead_id)
    note = LeadNote(lead_id=lead_id, author=user.email, body=text)
    session.add(note)
    record_event(session, lead_id, user.email, "note_added", {"chars": len(text)})
    session.flush()
    return note


def apply_scoring(session: Session, lead_id: int, scoring: Scoring, actor: str) -> Lead:
    """Re-score a lead: new score, temperature and (unless a rep set it) stage, one history row
    when anything changed, and an audit entry saying from what to what."""
    if scoring.stage not in STAGES or scoring.temperature not in TEMPERATURES:
        raise ValueError(f"unknown stage or temperature: {scoring.stage}, {scoring.temperature}")
    lead = load_lead(session, lead_id)
    before = (lead.score, lead.temperature, lead.stage)
    lead.score, lead.temperature = scoring.score, scoring.temperature
    lead.stage = lead.stage if lead.stage in REP_STAGES else scoring.stage
    lead.breakdown = [dict(item) for item in scoring.breakdown]
    lead.rules_version = scoring.rules_version
    after = (lead.score, lead.temperature, lead.stage)
    if after != before:
        session.add(
            QualificationHistory(
                lead=lead,
                score=scoring.score,
                breakdown=lead.breakdown,
                temperature=scoring.temperature,
                stage=lead.stage,
                rules_version=scoring.rules_version,
            )
        )
    record_event(
        session,
        lead.id,
        actor,
        "rescored",
        {
            "from": {"score": before[0], "temperature": before[1], "stage": before[2]},
            "to": {"score": after[0], "temperature": after[1], "stage": after[2]},
            "rules_version": scoring.rules_version,
        },
    )
    session.flush()
    return lead


def hold_conversation(session: Session, conversation_id: int, user: User) -> Conversation:
    """The rep takes over a chat: the bot stays quiet in it until the rep hands it back.

    Only the owner of the lead's open handoff, or an admin, may; one rep at a time.
    """
    chat = _conversation(session, conversation_id)
    handoff = _open_handoff(session, chat.lead_id)
    if user.role != "admin" and (handoff is None or handoff.claimed_by != user.email):
        raise NotAllowed("claim the lead's handoff before writing to the visitor")
    taken = session.execute(
        update(Conversation)
        .where(
            Conversation.id == conversation_id,
            (Conversation.held_by.is_(None)) | (Conversation.held_by == user.email),
        )
        .values(held_by=user.email, held_since=utc_now())
        .execution_options(synchronize_session=False)
    )
    session.refresh(chat)
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(f"{chat.held_by} is writing to this visitor")
    record_event(
        session,
        chat.lead_id,
        user.email,
        "chat_taken_over",
        {"sender_id": chat.sender_id},
        handoff.id if handoff else None,
    )
    session.flush()
    return chat


def release_conversation(
    session: Session, conversation_id: int, user: User, how: str
) -> Conversation:
    """The rep hands a chat back to the bot (``"handed_back"``) or ends it (``"closed"``)."""
    if how not in ("handed_back", "closed"):
        raise ValueError(f"unknown way to leave a chat: {how!r}")
    chat = _conversation(session, conversation_id)
    if chat.held_by is None:
        raise Conflict("no rep holds this chat")
    if chat.held_by != user.email and user.role != "admin":
        raise NotAllowed(f"{chat.held_by} holds this chat")
    chat.held_by, chat.held_since = None, None
    record_event(session, chat.lead_id, user.email, f"chat_{how}", {"sender_id": chat.sender_id})
    session.flush()
    return chat


def log_reply(session: Session, conversation_id: int, user: User, text: str) -> LeadEvent:
    """Keep a rep's message to the visitor in the lead's audit."""
    chat = _conversation(session, conversation_id)
    if chat.held_by != user.email:
        raise NotAllowed("take over the chat before writing to the visitor")
    event = record_event(
        session, chat.lead_id, user.email, "reply_sent", {"sender_id": chat.sender_id, "text": text}
    )
    session.flush()
    return event


def replace_transcript(
    session: Session, conversation_id: int, lines: Sequence[Mapping[str, Any]]
) -> None:
    """Keep the chat's transcript as the bot's tracker has it (the rep's part included)."""
    chat = _conversation(session, conversation_id)
    new = [dict(line) for line in lines]
    if new and chat.transcript != new:
        chat.transcript = new


def answers_by_conversation(session: Session, lead_id: int) -> dict[int, list[LeadAnswer]]:
    """Each conversation's answers, in the order they were given."""
    rows = session.scalars(
        select(LeadAnswer)
        .join(Conversation)
        .where(Conversation.lead_id == lead_id)
        .order_by(LeadAnswer.answered_at, LeadAnswer.id)
    )
    found: dict[int, list[LeadAnswer]] = {}
    for row in rows:
        found.setdefault(row.conversation_id, []).append(row)
    return found


def _handoff(session: Session, handoff_id: int) -> Handoff:
    handoff = session.get(Handoff, handoff_id)
    if handoff is None:
        raise NotFound(f"no handoff {handoff_id}")
    return handoff


def _conversation(session: Session, conversation_id: int) -> Conversation:
    chat = session.get(Conversation, conversation_id)
    if chat is None:
        raise NotFound(f"no conversation {conversation_id}")
    return chat


def _open_handoff(session: Session, lead_id: int) -> Handoff | None:
    return session.scalars(
        select(Handoff)
        .where(Handoff.lead_id == lead_id, Handoff.status.in_(("claimed", "accepted")))
        .order_by(Handoff.id.desc())
    ).first()


def _must_hold(handoff: Handoff, user: User) -> None:
    if user.role == "admin" or handoff.claimed_by == user.email:
        return
    owner = handoff.claimed_by or "nobody"
    raise NotAllowed(f"this handoff belongs to {owner}; only they or an admin can change it")
