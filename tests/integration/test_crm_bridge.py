"""The CRM store on real SQLite and PostgreSQL databases: migrations and the lead service."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import func, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from crm_bridge.leads import (
    Answer,
    ConversationRef,
    LeadFields,
    Scoring,
    TranscriptLine,
    lead_for_sender,
    lead_record,
    list_leads,
    record_qualification,
    request_handoff,
    save_answers,
)
from crm_bridge.migrate import alembic_config, current_revision, upgrade
from crm_bridge.models import (
    Base,
    Conversation,
    Handoff,
    Lead,
    LeadAnswer,
    QualificationHistory,
)
from crm_bridge.retry import with_retries
from crm_bridge.store import make_engine

SAID_AT = datetime(2026, 11, 3, 9, 30, tzinfo=timezone.utc)
WEB = ConversationRef(sender_id="web-visitor-1", channel="socketio")
SLACK = ConversationRef(sender_id="slack-U123", channel="slack")
DANA = LeadFields(
    person_name="Dana Reyes",
    email="dana@acme.io",
    email_is_business=True,
    company="Acme",
    consent=True,
    consent_at=SAID_AT,
)
QUALIFIED = LeadFields(
    need="our sales team loses track of deals",
    need_category="crm",
    budget_min=50000,
    budget_max=50000,
    budget_currency="USD",
    budget_period="yearly",
    budget_annual=50000,
    timeline_months=1,
    authority="decision_maker",
    job_title="VP Sales",
)
ANSWERS = [
    Answer("need", "our sales team loses track of deals", {"need_category": "crm"}),
    Answer("budget", "around $50k a year", {"budget_min": 50000, "budget_period": "yearly"}),
]
TRANSCRIPT = [
    TranscriptLine("bot", "What are you looking to solve?", SAID_AT),
    TranscriptLine(
        "visitor", "our sales team loses track of deals", SAID_AT + timedelta(seconds=5)
    ),
]
HOT = Scoring(
    score=100,
    breakdown=[
        {"dimension": "budget", "points": 30, "reason": "50000 USD a year"},
        {"dimension": "timeline", "points": 25, "reason": "buying within 1 month"},
        {"dimension": "authority", "points": 20, "reason": "decision maker"},
        {"dimension": "need", "points": 25, "reason": "matches crm"},
    ],
    temperature="hot",
    stage="potential_customer",
    rules_version="2026-11-default",
)
COLD = Scoring(
    score=10,
    breakdown=[{"dimension": "need", "points": 10, "reason": "other"}],
    temperature="cold",
    stage="lead",
    rules_version="2026-11-default",
)


def merged(*parts: LeadFields) -> LeadFields:
    """Fields of several answers given one after another (later ones win)."""
    values: dict[str, Any] = {}
    for part in parts:
        values.update({name: value for name, value in vars(part).items() if value is not None})
    return LeadFields(**values)


def in_transaction(session_factory: sessionmaker[Session], work: Callable[[Session], Any]) -> Any:
    """Run one unit of work the way the action server does."""
    with session_factory.begin() as session:
        return work(session)


def record_of(session_factory: sessionmaker[Session], sender_id: str) -> dict[str, Any]:
    with session_factory() as session:
        lead = lead_for_sender(session, sender_id)
        assert lead is not None
        return lead_record(lead)


def count(session_factory: sessionmaker[Session], model: type[Base]) -> int:
    with session_factory() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_migrations_create_the_schema_and_are_idempotent(blank_database_url: str) -> None:
    head = ScriptDirectory.from_config(alembic_config(blank_database_url)).get_current_head()
    assert current_revision(blank_database_url) is None

    upgrade(blank_database_url)
    upgrade(blank_database_url)

    assert current_revision(blank_database_url) == head
    engine = make_engine(blank_database_url)
    with engine.connect() as connection:
        tables = set(inspect(connection).get_table_names())
        drift = compare_metadata(
            MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata
        )
    engine.dispose()
    assert tables == set(Base.metadata.tables) | {"alembic_version"}
    assert drift == []


def test_saved_answers_round_trip(session_factory: sessionmaker[Session]) -> None:
    in_transaction(
        session_factory,
        lambda session: save_answers(session, WEB, merged(QUALIFIED, DANA), ANSWERS, TRANSCRIPT),
    )

    record = record_of(session_factory, WEB.sender_id)
    with session_factory() as session:
        conversation = session.scalars(select(Conversation)).one()
        answers = {row.slot: (row.said, row.value) for row in conversation.answers}

    assert {name: record[name] for name in vars(QUALIFIED) if getattr(QUALIFIED, name)} == {
        name: value for name, value in vars(QUALIFIED).items() if value is not None
    }
    assert (record["email"], record["person_name"], record["consent"]) == (
        "dana@acme.io",
        "Dana Reyes",
        True,
    )
    assert record["conversations"] == [{"sender_id": "web-visitor-1", "channel": "socketio"}]
    assert (record["score"], record["stage"], record["handoff"]) == (None, "lead", None)
    assert answers == {answer.slot: (answer.said, dict(answer.value)) for answer in ANSWERS}
    assert conversation.transcript[1] == {
        "speaker": "visitor",
        "text": "our sales team loses track of deals",
        "at": "2026-11-03T09:30:05+00:00",
    }


def test_a_conversation_without_contact_details_still_has_a_lead(
    session_factory: sessionmaker[Session],
) -> None:
    in_transaction(
        session_factory,
        lambda session: save_answers(session, WEB, LeadFields(timeline_months=3), [], TRANSCRIPT),
    )

    record = record_of(session_factory, WEB.sender_id)

    assert (record["timeline_months"], record["email"]) == (3.0, None)


def test_the_same_qualification_twice_leaves_one_lead_and_one_history_row(
    session_factory: sessionmaker[Session],
) -> None:
    def submit(session: Session) -> Lead:
        return record_qualification(session, WEB, merged(QUALIFIED, DANA), ANSWERS, TRANSCRIPT, HOT)

    first = in_transaction(session_factory, submit)
    second = in_transaction(session_factory, submit)

    assert first.id == second.id
    assert (count(session_factory, Lead), count(session_factory, QualificationHistory)) == (1, 1)
    assert count(session_factory, LeadAnswer) == len(ANSWERS)
    record = record_of(session_factory, WEB.sender_id)
    assert (record["score"], record["temperature"], record["stage"]) == (
        100,
        "hot",
        "potential_customer",
    )
    assert record["breakdown"] == HOT.breakdown


@pytest.mark.parametrize(
    "second_email",
    ["dana@acme.io", "Dana@ACME.io", "  dana@acme.io "],
)
def test_a_returning_visitor_on_another_channel_updates_the_same_lead(
    session_factory: sessionmaker[Session], second_email: str
) -> None:
    in_transaction(session_factory, lambda session: save_answers(session, WEB, DANA, [], []))
    in_transaction(
        session_factory,
        lambda session: save_answers(
            session, SLACK, LeadFields(email=second_email, timeline_months=6), [], []
        ),
    )

    record = record_of(session_factory, SLACK.sender_id)

    assert count(session_factory, Lead) == 1
    assert record["conversations"] == [
        {"sender_id": "web-visitor-1", "channel": "socketio"},
        {"sender_id": "slack-U123", "channel": "slack"},
    ]
    assert (record["person_name"], record["timeline_months"]) == ("Dana Reyes", 6.0)
    assert record_of(session_factory, WEB.sender_id)["id"] == record["id"]


def test_an_anonymous_lead_is_merged_when_its_email_arrives(
    session_factory: sessionmaker[Session],
) -> None:
    in_transaction(session_factory, lambda session: save_answers(session, WEB, DANA, [], []))
    in_transaction(
        session_factory,
        lambda session: record_qualification(session, SLACK, QUALIFIED, ANSWERS, [], HOT),
    )
    in_transaction(
        session_factory,
        lambda session: request_handoff(session, SLACK, "hot_lead", QUALIFIED, ANSWERS, []),
    )
    assert count(session_factory, Lead) == 2

    in_transaction(
        session_factory,
        lambda session: save_answers(session, SLACK, LeadFields(email="dana@acme.io"), [], []),
    )

    record = record_of(session_factory, SLACK.sender_id)
    assert count(session_factory, Lead) == 1
    assert len(record["conversations"]) == 2
    assert (record["person_name"], record["need_category"], record["score"]) == (
        "Dana Reyes",
        "crm",
        100,
    )
    assert record["handoff"] == "pending"
    assert count(session_factory, QualificationHistory) == 1
    assert count(session_factory, LeadAnswer) == len(ANSWERS)


def test_refused_consent_clears_contact_data(session_factory: sessionmaker[Session]) -> None:
    contact_answers = [*ANSWERS, Answer("email", "it's dana@acme.io", {"email": "dana@acme.io"})]
    transcript = [*TRANSCRIPT, TranscriptLine("visitor", "I'm Dana Reyes from Acme", SAID_AT)]
    in_transaction(
        session_factory,
        lambda session: save_answers(
            session, WEB, merged(QUALIFIED, DANA), contact_answers, transcript
        ),
    )

    in_transaction(
        session_factory,
        lambda session: save_answers(
            session, WEB, LeadFields(consent=False), [Answer("consent", "no", {})], transcript
        ),
    )

    record = record_of(session_factory, WEB.sender_id)
    with session_factory() as session:
        conversation = session.scalars(select(Conversation)).one()
        slots = {row.slot for row in conversation.answers}
    assert [record[name] for name in ("person_name", "email", "email_is_business", "company")] == [
        None
    ] * 4
    assert (record["consent"], record["need_category"]) == (False, "crm")
    assert slots == {"need", "budget", "consent"}
    assert conversation.transcript[-1]["text"] == "I'm [withheld] from [withheld]"


def test_refused_consent_keeps_contact_data_another_conversation_consented_to(
    session_factory: sessionmaker[Session],
) -> None:
    in_transaction(session_factory, lambda session: save_answers(session, WEB, DANA, [], []))

    in_transaction(
        session_factory,
        lambda session: save_answers(
            session, SLACK, LeadFields(email="dana@acme.io", consent=False), [], []
        ),
    )

    record = record_of(session_factory, SLACK.sender_id)
    assert (record["email"], record["person_name"], record["consent"]) == (
        "dana@acme.io",
        "Dana Reyes",
        True,
    )


@pytest.mark.parametrize(
    "later",
    [
        LeadFields(),
        LeadFields(timeline_months=12),
        LeadFields(need="also reporting", authority=None, budget_min=None),
    ],
)
def test_an_unknown_field_never_erases_one_learned_earlier(
    session_factory: sessionmaker[Session], later: LeadFields
) -> None:
    in_transaction(session_factory, lambda session: save_answers(session, WEB, QUALIFIED, [], []))

    in_transaction(session_factory, lambda session: save_answers(session, WEB, later, [], []))

    record = record_of(session_factory, WEB.sender_id)
    assert (record["budget_min"], record["authority"], record["job_title"]) == (
        50000.0,
        "decision_maker",
        "VP Sales",
    )
    assert record["timeline_months"] == (later.timeline_months or QUALIFIED.timeline_months)
    assert record["need"] == (later.need or QUALIFIED.need)


@pytest.mark.parametrize(
    "field, expected_type",
    [
        ("id", int),
        ("budget_min", float),
        ("budget_max", float),
        ("budget_annual", float),
        ("timeline_months", float),
        ("score", int),
        ("email_is_business", bool),
        ("consent", bool),
        ("consent_at", str),
        ("created_at", str),
        ("updated_at", str),
        ("breakdown", list),
        ("conversations", list),
        ("handoff", str),
    ],
)
def test_the_lead_record_has_json_types(
    session_factory: sessionmaker[Session], field: str, expected_type: type
) -> None:
    in_transaction(
        session_factory,
        lambda session: record_qualification(
            session, WEB, merged(QUALIFIED, DANA), ANSWERS, [], HOT
        ),
    )
    in_transaction(
        session_factory,
        lambda session: request_handoff(session, WEB, "visitor_request", LeadFields(), [], []),
    )

    record = record_of(session_factory, WEB.sender_id)

    assert set(record) == {
        *vars(LeadFields()),
        "id",
        "score",
        "temperature",
        "stage",
        "breakdown",
        "rules_version",
        "source",
        "conversations",
        "handoff",
        "created_at",
        "updated_at",
    }
    assert type(record[field]) is expected_type
    if field.endswith("_at"):
        assert datetime.fromisoformat(record[field]).utcoffset() == timedelta(0)
    assert record["consent_at"] == "2026-11-03T09:30:00+00:00"


def test_rescoring_moves_the_stage_and_keeps_every_change(
    session_factory: sessionmaker[Session],
) -> None:
    for scoring in (COLD, HOT, HOT, COLD):
        with session_factory.begin() as session:
            record_qualification(session, WEB, QUALIFIED, [], [], scoring)

    with session_factory() as session:
        stages = session.scalars(
            select(QualificationHistory.stage).order_by(QualificationHistory.id)
        ).all()
    assert stages == ["lead", "potential_customer", "lead"]
    assert record_of(session_factory, WEB.sender_id)["temperature"] == "cold"


@pytest.mark.parametrize("rep_stage", ["customer", "disqualified"])
def test_rescoring_keeps_a_stage_a_rep_set(
    session_factory: sessionmaker[Session], rep_stage: str
) -> None:
    lead = in_transaction(
        session_factory,
        lambda session: record_qualification(session, WEB, QUALIFIED, [], [], COLD),
    )
    with session_factory.begin() as session:
        session.get_one(Lead, lead.id).stage = rep_stage

    in_transaction(
        session_factory,
        lambda session: record_qualification(session, WEB, QUALIFIED, [], [], HOT),
    )

    record = record_of(session_factory, WEB.sender_id)
    assert (record["stage"], record["temperature"], record["score"]) == (rep_stage, "hot", 100)


def test_asking_for_a_human_twice_gives_one_handoff(
    session_factory: sessionmaker[Session],
) -> None:
    def ask(session: Session) -> Handoff:
        return request_handoff(session, WEB, "visitor_request", LeadFields(), ANSWERS, TRANSCRIPT)

    first = in_transaction(session_factory, ask)
    second = in_transaction(session_factory, ask)
    with session_factory.begin() as session:
        session.get_one(Handoff, first.id).status = "rejected"
    third = in_transaction(session_factory, ask)

    assert (first.id, first.status, first.reason) == (second.id, "pending", "visitor_request")
    assert third.id != first.id
    assert count(session_factory, Handoff) == 2
    assert record_of(session_factory, WEB.sender_id)["handoff"] == "pending"


@pytest.mark.parametrize(
    "call",
    [
        lambda session: request_handoff(session, WEB, "bored", LeadFields(), [], []),
        lambda session: record_qualification(
            session, WEB, LeadFields(), [], [], Scoring(0, [], "tepid", "lead", "v1")
        ),
        lambda session: record_qualification(
            session, WEB, LeadFields(), [], [], Scoring(0, [], "cold", "won", "v1")
        ),
    ],
)
def test_unknown_reasons_stages_and_temperatures_are_refused(
    session_factory: sessionmaker[Session], call: Callable[[Session], Any]
) -> None:
    with pytest.raises(ValueError):
        in_transaction(session_factory, call)
    assert count(session_factory, Lead) == 0


def test_lists_leads_and_finds_none_for_an_unknown_sender(
    session_factory: sessionmaker[Session],
) -> None:
    for ref in (WEB, SLACK):
        with session_factory.begin() as session:
            save_answers(session, ref, QUALIFIED, [], [])

    with session_factory() as session:
        leads = list_leads(session)
        unknown = lead_for_sender(session, "nobody")

    # Newest first, as the README says of `leadbot leads list`.
    assert [lead_record(lead)["conversations"][0]["sender_id"] for lead in leads] == [
        "slack-U123",
        "web-visitor-1",
    ]
    assert unknown is None


def run_at_once(workers: int, work: Callable[[int], Any]) -> list[Any]:
    """Run ``work(i)`` on several threads released together; re-raise any thread's error."""
    start = threading.Barrier(workers)
    results: list[Any] = [None] * workers

    def worker(index: int) -> None:
        start.wait()
        try:
            results[index] = work(index)
        except BaseException as error:  # handed to the main thread below
            results[index] = error

    threads = [threading.Thread(target=worker, args=(index,)) for index in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results


def test_concurrent_saves_of_one_new_sender_make_one_conversation_and_one_lead(
    session_factory: sessionmaker[Session],
) -> None:
    def save(index: int) -> int:
        fields = LeadFields(timeline_months=float(index))
        lead = with_retries(
            lambda session: save_answers(session, WEB, fields, ANSWERS, TRANSCRIPT),
            session_factory,
            attempts=8,
            base_delay=0.01,
        )
        return lead.id

    lead_ids = run_at_once(8, save)

    assert len(set(lead_ids)) == 1
    assert (count(session_factory, Conversation), count(session_factory, Lead)) == (1, 1)
    assert count(session_factory, LeadAnswer) == len(ANSWERS)


def test_concurrent_saves_of_one_new_email_make_one_lead(
    session_factory: sessionmaker[Session],
) -> None:
    def save(index: int) -> int:
        visitor = ConversationRef(sender_id=f"visitor-{index}", channel="rest")
        lead = with_retries(
            lambda session: save_answers(session, visitor, DANA, ANSWERS, []),
            session_factory,
            attempts=8,
            base_delay=0.01,
        )
        return lead.id

    lead_ids = run_at_once(8, save)

    assert len(set(lead_ids)) == 1
    assert (count(session_factory, Conversation), count(session_factory, Lead)) == (8, 1)


def test_with_retries_commits_and_returns_the_result(
    session_factory: sessionmaker[Session],
) -> None:
    lead = with_retries(
        lambda session: save_answers(session, WEB, QUALIFIED, [], []), session_factory
    )

    assert record_of(session_factory, WEB.sender_id)["id"] == lead.id


def test_with_retries_reraises_the_last_error(session_factory: sessionmaker[Session]) -> None:
    in_transaction(session_factory, lambda session: save_answers(session, WEB, QUALIFIED, [], []))
    attempts_made = []

    def duplicate_sender(session: Session) -> None:
        attempts_made.append(1)
        session.add(Conversation(sender_id=WEB.sender_id, channel="rest", lead=Lead()))
        session.flush()

    with pytest.raises(IntegrityError):
        with_retries(duplicate_sender, session_factory, attempts=3, base_delay=0)

    assert len(attempts_made) == 3
    assert (count(session_factory, Conversation), count(session_factory, Lead)) == (1, 1)


def test_with_retries_does_not_retry_a_bug(session_factory: sessionmaker[Session]) -> None:
    attempts_made = []

    def broken(session: Session) -> None:
        attempts_made.append(1)
        raise KeyError("slot")

    with pytest.raises(KeyError):
        with_retries(broken, session_factory, attempts=3, base_delay=0)

    assert len(attempts_made) == 1
