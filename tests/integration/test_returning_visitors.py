"""One person, many conversations: where a lead came from, returning visitors, changed answers
and the quiet-visitor nudge, through the real actions and lead service on SQLite and
PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timezone
from functools import partial
from typing import Any

import pytest
from rasa_sdk import Tracker
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from actions.nudge import NUDGE_INTENT
from actions.qualification_form import ValidateQualificationForm
from actions.returning import ActionReviseAnswer, ActionSessionStart
from actions.submission import ActionSubmitQualification
from crm_bridge import leads
from crm_bridge.inbox import LeadFilter, every_row
from crm_bridge.models import Conversation, LeadEvent, QualificationHistory
from crm_bridge.store import make_engine, make_session_factory
from tests.support.slot_answers import HOT_ANSWERS, yearly_budget
from tests.support.trackers import responses, run_action, slots_set, tracker_after

WIDGET_VISIT = {
    "page_url": "https://acme.example/pricing?utm_campaign=spring",
    "referrer": "https://www.google.com/",
    "utm": {"source": "newsletter", "medium": "email", "campaign": "spring"},
}
ANSWERS = {
    **HOT_ANSWERS,
    "budget": yearly_budget(10000.0, "10k a year"),
    "timeline": {"said": "in a year", "timeline_months": 12.0},
}


@pytest.fixture
def store(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[sessionmaker[Session]]:
    """The action server's store, on SQLite and on PostgreSQL."""
    monkeypatch.setenv("LEADBOT_DATABASE_URL", database_url)
    engine = make_engine(database_url)
    yield make_session_factory(engine)
    engine.dispose()


# A conversation's tracker after one message of the visitor's, in the website widget.
_tracker = partial(tracker_after, channel="socketio")


def _before_session(
    sender_id: str, slots: dict[str, Any] | None = None, earlier_user_events: int = 0
) -> Tracker:
    """A conversation's tracker as `action_session_start` sees it: before the new message."""
    earlier = [{"event": "user", "text": "hello", "timestamp": time.time() - 7200}]
    return Tracker(
        sender_id=sender_id,
        slots=dict(slots or {}),
        latest_message=earlier[0] if earlier_user_events else {},
        events=earlier * earlier_user_events,
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


def _lead(store: sessionmaker[Session], sender_id: str) -> dict[str, Any]:
    with store() as session:
        lead = leads.lead_for_sender(session, sender_id)
        assert lead is not None, f"no lead for {sender_id}"
        return leads.lead_record(lead)


def _qualify(sender_id: str, channel: str = "socketio", **overrides: Any) -> None:
    """A whole qualification, submitted as the form's end does."""
    tracker = _tracker("Northwind Labs", sender_id=sender_id, channel=channel)
    tracker.slots.update({**ANSWERS, **overrides})
    _, messages = run_action(ActionSubmitQualification(), tracker)
    assert messages and messages[0]["response"].startswith("utter_result_")


# ---- where a lead came from -------------------------------------------------------------------


def test_the_first_page_and_source_are_kept_and_a_later_direct_visit_changes_neither(
    store: sessionmaker[Session],
) -> None:
    first = _tracker(
        "we need a CRM", sender_id="web-ctx-1", requested="need", metadata=WIDGET_VISIT
    )
    run_action(ValidateQualificationForm(), first)
    assert _lead(store, "web-ctx-1")["source"] == "campaign"

    direct = {"page_url": "https://acme.example/contact", "referrer": None, "utm": {}}
    with store.begin() as session:
        leads.note_visit(
            session,
            "web-ctx-1",
            page_url=direct["page_url"],
            referrer=None,
            utm={},
            source="direct",
        )
    with store() as session:
        chat = session.scalars(
            select(Conversation).where(Conversation.sender_id == "web-ctx-1")
        ).one()
        assert (chat.page_url, chat.referrer, chat.utm) == (
            WIDGET_VISIT["page_url"],
            WIDGET_VISIT["referrer"],
            WIDGET_VISIT["utm"],
        )
    assert _lead(store, "web-ctx-1")["source"] == "campaign"


def test_an_unknown_source_is_refused(store: sessionmaker[Session]) -> None:
    run_action(
        ValidateQualificationForm(), _tracker("a CRM", sender_id="web-ctx-2", requested="need")
    )
    with pytest.raises(ValueError, match="unknown lead source"), store.begin() as session:
        leads.note_visit(
            session, "web-ctx-2", page_url=None, referrer=None, utm=None, source="billboard"
        )


def test_the_review_app_finds_leads_by_their_source(store: sessionmaker[Session]) -> None:
    search = {"page_url": "https://acme.example/", "referrer": "https://duckduckgo.com/"}
    run_action(
        ValidateQualificationForm(),
        _tracker("a CRM", sender_id="web-s", requested="need", metadata=search),
    )
    run_action(
        ValidateQualificationForm(),
        _tracker("a CRM", sender_id="slack-s", channel="slack", requested="need"),
    )
    with store() as session:
        by_source = {
            source: [row.lead.id for row in every_row(session, LeadFilter(source=source))]
            for source in ("search", "slack", "campaign")
        }
    assert by_source == {
        "search": [_lead(store, "web-s")["id"]],
        "slack": [_lead(store, "slack-s")["id"]],
        "campaign": [],
    }


def test_the_same_email_on_the_website_and_in_slack_is_one_lead_with_its_first_source(
    store: sessionmaker[Session],
) -> None:
    run_action(
        ValidateQualificationForm(),
        _tracker("a CRM", sender_id="web-dana", requested="need", metadata=WIDGET_VISIT),
    )
    _qualify("web-dana")
    _qualify("slack-dana", channel="slack")

    website, slack = _lead(store, "web-dana"), _lead(store, "slack-dana")
    assert website["id"] == slack["id"]
    assert website["conversations"] == [
        {"sender_id": "web-dana", "channel": "socketio"},
        {"sender_id": "slack-dana", "channel": "slack"},
    ]
    assert website["source"] == "campaign"


# ---- returning visitors -------------------------------------------------------------------------


def test_a_new_session_of_a_known_conversation_is_welcomed_back_and_asked_nothing_known(
    store: sessionmaker[Session],
) -> None:
    _qualify("web-back")
    # The tracker was lost (e.g. a restart with an in-memory tracker store): the store remembers.
    events, messages = run_action(ActionSessionStart(), _before_session("web-back"))

    assert responses(messages) == ["utter_welcome_back"]
    assert messages[0]["person_greeting"] == ", Dana"
    assert events[0]["event"] == "session_started"
    assert events[-1] == {**events[-1], "event": "action", "name": "action_listen"}
    slots = slots_set(events)
    assert {slot: slots.get(slot) for slot in ANSWERS} == ANSWERS
    assert slots["qualification_done"] is True


def test_a_new_session_keeps_the_slots_it_had_and_welcomes_back_by_name(
    store: sessionmaker[Session],
) -> None:
    known = {"need": ANSWERS["need"], "person_name": ANSWERS["person_name"]}
    tracker = _before_session("web-carried", {**known, "requested_slot": "budget"}, 1)
    events, messages = run_action(ActionSessionStart(), tracker)

    assert [(m["response"], m["person_greeting"]) for m in messages] == [
        ("utter_welcome_back", ", Dana")
    ]
    assert slots_set(events) == known


def test_a_first_visit_starts_quietly(store: sessionmaker[Session]) -> None:
    events, messages = run_action(ActionSessionStart(), _before_session("web-new"))

    assert messages == []
    assert [e["event"] for e in events] == ["session_started", "action"]


def test_a_known_email_in_a_new_conversation_is_welcomed_back_and_not_asked_again(
    store: sessionmaker[Session],
) -> None:
    _qualify("rest-first", channel="rest")
    known = {
        slot: ANSWERS[slot]
        for slot in ("need", "budget", "timeline", "authority", "consent", "person_name")
    }
    tracker = _tracker(
        "dana@northwind-labs.com", sender_id="web-second", slots=known, requested="email"
    )
    events, messages = run_action(ValidateQualificationForm(), tracker)

    assert responses(messages) == ["utter_welcome_back_email"]
    assert "person_greeting" not in messages[0]  # whoever types an email learns no name
    assert slots_set(events)["company"] == ANSWERS["company"]
    assert _lead(store, "web-second")["id"] == _lead(store, "rest-first")["id"]


def test_the_own_email_again_is_no_return(store: sessionmaker[Session]) -> None:
    known = {slot: ANSWERS[slot] for slot in ("need", "consent", "person_name", "email")}
    run_action(
        ValidateQualificationForm(),
        _tracker("Dana", sender_id="web-same", slots=known, requested="company"),
    )
    tracker = _tracker(
        "dana@northwind-labs.com", sender_id="web-same", slots=known, requested="email"
    )
    _, messages = run_action(ValidateQualificationForm(), tracker)

    assert "utter_welcome_back_email" not in responses(messages)


# ---- a changed answer ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "said, entities, slot, expected",
    [
        (
            "our budget grew to 80k",
            [{"entity": "budget", "value": "80k"}],
            "budget",
            {"budget_min": 80000.0, "budget_max": 80000.0},
        ),
        (
            "actually our timeline is now 3 months",
            [{"entity": "timeline", "value": "3 months"}],
            "timeline",
            {"timeline_months": 3.0},
        ),
        # The model may mark nothing: an amount said as money is still read.
        ("our budget is now $80,000 a year", [], "budget", {"budget_annual": 80000.0}),
    ],
)
def test_a_changed_answer_rescores_the_lead_and_is_kept_in_its_history(
    store: sessionmaker[Session],
    said: str,
    entities: list[dict[str, Any]],
    slot: str,
    expected: dict[str, Any],
) -> None:
    _qualify("web-change")
    before = _lead(store, "web-change")
    tracker = _tracker(
        said,
        sender_id="web-change",
        entities=entities,
        slots={**ANSWERS, "qualification_done": True},
    )
    events, messages = run_action(ActionReviseAnswer(), tracker)

    assert responses(messages) == ["utter_answer_updated"]
    assert list(slots_set(events)) == [slot]
    after = _lead(store, "web-change")
    assert {k: after[k] for k in expected} == expected
    assert after["score"] > before["score"]
    with store() as session:
        history = session.scalars(
            select(QualificationHistory.score)
            .where(QualificationHistory.lead_id == after["id"])
            .order_by(QualificationHistory.id)
        ).all()
        changes = session.scalars(
            select(LeadEvent).where(
                LeadEvent.lead_id == after["id"], LeadEvent.kind == leads.ANSWER_CHANGED
            )
        ).all()
    assert history == [before["score"], after["score"]]
    assert [change.detail for change in changes] == [
        {"question": slot, "before": ANSWERS[slot]["said"], "now": slots_set(events)[slot]["said"]}
    ]


def test_a_statement_that_changes_nothing_is_answered_as_before(
    store: sessionmaker[Session],
) -> None:
    _qualify("web-same-answer")
    tracker = _tracker(
        "we still need a CRM, budget 10k a year",
        sender_id="web-same-answer",
        entities=[{"entity": "budget", "value": "10k a year"}],
        slots={**ANSWERS, "qualification_done": True},
    )
    events, messages = run_action(ActionReviseAnswer(), tracker)

    assert responses(messages) == ["utter_anything_else"]
    # Nothing changes: the slot Rasa filled with the entity's raw words gets the same answer back.
    assert slots_set(events) == {"budget": ANSWERS["budget"]}


# ---- the quiet-visitor nudge ---------------------------------------------------------------------


def _reminders(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e["event"] == "reminder"]


def test_each_turn_of_the_form_on_the_website_schedules_the_conversations_nudge(
    store: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEADBOT_NUDGE_AFTER_S", "90")
    started = datetime.now(timezone.utc).timestamp()
    events, _ = run_action(
        ValidateQualificationForm(), _tracker("a CRM", sender_id="web-quiet", requested="need")
    )

    ended = datetime.now(timezone.utc).timestamp()

    (reminder,) = _reminders(events)
    assert reminder["intent"] == NUDGE_INTENT
    assert reminder["name"] == "quiet_visitor_web-quiet"
    assert reminder["kill_on_user_msg"] is True
    due = datetime.fromisoformat(reminder["date_time"]).timestamp()
    assert started + 90 <= due <= ended + 90  # counted from the turn


@pytest.mark.parametrize(
    "channel, setting, slots",
    [
        ("rest", None, {}),  # nothing can push a REST client a message
        ("socketio", "0", {}),  # nudges turned off
        ("socketio", None, {"nudge_sent": True}),  # once per conversation
    ],
)
def test_no_nudge_is_scheduled(
    store: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
    channel: str,
    setting: str | None,
    slots: dict[str, Any],
) -> None:
    if setting is not None:
        monkeypatch.setenv("LEADBOT_NUDGE_AFTER_S", setting)
    tracker = _tracker(
        "a CRM", sender_id=f"{channel}-no-nudge", channel=channel, requested="need", slots=slots
    )
    events, _ = run_action(ValidateQualificationForm(), tracker)

    assert _reminders(events) == []


def test_the_nudge_is_sent_once_and_keeps_what_the_visitor_said(
    store: sessionmaker[Session],
) -> None:
    # Rasa read the reminder's message into the question being asked, as it does any text.
    reminder = _tracker(
        f"EXTERNAL: {NUDGE_INTENT}",
        sender_id="web-nudged",
        requested="budget",
        intent=NUDGE_INTENT,
        slots={"need": ANSWERS["need"]},
    )
    events, messages = run_action(ValidateQualificationForm(), reminder)

    assert responses(messages) == ["utter_nudge"]
    assert slots_set(events) == {"budget": None, "nudge_sent": True}

    again = _tracker(
        f"EXTERNAL: {NUDGE_INTENT}",
        sender_id="web-nudged",
        requested="budget",
        intent=NUDGE_INTENT,
        slots={"need": ANSWERS["need"], "nudge_sent": True},
    )
    events, messages = run_action(ValidateQualificationForm(), again)
    assert messages == []
    assert slots_set(events) == {"budget": None}
