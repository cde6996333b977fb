"""A visitor correcting an earlier answer in the middle of the form ("sorry, make that 80k not
50k"), through the real form validation and lead service on a real SQLite store."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Any

import pytest
from rasa_sdk import Tracker
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from actions import lead_store
from actions.qualification_form import ValidateQualificationForm
from actions.returning import ActionReviseAnswer
from crm_bridge import leads
from crm_bridge.models import LeadEvent
from crm_bridge.store import make_engine, make_session_factory
from tests.support.slot_answers import HOT_ANSWERS, yearly_budget
from tests.support.trackers import responses, run_action, slots_set, tracker_after

# What the visitor answered before the correction, as the form keeps it.
EARLIER = {
    "need": HOT_ANSWERS["need"],
    "budget": yearly_budget(50000.0, "about 50k a year"),
    "timeline": {"said": "next year", "timeline_months": 12.0},
    "authority": HOT_ANSWERS["authority"],
}


@pytest.fixture
def store(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[sessionmaker[Session]]:
    monkeypatch.setenv("LEADBOT_DATABASE_URL", sqlite_url)
    engine = make_engine(sqlite_url)
    yield make_session_factory(engine)
    engine.dispose()


# The form's tracker after one message of the visitor's, in the website widget.
_tracker = partial(tracker_after, sender_id="web-correction", channel="socketio", confidence=0.9)


def _answered_before(slots: dict[str, Any], sender_id: str = "web-correction") -> None:
    """The earlier answers, saved as the form saves them after each answer."""
    lead_store.save_progress(
        _tracker("ok", requested=None, slots=slots, sender_id=sender_id), slots
    )
    lead_store.wait_for_writes(timeout=30)


def _run(action: Any, tracker: Tracker) -> tuple[dict[str, Any], list[str]]:
    events, messages = run_action(action, tracker)
    return slots_set(events), responses(messages)


def _changes(store: sessionmaker[Session], sender_id: str = "web-correction") -> list[Any]:
    with store.begin() as session:
        lead = leads.record_for_sender(session, sender_id)
        assert lead is not None
        return [
            event.detail
            for event in session.scalars(
                select(LeadEvent)
                .where(LeadEvent.lead_id == lead["id"], LeadEvent.kind == leads.ANSWER_CHANGED)
                .order_by(LeadEvent.id)
            )
        ]


def _lead(store: sessionmaker[Session], sender_id: str = "web-correction") -> dict[str, Any]:
    with store.begin() as session:
        lead = leads.record_for_sender(session, sender_id)
    assert lead is not None
    return lead


@pytest.mark.parametrize(
    "said, requested, entities, question, expected",
    [
        # As the model marks it: only the amount taken back. An amount alone keeps the period.
        (
            "sorry, make that 80k not 50k",
            "consent",
            [{"entity": "budget", "value": "50k"}],
            "budget",
            {"budget_min": 80000.0, "budget_period": "yearly", "budget_annual": 80000.0},
        ),
        ("actually make it 30k", "consent", [], "budget", {"budget_annual": 30000.0}),
        (
            "actually we'd need it next quarter, not next year",
            "consent",
            [
                {"entity": "timeline", "value": "next quarter"},
                {"entity": "timeline", "value": "not next year"},
            ],
            "timeline",
            {"timeline_months": 3.0},
        ),
        (
            "scratch that, my manager decides",
            "consent",
            [
                {"entity": "authority", "value": "scratch that"},
                {"entity": "authority", "value": "my manager decides"},
            ],
            "authority",
            {"authority": "influencer"},
        ),
        (
            "sorry, I meant a help desk, not a CRM",
            "consent",
            [],
            "need",
            {"need_category": "customer_support"},
        ),
    ],
)
def test_a_correction_replaces_the_earlier_answer_and_the_question_stays_open(
    store: sessionmaker[Session],
    said: str,
    requested: str,
    entities: list[dict[str, Any]],
    question: str,
    expected: dict[str, Any],
) -> None:
    _answered_before(EARLIER)
    tracker = _tracker(said, requested=requested, slots=EARLIER, entities=entities)

    slots, responses = _run(ValidateQualificationForm(), tracker)

    assert responses == ["utter_answer_changed"]
    assert {k: slots[question][k] for k in expected} == expected
    assert slots[requested] is None  # asked again, not taken from the correction
    assert "reasked_slots" not in slots  # a correction is no failed answer
    unchanged = [slot for slot in EARLIER if slot != question]
    assert all(slots.get(slot, EARLIER[slot]) == EARLIER[slot] for slot in unchanged)
    lead = _lead(store)
    assert {k: lead[k] for k in expected} == expected
    assert _changes(store) == [
        {"question": question, "before": EARLIER[question]["said"], "now": slots[question]["said"]}
    ]


def test_a_correction_asked_at_another_question_leaves_that_question_for_later(
    store: sessionmaker[Session],
) -> None:
    earlier = {k: EARLIER[k] for k in ("need", "budget")}
    _answered_before(earlier)
    tracker = _tracker("sorry, make that 80k", requested="timeline", slots=earlier)

    slots, responses = _run(ValidateQualificationForm(), tracker)

    assert responses == ["utter_answer_changed"]
    assert slots["budget"]["budget_annual"] == 80000.0
    assert slots["timeline"] is None


@pytest.mark.parametrize(
    "said, requested, expected",
    [
        ("actually, next month", "timeline", {"timeline_months": 1.0}),
        ("I mean, within two months", "timeline", {"timeline_months": 2.0}),
        ("sorry, around 20k a year", "budget", {"budget_annual": 20000.0}),
        ("actually I'd recommend it to my boss", "authority", {"authority": "influencer"}),
        ("sorry, no", "consent", {"consent": False}),
        # Words that also read as another answer: a role names no need, a hedge is no change.
        ("analyst writing a report, not a buyer", "authority", {"authority": "researcher"}),
        ("actually I run the support team", "authority", {"authority": "influencer"}),
        ("owner said next quarter maybe, not sure", "timeline", {"timeline_months": 3.0}),
    ],
)
def test_an_answer_to_the_question_asked_stays_an_answer(
    store: sessionmaker[Session], said: str, requested: str, expected: dict[str, Any]
) -> None:
    order = list(EARLIER)
    earlier = (
        {k: EARLIER[k] for k in order[: order.index(requested)]}
        if requested in EARLIER
        else EARLIER
    )
    _answered_before(earlier)

    slots, responses = _run(
        ValidateQualificationForm(), _tracker(said, requested=requested, slots=earlier)
    )

    assert "utter_answer_changed" not in responses
    assert {k: slots[requested][k] for k in expected} == expected
    assert _changes(store) == []


@pytest.mark.parametrize(
    "said, requested",
    [("sorry, that was wrong", "consent"), ("scratch that", "consent"), ("make that", "email")],
)
def test_a_correction_that_cannot_be_understood_is_answered_and_changes_nothing(
    store: sessionmaker[Session], said: str, requested: str
) -> None:
    _answered_before(EARLIER)

    slots, responses = _run(
        ValidateQualificationForm(), _tracker(said, requested=requested, slots=EARLIER)
    )

    assert responses == ["utter_change_not_understood"]
    assert slots[requested] is None
    assert "reasked_slots" not in slots
    assert all(slots.get(slot, EARLIER[slot]) == EARLIER[slot] for slot in EARLIER)
    assert _changes(store) == []


def test_a_correction_that_asks_for_a_person_hands_off(store: sessionmaker[Session]) -> None:
    _answered_before(EARLIER)
    tracker = _tracker(
        "scratch that, let me talk to a person",
        requested="consent",
        slots=EARLIER,
        intent="request_human",
    )

    slots, responses = _run(ValidateQualificationForm(), tracker)

    assert slots["handoff_requested"] is True
    assert "utter_change_not_understood" not in responses


def test_after_the_qualification_a_correction_is_read_the_same_way(
    store: sessionmaker[Session],
) -> None:
    qualified = {**EARLIER, "qualification_done": True}
    _answered_before(EARLIER)
    tracker = _tracker(
        "sorry, make that 80k not 50k",
        requested=None,
        slots=qualified,
        entities=[{"entity": "budget", "value": "50k"}],
    )

    slots, responses = _run(ActionReviseAnswer(), tracker)

    assert responses == ["utter_answer_updated"]
    assert list(slots) == ["budget"]
    assert slots["budget"]["budget_annual"] == 80000.0
    assert _lead(store)["budget_annual"] == 80000.0


def test_after_the_qualification_an_answer_said_again_keeps_its_understood_form(
    store: sessionmaker[Session],
) -> None:
    _answered_before(EARLIER)
    tracker = _tracker(
        "we still have about 50k a year",
        requested=None,
        slots={**EARLIER, "qualification_done": True},
        entities=[{"entity": "budget", "value": "about 50k a year"}],
    )
    assert tracker.get_slot("budget") == "about 50k a year"  # as Rasa fills it from the words

    slots, responses = _run(ActionReviseAnswer(), tracker)

    assert responses == ["utter_anything_else"]
    assert slots == {"budget": EARLIER["budget"]}
    assert _changes(store) == []
