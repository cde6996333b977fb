"""The actions on real trackers, writing to a real SQLite store."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet

from actions.qualification_form import ValidateQualificationForm
from actions.submission import ActionRequestHandoff, ActionSubmitQualification
from crm_bridge import leads, spool
from crm_bridge.migrate import upgrade
from crm_bridge.store import make_engine, make_session_factory
from tests.support.slot_answers import HOT_ANSWERS
from tests.support.trackers import responses, run_action, slots_set, tracker_after


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    url = f"sqlite:///{tmp_path / 'leads.db'}"
    monkeypatch.setenv("LEADBOT_DATABASE_URL", url)
    upgrade(url)
    engine = make_engine(url)
    yield make_session_factory(engine)
    engine.dispose()


# The form's tracker after one message of the visitor's, over REST.
_tracker = partial(tracker_after, sender_id="visitor-1")


def _validate(tracker: Tracker) -> tuple[dict[str, Any], list[str]]:
    events, messages = run_action(ValidateQualificationForm(), tracker)
    return slots_set(events), responses(messages)


def _submit(tracker: Tracker) -> tuple[list[dict[str, Any]], list[str]]:
    events, messages = run_action(ActionSubmitQualification(), tracker)
    return events, responses(messages)


def _lead(store: Any, sender_id: str = "visitor-1") -> dict[str, Any] | None:
    with store.begin() as session:
        return leads.record_for_sender(session, sender_id)


def test_an_understood_answer_is_normalised_and_saved_at_once(store: Any) -> None:
    slots, said = _validate(_tracker("around $50k a year", requested="budget"))
    assert slots["budget"]["budget_min"] == 50000
    assert slots["budget"]["budget_period"] == "yearly"
    assert said == []
    assert _lead(store)["budget_max"] == 50000


@pytest.mark.parametrize(
    "intent, text, response",
    [
        ("ask_price", "wait, how much does this cost?", "utter_answer_ask_price"),
        ("ask_bot", "am I talking to a bot?", "utter_answer_ask_bot"),
        ("ask_who", "who are you?", "utter_answer_ask_who"),
        ("ask_product", "what does your product do?", "utter_answer_ask_product"),
        ("ask_why", "why do you need that?", "utter_why_budget"),
        ("greet", "hello", "utter_answer_greet"),
        ("ask_integrations", "does it work with Slack?", "utter_answer_ask_integrations"),
        ("ask_privacy", "where is our data stored?", "utter_answer_ask_privacy"),
        ("ask_security", "is the data encrypted?", "utter_answer_ask_security"),
        ("ask_trial", "is there a free trial?", "utter_answer_ask_trial"),
        ("ask_demo", "can I see a demo first?", "utter_answer_ask_demo"),
        ("other_language", "¿Cuánto cuesta el CRM al mes?", "utter_english_only"),
        ("out_of_scope", "how old are you?", "utter_out_of_scope"),
    ],
)
def test_an_off_path_question_is_answered_and_the_question_stays(
    store: Any, intent: str, text: str, response: str
) -> None:
    slots, said = _validate(_tracker(text, requested="budget", intent=intent))
    assert said == [response]
    assert slots["budget"] is None
    assert "reasked_slots" not in slots


def test_a_need_question_about_an_offering_is_answered_not_taken_as_the_need(store: Any) -> None:
    slots, said = _validate(_tracker("how much is your CRM?", requested="need", intent="ask_price"))
    assert said == ["utter_answer_ask_price"]
    assert slots["need"] is None


def test_an_answer_that_names_a_product_is_an_answer_not_a_question(store: Any) -> None:
    tracker = _tracker(
        "a ticketing tool that plugs into Jira", requested="need", intent="ask_integrations"
    )
    slots, said = _validate(tracker)
    assert slots["need"]["need_category"] == "customer_support"
    assert said == []


@pytest.mark.parametrize("requested", ["need", "budget", "timeline", "authority"])
def test_off_topic_questions_never_count_as_the_failed_answer(store: Any, requested: str) -> None:
    slots, said = _validate(
        _tracker("what's the weather like in Lisbon?", requested=requested, intent="out_of_scope")
    )
    assert said == ["utter_out_of_scope"]
    assert slots[requested] is None
    assert "reasked_slots" not in slots

    # Even after one answer that was not understood, a question skips nothing.
    tracker = _tracker(
        "how do I boil an egg?",
        requested=requested,
        intent="out_of_scope",
        slots={"reasked_slots": [requested]},
    )
    slots, said = _validate(tracker)
    assert said == ["utter_out_of_scope"]
    assert slots[requested] is None


def test_off_topic_words_are_no_need(store: Any) -> None:
    slots, said = _validate(_tracker("tell me a joke", requested="need", intent="out_of_scope"))
    assert said == ["utter_out_of_scope"]
    assert slots["need"] is None


@pytest.mark.parametrize(
    "requested, text, intent, response",
    [
        ("need", "Hola", "greet", "utter_answer_greet"),
        ("consent", "good evening", "greet", "utter_answer_greet"),
        ("company", "Good morning", "greet", "utter_answer_greet"),
        ("person_name", "bye", "goodbye", "utter_answer_goodbye"),
    ],
)
def test_a_greeting_or_goodbye_is_no_answer(
    store: Any, requested: str, text: str, intent: str, response: str
) -> None:
    slots, said = _validate(_tracker(text, requested=requested, intent=intent))
    assert said == [response]
    assert slots[requested] is None


@pytest.mark.parametrize(
    "requested, text, intent",
    [
        ("need", "nope", "deny"),
        ("need", "I'd rather keep that to myself", "decline"),
        ("need", "just browsing", "just_looking"),
        ("budget", "next", "decline"),
        ("timeline", "I'd rather keep that to myself", "decline"),
        ("authority", "not your concern", "decline"),
        ("person_name", "next", "decline"),
        ("company", "skip that", "decline"),
    ],
)
def test_a_decline_in_any_words_moves_on_without_asking_again(
    store: Any, requested: str, text: str, intent: str
) -> None:
    slots, said = _validate(_tracker(text, requested=requested, intent=intent))
    assert slots[requested] == {"said": text, "declined": True}
    assert said == []


def test_a_hedged_amount_read_as_a_decline_is_still_the_budget(store: Any) -> None:
    slots, said = _validate(_tracker("not sure, maybe 5k", requested="budget", intent="decline"))
    assert slots["budget"]["budget_min"] == 5000
    assert said == []


def test_nonsense_is_asked_again_once_with_an_example_then_skipped(store: Any) -> None:
    slots, said = _validate(_tracker("banana", requested="budget", intent="out_of_scope"))
    assert slots["budget"] is None
    assert slots["reasked_slots"] == ["budget"]
    assert said == ["utter_out_of_scope", "utter_not_understood_budget"]

    slots, said = _validate(
        _tracker("blue", requested="budget", slots={"reasked_slots": ["budget"]})
    )
    assert slots["budget"] == {"said": "blue", "skipped": True}
    assert said == ["utter_moving_on"]


def test_a_decline_is_accepted_and_leaves_the_fields_empty(store: Any) -> None:
    slots, said = _validate(_tracker("I'd rather not say", requested="budget", intent="decline"))
    assert slots["budget"] == {"said": "I'd rather not say", "declined": True}
    assert said == []


def test_asking_for_a_human_ends_the_form(store: Any) -> None:
    tracker = _tracker(
        "can I talk to a real person?",
        requested="timeline",
        intent="request_human",
        slots={"need": HOT_ANSWERS["need"]},
    )
    slots, _ = _validate(tracker)
    assert slots["handoff_requested"] is True
    assert slots["requested_slot"] is None


def test_answers_volunteered_for_other_questions_are_kept(store: Any) -> None:
    tracker = _tracker(
        "we need a ticketing system, about 2k a month",
        requested="need",
        extracted={
            "need": "we need a ticketing system, about 2k a month",
            "budget": "about 2k a month",
        },
    )
    slots, _ = _validate(tracker)
    assert slots["need"]["need_category"] == "customer_support"
    assert slots["budget"]["budget_period"] == "monthly"


def test_a_volunteered_value_never_replaces_a_real_answer(store: Any) -> None:
    tracker = _tracker(
        "in 3 months, and 5k",
        requested="timeline",
        slots={"budget": HOT_ANSWERS["budget"]},
        extracted={"timeline": "in 3 months, and 5k", "budget": "5k"},
    )
    slots, _ = _validate(tracker)
    assert slots["budget"] == HOT_ANSWERS["budget"]
    assert slots["timeline"]["timeline_months"] == 3


def test_an_invalid_email_is_rejected_with_an_example(store: Any) -> None:
    earlier = {
        k: HOT_ANSWERS[k]
        for k in ("need", "budget", "timeline", "authority", "consent", "person_name")
    }
    slots, said = _validate(_tracker("dana@northwind", requested="email", slots=earlier))
    assert slots["email"] is None
    assert said == ["utter_not_understood_email"]


def test_no_consent_skips_the_contact_questions(store: Any) -> None:
    earlier = {k: HOT_ANSWERS[k] for k in ("need", "budget", "timeline", "authority")}
    slots, _ = _validate(_tracker("no thanks", requested="consent", intent="deny", slots=earlier))
    assert slots["consent"]["consent"] is False
    assert slots["requested_slot"] is None


def test_a_hot_submission_saves_score_and_hands_off_once(store: Any) -> None:
    tracker = _tracker("Northwind Labs", requested=None, slots=HOT_ANSWERS, extracted={})
    events, said = _submit(tracker)
    assert SlotSet("qualification_done", True) in events
    assert said == ["utter_result_hot"]
    _submit(tracker)  # a rerun action must not double anything
    lead = _lead(store)
    assert (lead["score"], lead["temperature"], lead["stage"]) == (100, "hot", "potential_customer")
    assert lead["email"] == "dana@northwind-labs.com"
    assert lead["handoff"] == "pending"
    with store.begin() as session:
        history = leads.lead_for_sender(session, "visitor-1").history
        assert len(history) == 1


def test_without_consent_no_contact_data_is_kept(store: Any) -> None:
    slots = {**HOT_ANSWERS, "consent": {"said": "no", "consent": False, "consent_at": None}}
    _, said = _submit(_tracker("no", requested=None, slots=slots, extracted={}))
    lead = _lead(store)
    assert said == ["utter_result_no_consent_hot"]
    assert (lead["person_name"], lead["email"], lead["company"]) == (None, None, None)
    assert lead["need_category"] == "crm" and lead["consent"] is False


def test_a_human_request_outside_the_form_creates_a_handoff(store: Any) -> None:
    tracker = _tracker(
        "let me talk to a person", requested=None, intent="request_human", extracted={}
    )
    events, messages = run_action(ActionRequestHandoff(), tracker)
    assert SlotSet("handoff_requested", True) in events
    assert responses(messages) == ["utter_handoff_created"]
    assert _lead(store)["handoff"] == "pending"


def test_part_of_a_name_is_not_taken_as_the_company(store: Any) -> None:
    earlier = {k: HOT_ANSWERS[k] for k in ("need", "budget", "timeline", "authority", "consent")}
    tracker = _tracker(
        "Dana Whitfield",
        requested="person_name",
        slots=earlier,
        extracted={"person_name": "Dana Whitfield", "company": "Whitfield"},
    )
    slots, _ = _validate(tracker)
    assert slots["person_name"]["person_name"] == "Dana Whitfield"
    assert slots["company"] is None


def test_a_company_given_with_the_name_is_kept(store: Any) -> None:
    earlier = {k: HOT_ANSWERS[k] for k in ("need", "budget", "timeline", "authority", "consent")}
    tracker = _tracker(
        "I'm Dana, from Northwind Labs",
        requested="person_name",
        slots=earlier,
        extracted={"person_name": "I'm Dana, from Northwind Labs", "company": "Northwind Labs"},
    )
    slots, _ = _validate(tracker)
    assert slots["company"]["company"] == "Northwind Labs"


def test_a_refused_final_save_is_kept_on_disk_and_written_once_the_store_is_back(
    store: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEADBOT_SPOOL_DIR", str(tmp_path / "spool"))
    monkeypatch.setenv("LEADBOT_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    tracker = _tracker("Northwind Labs", requested=None, slots=HOT_ANSWERS, extracted={})
    events, said = _submit(tracker)
    assert said == ["utter_save_pending"]
    assert SlotSet("qualification_done", True) in events
    assert len(spool.kept(tmp_path / "spool")) == 1
    assert _lead(store) is None

    assert spool.write_kept(tmp_path / "spool", store) == 1
    assert spool.kept(tmp_path / "spool") == []
    lead = _lead(store)
    assert lead is not None
    assert (lead["email"], lead["temperature"], lead["handoff"]) == (
        "dana@northwind-labs.com",
        "hot",
        "pending",
    )


def test_a_final_save_neither_stored_nor_kept_is_reported_never_called_saved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "not-a-folder").write_text("")
    monkeypatch.setenv("LEADBOT_SPOOL_DIR", str(tmp_path / "not-a-folder"))
    monkeypatch.setenv("LEADBOT_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    tracker = _tracker("Northwind Labs", requested=None, slots=HOT_ANSWERS, extracted={})
    events, said = _submit(tracker)
    assert said == ["utter_save_failed"]
    assert SlotSet("qualification_done", True) not in events


def test_a_plain_answer_read_as_a_human_request_is_still_an_answer(store: Any) -> None:
    earlier = {k: v for k, v in HOT_ANSWERS.items() if k != "company"}
    tracker = _tracker(
        "Maple Peak Logistics",
        requested="company",
        intent="request_human",
        confidence=0.9,
        slots=earlier,
    )
    slots, _ = _validate(tracker)
    assert slots["company"]["company"] == "Maple Peak Logistics"
    assert "handoff_requested" not in slots


def test_a_question_for_a_person_wins_over_words_that_read_as_a_role(store: Any) -> None:
    tracker = _tracker(
        "this is a lot of questions, can I talk to someone from your sales team?",
        requested="authority",
        intent="request_human",
        confidence=0.7,
    )
    slots, _ = _validate(tracker)
    assert slots["handoff_requested"] is True
    assert slots["authority"] is None


def test_a_failed_progress_save_leaves_the_reply_alone_and_logs_no_contact_data(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("LEADBOT_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    earlier = {slot: HOT_ANSWERS[slot] for slot in ("need", "budget", "consent")}
    with caplog.at_level(logging.INFO, logger="actions.lead_store"):
        slots, said = _validate(
            _tracker("dana@northwind-labs.com", requested="email", slots=earlier)
        )
    assert slots["email"]["email"] == "dana@northwind-labs.com"
    assert said == []
    assert "saving answers so far failed" in caplog.text
    assert "dana" not in caplog.text.lower()


def test_asking_for_sales_at_the_need_question_is_a_handoff_not_a_need(store: Any) -> None:
    tracker = _tracker("connect me with your sales team", requested="need", intent="request_human")
    slots, _ = _validate(tracker)
    assert slots["handoff_requested"] is True
    assert slots["need"] is None
