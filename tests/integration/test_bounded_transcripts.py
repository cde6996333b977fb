"""The store keeps a conversation's transcript bounded, with the cut marked, whoever writes it:
the bot's turns (the lead service) or the review app (lifecycle), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy.orm import Session, sessionmaker

from crm_bridge import leads, lifecycle, transcripts
from crm_bridge.retry import with_retries

START = datetime(2026, 12, 2, 5, 0, tzinfo=timezone.utc)
# What the issue measured: a conversation of about 100,000 characters.
FLOOD = [
    leads.TranscriptLine(
        ("visitor", "bot")[i % 2], f"line {i} " + "w" * 1990, START + timedelta(seconds=i)
    )
    for i in range(52)
]


@pytest.fixture(autouse=True)
def small_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEADBOT_TRANSCRIPT_MESSAGE_CHARS", "500")
    monkeypatch.setenv("LEADBOT_TRANSCRIPT_CHARS", "5000")


def _stored(session_factory: sessionmaker[Session]) -> list[dict[str, object]]:
    with session_factory() as session:
        lead = leads.lead_for_sender(session, "long-talker")
        assert lead is not None
        return list(lead.conversations[0].transcript)


def test_a_long_conversation_is_stored_bounded_with_its_cut_marked(
    session_factory: sessionmaker[Session],
) -> None:
    chat = leads.ConversationRef("long-talker", "rest")
    answers = [leads.Answer("need", "deal tracking", {"need": "deal tracking"})]

    def save(session: Session) -> None:
        leads.save_answers(session, chat, leads.LeadFields(need="deal tracking"), answers, FLOOD)

    with_retries(save, session_factory)
    stored = _stored(session_factory)
    assert sum(len(str(line["text"])) for line in stored) <= 5000
    assert all(len(str(line["text"])) <= 500 for line in stored)
    assert stored[0]["text"].startswith("line 0 ")  # type: ignore[union-attr]
    assert stored[-1]["text"].startswith("line 51 ")  # type: ignore[union-attr]
    assert [line["speaker"] for line in stored].count(transcripts.CUT_SPEAKER) == 1
    assert "more characters not kept]" in str(stored[0]["text"])

    # The review app writes the transcript as Rasa has it: bounded the same way.
    with session_factory.begin() as session:
        lead = leads.lead_for_sender(session, "long-talker")
        assert lead is not None
        lifecycle.replace_transcript(
            session,
            lead.conversations[0].id,
            [
                {"speaker": line.speaker, "text": line.text, "at": line.at.isoformat()}
                for line in FLOOD
            ],
        )
    assert _stored(session_factory) == stored
