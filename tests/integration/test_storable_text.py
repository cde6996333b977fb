"""The store's last line of defence: any text reaching it is storable, on SQLite and PostgreSQL.

The channels already replace half an emoji (a lone UTF-16 surrogate) with U+FFFD; a value that
comes another way (the review app, a future channel) must not fail the whole unit of work.
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from crm_bridge import leads
from crm_bridge.models import LeadNote
from crm_bridge.retry import with_retries

HALF = "\ud83d"
NOW = datetime(2026, 12, 2, tzinfo=timezone.utc)
SCORING = leads.Scoring(
    score=25,
    breakdown=[{"dimension": "need", "points": 25, "reason": f"matches crm {HALF}"}],
    temperature="cold",
    stage="lead",
    rules_version="v1",
)


def test_half_an_emoji_anywhere_is_stored_as_a_replacement_character(
    session_factory: sessionmaker[Session],
) -> None:
    chat = leads.ConversationRef("emoji-visitor", "rest")
    fields = leads.LeadFields(need=f"deal tracking {HALF}", company=f"Acme {HALF}", consent=True)
    answers = [leads.Answer("need", f"deal tracking {HALF}", {"need": f"deal tracking {HALF}"})]
    transcript = [
        leads.TranscriptLine("visitor", f"hi {HALF} and a whole one \ud83d\ude00", NOW),
        leads.TranscriptLine("bot", "Hello!", NOW),
    ]

    def write(session: Session) -> int:
        lead = leads.record_qualification(session, chat, fields, answers, transcript, SCORING)
        session.add(LeadNote(lead_id=lead.id, author=f"ann {HALF}", body=f"call {HALF}"))
        return lead.id

    lead_id = with_retries(write, session_factory)

    with session_factory() as session:
        lead = leads.lead_for_sender(session, "emoji-visitor")
        assert lead is not None and lead.id == lead_id
        assert lead.need == "deal tracking \ufffd"
        assert lead.company == "Acme \ufffd"
        assert lead.breakdown == [
            {"dimension": "need", "points": 25, "reason": "matches crm \ufffd"}
        ]
        conversation = lead.conversations[0]
        assert [line["text"] for line in conversation.transcript] == [
            "hi \ufffd and a whole one \U0001f600",
            "Hello!",
        ]
        assert conversation.answers[0].said == "deal tracking \ufffd"
        assert conversation.answers[0].value == {"need": "deal tracking \ufffd"}
        note = session.scalars(select(LeadNote)).one()
        assert (note.author, note.body) == ("ann \ufffd", "call \ufffd")
