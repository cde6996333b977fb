"""The action server's way into the CRM store: one unit of work per action run, retried.

Every write runs on one writer thread, in the order the turns came in: the action server's
event loop keeps answering other visitors while the database works, and a turn's write never
lands before an earlier turn's. The progress saved after each answer is not waited for (the
reply promises nothing about it); a submission or a handoff is, because the visitor is told
whether it was saved.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from functools import lru_cache
from typing import Any, Final, TypeVar

from rasa_sdk import Tracker
from sqlalchemy.orm import Session, sessionmaker

from actions import conversation
from crm_bridge import leads
from crm_bridge.retry import with_retries
from crm_bridge.settings import database_url
from crm_bridge.store import make_engine, make_session_factory
from qualifying import answers
from qualifying.scoring import Qualification

log = logging.getLogger(__name__)
T = TypeVar("T")

_WRITER: Final = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lead-store")


@lru_cache(maxsize=1)
def _sessions(url: str) -> sessionmaker[Session]:
    return make_session_factory(make_engine(url))


def _queue(work: Callable[[Session], T]) -> Future[T]:
    return _WRITER.submit(with_retries, work, _sessions(database_url()))


async def _run(work: Callable[[Session], T]) -> T:
    return await asyncio.wrap_future(_queue(work))


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
    """Queues the answers given so far, so that a visitor who leaves mid-way still has a lead.

    A failed write is logged; the submission at the end writes everything again.
    """
    visit = _Visit(tracker, slots)
    if not visit.answers:
        return
    saved = _queue(
        lambda session: leads.save_answers(
            session, visit.conversation, visit.fields, visit.answers, visit.transcript
        )
    )
    sender_id, count = tracker.sender_id, len(visit.answers)

    def report(write: Future[Any]) -> None:
        error = write.exception()
        if error is None:
            log.info("answers saved sender_id=%s answers=%d", sender_id, count)
        else:
            # The error text can quote an email or a name; log only its kind.
            log.error(
                "saving answers so far failed sender_id=%s error=%s",
                sender_id,
                type(error).__name__,
            )

    saved.add_done_callback(report)


def wait_for_writes(timeout: float | None = None) -> None:
    """Blocks until every write queued before this call has finished: they run in order."""
    _WRITER.submit(lambda: None).result(timeout)


async def submit(
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

    await _run(work)
    log.info(
        "qualification saved sender_id=%s temperature=%s handoff=%s",
        tracker.sender_id,
        qualification.temperature,
        handoff_reason,
    )


async def hand_off(tracker: Tracker, slots: Mapping[str, Any]) -> None:
    """Saves what the visitor said and opens a handoff to a sales rep."""
    visit = _Visit(tracker, slots)
    await _run(
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
