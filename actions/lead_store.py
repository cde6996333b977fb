"""The action server's way into the CRM store: one unit of work per action run, retried."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any, TypeVar

from rasa_sdk import Tracker
from sqlalchemy.orm import Session, sessionmaker

from actions import answers, conversation
from actions.scoring import Qualification
from crm_bridge import leads
from crm_bridge.retry import with_retries
from crm_bridge.settings import database_url
from crm_bridge.store import make_engine, make_session_factory

log = logging.getLogger(__name__)
T = TypeVar("T")


@lru_cache(maxsize=1)
def _sessions(url: str) -> sessionmaker[Session]:
    return make_session_factory(make_engine(url))


def _run(work: Callable[[Session], T]) -> T:
    return with_retries(work, _sessions(database_url()))


class _Visit:
    """What one conversation has told us so far, in the lead service's terms."""

    def __init__(self, tracker: Tracker, slots: Mapping[str, Any]) -> None:
        self.conversation = leads.ConversationRef(tracker.sender_id, conversation.channel(tracker))
        self.fields = leads.LeadFields(**answers.lead_fields(slots))
        self.answers = [
            leads.Answer(slot, value["said"], _normalised(value))
            for slot, value in answers.answered_slots(slots).items()
        ]
        self.transcript = [
            leads.TranscriptLine(line.speaker, line.text, line.at)
            for line in conversation.transcript(tracker)
        ]


def _normalised(value: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in value.items() if k != "said"}


def save_progress(tracker: Tracker, slots: Mapping[str, Any]) -> None:
    """Keeps the answers given so far, so that a visitor who leaves mid-way still has a lead."""
    visit = _Visit(tracker, slots)
    if not visit.answers:
        return
    _run(
        lambda session: leads.save_answers(
            session, visit.conversation, visit.fields, visit.answers, visit.transcript
        )
    )
    log.info("answers saved sender_id=%s answers=%d", tracker.sender_id, len(visit.answers))


def submit(
    tracker: Tracker,
    slots: Mapping[str, Any],
    qualification: Qualification,
    handoff_reason: str | None,
) -> None:
    """Saves answers, score and history (and a handoff when asked) in one transaction."""
    visit = _Visit(tracker, slots)
    scoring = leads.Scoring(
        score=qualification.score,
        breakdown=[
            {"dimension": d.dimension, "points": d.points, "reason": d.reason}
            for d in qualification.breakdown
        ],
        temperature=qualification.temperature,
        stage=qualification.stage,
        rules_version=qualification.rules_version,
    )

    def work(session: Session) -> None:
        leads.record_qualification(
            session, visit.conversation, visit.fields, visit.answers, visit.transcript, scoring
        )
        if handoff_reason:
            leads.request_handoff(
                session,
                visit.conversation,
                handoff_reason,
                visit.fields,
                visit.answers,
                visit.transcript,
            )

    _run(work)
    log.info(
        "qualification saved sender_id=%s temperature=%s handoff=%s",
        tracker.sender_id,
        qualification.temperature,
        handoff_reason,
    )


def hand_off(tracker: Tracker, slots: Mapping[str, Any]) -> None:
    """Saves what the visitor said and opens a handoff to a sales rep."""
    visit = _Visit(tracker, slots)
    _run(
        lambda session: leads.request_handoff(
            session,
            visit.conversation,
            "visitor_request",
            visit.fields,
            visit.answers,
            visit.transcript,
        )
    )
    log.info("handoff requested sender_id=%s", tracker.sender_id)
