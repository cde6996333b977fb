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
from crm_bridge import leads, spool
from crm_bridge.retry import with_retries
from crm_bridge.settings import database_url
from crm_bridge.store import make_engine, make_session_factory
from qualifying import answers
from qualifying.lead_source import lead_source
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
        self.visit = conversation.visit(tracker)
        self.source = lead_source(self.conversation.channel, self.visit)

    def note(self, session: Session) -> None:
        """Keeps where the visitor came from on the conversation and its lead."""
        leads.note_visit(
            session,
            self.conversation.sender_id,
            page_url=self.visit.page_url if self.visit else None,
            referrer=self.visit.referrer if self.visit else None,
            utm=self.visit.utm if self.visit else None,
            source=self.source,
        )


def _normalised(value: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in value.items() if k != "said"}


def save_progress(tracker: Tracker, slots: Mapping[str, Any]) -> None:
    """Queues the answers given so far, so that a visitor who leaves mid-way still has a lead.

    A failed write is logged; the submission at the end writes everything again.
    """
    visit = _Visit(tracker, slots)
    if not visit.answers:
        return

    def work(session: Session) -> None:
        leads.save_answers(
            session, visit.conversation, visit.fields, visit.answers, visit.transcript
        )
        visit.note(session)

    saved = _queue(work)
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


async def answers_on_file(
    *, sender_id: str | None = None, email: str | None = None
) -> leads.AnswersOnFile | None:
    """What the store knows of this conversation's lead, or else of this email's, read after
    every write queued before (see `crm_bridge.leads.answers_on_file`)."""
    return await _run(
        lambda session: leads.answers_on_file(session, sender_id=sender_id, email=email)
    )


def wait_for_writes(timeout: float | None = None) -> None:
    """Blocks until every write queued before this call has finished: they run in order."""
    _WRITER.submit(lambda: None).result(timeout)


def _final_save(
    tracker: Tracker,
    slots: Mapping[str, Any],
    qualification: Qualification,
    handoff_reason: str | None,
) -> spool.FinalSave:
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
    return spool.FinalSave(
        visit.conversation,
        visit.fields,
        tuple(visit.answers),
        tuple(visit.transcript),
        scoring,
        handoff_reason,
    )


async def submit(
    tracker: Tracker,
    slots: Mapping[str, Any],
    qualification: Qualification,
    handoff_reason: str | None,
) -> None:
    """Saves answers, score and history (and a handoff when asked) in one transaction.

    Raises:
        SQLAlchemyError: When the store refused the save after its retries.
    """
    save = _final_save(tracker, slots, qualification, handoff_reason)
    await _run(lambda session: spool.write(session, save))
    log.info(
        "qualification saved sender_id=%s temperature=%s handoff=%s",
        tracker.sender_id,
        qualification.temperature,
        handoff_reason,
    )


async def keep(
    tracker: Tracker,
    slots: Mapping[str, Any],
    qualification: Qualification,
    handoff_reason: str | None,
) -> None:
    """Keeps the final save on disk, for the action server's retry to write once the store
    takes writes again (see `crm_bridge.spool`).

    Raises:
        OSError: When it could not be kept either.
    """
    save = _final_save(tracker, slots, qualification, handoff_reason)
    await asyncio.to_thread(spool.keep, save, spool.spool_folder())
    log.warning("qualification kept for later sender_id=%s", tracker.sender_id)


async def hand_off(tracker: Tracker, slots: Mapping[str, Any]) -> None:
    """Saves what the visitor said and opens a handoff to a sales rep."""
    visit = _Visit(tracker, slots)

    def work(session: Session) -> None:
        leads.request_handoff(
            session,
            visit.conversation,
            "visitor_request",
            visit.fields,
            visit.answers,
            visit.transcript,
        )
        visit.note(session)

    await _run(work)
    log.info("handoff requested sender_id=%s", tracker.sender_id)
