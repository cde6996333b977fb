"""The lead lifecycle behind the review app, on real SQLite and PostgreSQL: claims (two at once),
decisions, stages, notes, re-scoring, held chats, the outbox, follow-ups and the funnel."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.orm import Session, sessionmaker

from crm_bridge import accounts, follow_ups, funnel, inbox, lifecycle, outbox
from crm_bridge.models import FollowUp, Handoff, Lead, LeadEvent, OutboxMessage
from crm_bridge.retry import with_retries
from crm_bridge.timestamps import utc_now
from tests.review.factories import COLD, HOT, PASSWORD, WARM, add_user, make_lead

FORM = ("need", "budget", "timeline", "authority", "consent", "person_name", "email", "company")


def _user(sessions: sessionmaker[Session], email: str):  # type: ignore[no-untyped-def]
    with sessions() as session:
        return session.scalars(select(accounts.User).where(accounts.User.email == email)).one()


def test_passwords_are_argon2_hashes_and_unknown_users_verify_a_dummy(
    session_factory: sessionmaker[Session],
) -> None:
    add_user(session_factory, "Rep@Example.com")
    with session_factory.begin() as session:
        user = session.scalars(select(accounts.User)).one()
        assert user.email == "rep@example.com"
        assert user.password_hash.startswith("$argon2id$")
        assert PASSWORD not in user.password_hash
        assert accounts.authenticate(session, "REP@example.com ", PASSWORD) is not None
        assert accounts.authenticate(session, "rep@example.com", "wrong password!") is None
        assert accounts.authenticate(session, "nobody@example.com", PASSWORD) is None
    with session_factory.begin() as session, pytest.raises(accounts.AccountError):
        accounts.add_user(session, "rep@example.com", PASSWORD, "rep")
    with session_factory.begin() as session, pytest.raises(accounts.AccountError):
        accounts.add_user(session, "x@example.com", "short", "rep")
    with session_factory.begin() as session, pytest.raises(accounts.AccountError):
        accounts.add_user(session, "y@example.com", PASSWORD, "superuser")


def test_a_new_handoff_writes_its_slack_alert_in_the_same_transaction_once(
    session_factory: sessionmaker[Session],
) -> None:
    made = make_lead(session_factory)
    # The same visitor asking again keeps the one handoff and the one alert.
    make_lead(session_factory, sender_id=made["sender_id"])
    with session_factory() as session:
        handoffs = session.scalars(select(Handoff)).all()
        alerts = session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == outbox.SLACK_HANDOFF_ALERT)
        ).all()
        assert [h.id for h in handoffs] == [made["handoff_id"]]
        assert [(a.kind, a.handoff_id, a.status) for a in alerts] == [
            (outbox.SLACK_HANDOFF_ALERT, made["handoff_id"], "pending")
        ]
        kinds = [e.kind for e in session.scalars(select(LeadEvent))]
        assert kinds == ["handoff_requested"]


def test_two_reps_claiming_at_once_never_both_win(
    session_factory: sessionmaker[Session],
) -> None:
    made = make_lead(session_factory)
    add_user(session_factory, "ann@example.com")
    add_user(session_factory, "bob@example.com")
    reps = [_user(session_factory, "ann@example.com"), _user(session_factory, "bob@example.com")]
    start = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def claim(rep: accounts.User) -> None:
        start.wait()
        try:
            with_retries(
                lambda session: lifecycle.claim_handoff(session, made["handoff_id"], rep),
                session_factory,
            )
            outcomes[rep.email] = "won"
        except lifecycle.Conflict:
            outcomes[rep.email] = "lost"

    for _ in range(5):  # several rounds: one would prove little about a race
        outcomes.clear()
        with session_factory.begin() as session:
            handoff = session.get(Handoff, made["handoff_id"])
            assert handoff is not None
            handoff.status, handoff.claimed_by = "pending", None
        start.reset()
        threads = [threading.Thread(target=claim, args=(rep,)) for rep in reps]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert sorted(outcomes.values()) == ["lost", "won"], outcomes
        winner = next(email for email, outcome in outcomes.items() if outcome == "won")
        with session_factory() as session:
            handoff = session.get(Handoff, made["handoff_id"])
            lead = session.get(Lead, made["lead_id"])
            assert handoff is not None and lead is not None
            assert (handoff.status, handoff.claimed_by) == ("claimed", winner)
            assert lead.owner is not None and lead.owner.email == winner


def test_decisions_need_the_claim_and_are_audited(session_factory: sessionmaker[Session]) -> None:
    made = make_lead(session_factory)
    add_user(session_factory, "ann@example.com")
    add_user(session_factory, "bob@example.com")
    add_user(session_factory, "boss@example.com", role="admin")
    ann, bob = _user(session_factory, "ann@example.com"), _user(session_factory, "bob@example.com")
    boss = _user(session_factory, "boss@example.com")
    handoff_id = made["handoff_id"]
    with session_factory.begin() as session, pytest.raises(lifecycle.Conflict):
        lifecycle.decide_handoff(session, handoff_id, boss, "accepted")  # not claimed yet
    with session_factory.begin() as session:
        lifecycle.claim_handoff(session, handoff_id, ann)
    with session_factory.begin() as session, pytest.raises(lifecycle.Conflict):
        lifecycle.claim_handoff(session, handoff_id, bob)
    with session_factory.begin() as session, pytest.raises(lifecycle.NotAllowed):
        lifecycle.decide_handoff(session, handoff_id, bob, "accepted")
    with session_factory.begin() as session, pytest.raises(ValueError):
        lifecycle.decide_handoff(session, handoff_id, ann, "rejected", "  ")
    with session_factory.begin() as session:
        lifecycle.decide_handoff(session, handoff_id, ann, "rejected", "a student, not a buyer")
    with session_factory.begin() as session, pytest.raises(lifecycle.NotAllowed):
        lifecycle.set_stage(session, made["lead_id"], "customer", bob)
    with session_factory.begin() as session:
        lifecycle.set_stage(session, made["lead_id"], "disqualified", ann)
        lifecycle.add_note(session, made["lead_id"], ann, "Called back, <b>not</b> a fit")
    with session_factory() as session:
        events = lifecycle.events_of(session, made["lead_id"])
        assert [(e.actor, e.kind) for e in events] == [
            ("bot", "handoff_requested"),
            ("ann@example.com", "claimed"),
            ("ann@example.com", "rejected"),
            ("ann@example.com", "stage_changed"),
            ("ann@example.com", "note_added"),
        ]
        assert events[2].detail == {"status": "rejected", "reason": "a student, not a buyer"}
        assert events[3].detail == {"from": "potential_customer", "to": "disqualified"}
        lead = lifecycle.load_lead(session, made["lead_id"])
        assert [row.stage for row in lead.history][-1] == "disqualified"
        transitions = lifecycle.handoff_events(session, [handoff_id])[handoff_id]
        assert [e.kind for e in transitions] == ["handoff_requested", "claimed", "rejected"]
        assert [n.body for n in lifecycle.notes_of(session, made["lead_id"])] == [
            "Called back, <b>not</b> a fit"
        ]


def test_rescoring_moves_the_stage_and_keeps_history(
    session_factory: sessionmaker[Session],
) -> None:
    made = make_lead(session_factory, scoring=WARM, handoff=None)
    with session_factory.begin() as session:
        lifecycle.apply_scoring(session, made["lead_id"], HOT, "ann@example.com")
    with session_factory() as session:
        lead = lifecycle.load_lead(session, made["lead_id"])
        assert (lead.score, lead.temperature, lead.stage) == (100, "hot", "potential_customer")
        assert [(r.temperature, r.stage) for r in lead.history] == [
            ("warm", "prospect"),
            ("hot", "potential_customer"),
        ]
        rescored = lifecycle.events_of(session, made["lead_id"])[-1]
        assert rescored.kind == "rescored"
        assert rescored.detail["from"]["score"] == 45 and rescored.detail["to"]["score"] == 100


def test_one_rep_at_a_time_holds_a_chat(session_factory: sessionmaker[Session]) -> None:
    made = make_lead(session_factory)
    add_user(session_factory, "ann@example.com")
    add_user(session_factory, "bob@example.com")
    ann, bob = _user(session_factory, "ann@example.com"), _user(session_factory, "bob@example.com")
    with session_factory.begin() as session:
        chat_id = lifecycle.load_lead(session, made["lead_id"]).conversations[0].id
    with session_factory.begin() as session, pytest.raises(lifecycle.NotAllowed):
        lifecycle.hold_conversation(session, chat_id, ann)  # not claimed yet
    with session_factory.begin() as session:
        lifecycle.claim_handoff(session, made["handoff_id"], ann)
        lifecycle.hold_conversation(session, chat_id, ann)
        lifecycle.log_reply(session, chat_id, ann, "Hi Dana, Ann from Acme here.")
    with session_factory.begin() as session, pytest.raises(lifecycle.NotAllowed):
        lifecycle.hold_conversation(session, chat_id, bob)
    with session_factory.begin() as session, pytest.raises(lifecycle.NotAllowed):
        lifecycle.release_conversation(session, chat_id, bob, "closed")
    with session_factory.begin() as session:
        lifecycle.release_conversation(session, chat_id, ann, "handed_back")
    with session_factory() as session:
        kinds = [e.kind for e in lifecycle.events_of(session, made["lead_id"])]
        assert kinds[-3:] == ["chat_taken_over", "reply_sent", "chat_handed_back"]


def test_the_outbox_leases_a_message_to_one_worker_and_records_outcomes(
    session_factory: sessionmaker[Session],
) -> None:
    made = make_lead(session_factory)
    lease = timedelta(seconds=60)
    with session_factory.begin() as session:
        [message_id] = outbox.due_ids(session, outbox.SLACK_HANDOFF_ALERT)
        first = outbox.claim_due(session, message_id, lease)
        assert first is not None and first.attempts == 1
    with session_factory.begin() as session:
        assert outbox.claim_due(session, message_id, lease) is None  # leased to the first
        assert outbox.due_ids(session, outbox.SLACK_HANDOFF_ALERT) == []
        outbox.retry_later(session, message_id, 0, "HTTP 500")
    with session_factory.begin() as session:
        again = outbox.claim_due(session, message_id, lease)
        assert again is not None and again.attempts == 2
        outbox.mark_sent(session, message_id)
    with session_factory() as session:
        sent = outbox.statuses(session, outbox.SLACK_HANDOFF_ALERT, [made["handoff_id"]])
        assert sent[made["handoff_id"]].status == "sent"
        assert outbox.due_ids(session, outbox.SLACK_HANDOFF_ALERT) == []


def test_warm_contactable_leads_get_follow_ups_by_the_cadence(
    session_factory: sessionmaker[Session],
) -> None:
    warm = make_lead(session_factory, scoring=WARM, handoff=None)
    make_lead(session_factory, scoring=WARM, handoff=None, consent=False)  # never contacted
    make_lead(session_factory, scoring=COLD, handoff=None)
    add_user(session_factory, "ann@example.com")
    ann = _user(session_factory, "ann@example.com")
    with session_factory.begin() as session:
        created = follow_ups.schedule(session, [2, 7])
        assert [task.lead_id for task in created] == [warm["lead_id"]]
        assert follow_ups.schedule(session, [2, 7]) == []  # one open task at a time
        first = created[0]
        lead = session.get(Lead, warm["lead_id"])
        assert lead is not None
        assert abs(first.due_at - (lead.history[0].created_at + timedelta(days=2))) < timedelta(
            seconds=5
        )
        first_id = first.id
    with session_factory.begin() as session:
        follow_ups.snooze(session, first_id, ann, 3)
        task = session.get(FollowUp, first_id)
        assert task is not None and task.snoozes == 1
        follow_ups.complete(session, first_id, ann)
        [second] = follow_ups.schedule(session, [2, 7])
        assert second.step == 1
        assert abs(second.due_at - (utc_now() + timedelta(days=7))) < timedelta(seconds=30)
        follow_ups.complete(session, second.id, ann)
        assert follow_ups.schedule(session, [2, 7]) == []  # the cadence is over
    with session_factory() as session:
        kinds = [e.kind for e in lifecycle.events_of(session, warm["lead_id"])]
        assert kinds == ["follow_up_snoozed", "follow_up_done", "follow_up_done"]
        later = utc_now() + timedelta(days=30)
        assert follow_ups.due(session, later) == []


def test_the_funnel_counts_the_furthest_stage_each_lead_reached(
    session_factory: sessionmaker[Session],
) -> None:
    make_lead(session_factory, scoring=COLD, handoff=None, channel="rest")
    make_lead(session_factory, scoring=WARM, handoff=None, channel="socketio")
    hot = make_lead(session_factory, scoring=HOT, channel="socketio")
    make_lead(session_factory, scoring=None, handoff=None, consent=None, channel="slack")
    add_user(session_factory, "boss@example.com", role="admin")
    boss = _user(session_factory, "boss@example.com")
    with session_factory.begin() as session:
        lifecycle.claim_handoff(session, hot["handoff_id"], boss)
        lifecycle.set_stage(session, hot["lead_id"], "customer", boss)
    now = utc_now()
    with session_factory() as session:
        report = funnel.funnel(session, now - timedelta(days=1), now + timedelta(days=1))
        assert report.total.reached == (4, 2, 1, 1)
        assert report.total.conversions == (0.5, 0.5, 1.0)
        assert report.by_channel["socketio"].reached == (2, 2, 1, 1)
        assert report.by_channel["rest"].reached == (1, 0, 0, 0)
        empty = funnel.funnel(session, now - timedelta(days=9), now - timedelta(days=8))
        assert empty.total.reached == (0, 0, 0, 0) and empty.total.overall is None
        drop = {
            row.slot: row
            for row in funnel.drop_off(session, FORM, now - timedelta(1), now + timedelta(1))
        }
        # Every visitor gave need and budget and stopped at the timeline question.
        assert drop["need"].answered == 4 and drop["timeline"].stopped_here == 4


def test_each_lead_keeps_the_furthest_stage_it_reached_as_it_changes(
    session_factory: sessionmaker[Session],
) -> None:
    cooled = make_lead(session_factory, scoring=WARM, handoff=None)
    dropped = make_lead(session_factory, scoring=HOT)
    anonymous = make_lead(session_factory, scoring=HOT, consent=None, handoff=None)
    known = make_lead(session_factory, scoring=COLD, handoff=None, email="kim@example.com")
    add_user(session_factory, "boss@example.com", role="admin")
    boss = _user(session_factory, "boss@example.com")
    with session_factory.begin() as session:
        lifecycle.apply_scoring(session, cooled["lead_id"], COLD, "boss@example.com")
        lifecycle.claim_handoff(session, dropped["handoff_id"], boss)
        lifecycle.set_stage(session, dropped["lead_id"], "disqualified", boss)
    # The anonymous visitor gives the email of a known lead, cooling down: the two leads merge.
    make_lead(
        session_factory,
        scoring=COLD,
        handoff=None,
        sender_id=anonymous["sender_id"],
        email="kim@example.com",
    )
    with session_factory() as session:
        reached = {
            lead.id: (lead.stage, lead.furthest_stage) for lead in session.scalars(select(Lead))
        }
    assert reached == {
        cooled["lead_id"]: ("lead", "prospect"),
        dropped["lead_id"]: ("disqualified", "potential_customer"),
        known["lead_id"]: ("lead", "potential_customer"),
    }
    now = utc_now()
    with session_factory() as session:
        report = funnel.funnel(session, now - timedelta(days=1), now + timedelta(days=1))
    assert report.total.reached == (3, 3, 2, 0)


def test_the_migration_fills_the_furthest_stage_of_existing_leads(
    blank_database_url: str,
) -> None:
    from alembic import command

    from crm_bridge.migrate import alembic_config, upgrade
    from crm_bridge.store import make_engine, make_session_factory

    upgrade(blank_database_url)
    engine = make_engine(blank_database_url)
    try:
        sessions = make_session_factory(engine)
        cooled = make_lead(sessions, scoring=WARM, handoff=None)
        hot = make_lead(sessions, scoring=HOT, handoff=None)
        cold = make_lead(sessions, scoring=COLD, handoff=None)
        with sessions.begin() as session:
            lifecycle.apply_scoring(session, cooled["lead_id"], COLD, "boss@example.com")
        command.downgrade(alembic_config(blank_database_url), "0004_crm_sync")
        assert "furthest_stage" not in {c["name"] for c in inspect(engine).get_columns("leads")}
        upgrade(blank_database_url)
        with engine.connect() as connection:
            reached = dict(connection.execute(text("SELECT id, furthest_stage FROM leads")).all())
            history = connection.scalar(text("SELECT count(*) FROM qualification_history"))
    finally:
        engine.dispose()
    assert reached == {
        cooled["lead_id"]: "prospect",
        hot["lead_id"]: "potential_customer",
        cold["lead_id"]: "lead",
    }
    assert history == 4  # the migration keeps every row that refers to a lead


def test_the_inbox_pages_run_on_from_pending_handoffs_to_every_other_lead(
    session_factory: sessionmaker[Session],
) -> None:
    made = [
        make_lead(session_factory, scoring=scoring, handoff=handoff)
        for scoring, handoff in (
            (COLD, None),
            (HOT, "hot_lead"),
            (WARM, "visitor_request"),
            (WARM, None),
            (HOT, "hot_lead"),
            (COLD, None),
        )
    ]
    add_user(session_factory, "boss@example.com", role="admin")
    boss = _user(session_factory, "boss@example.com")
    with session_factory.begin() as session:
        lifecycle.claim_handoff(session, made[4]["handoff_id"], boss)
    pending = [made[1], made[2]]  # hot before warm
    others = [made[4], made[5], made[3], made[0]]  # most recently active first: claimed last
    with session_factory() as session:
        for filters, expected in (
            (inbox.LeadFilter(), pending + others),
            (inbox.LeadFilter(handoff="open"), pending + [made[4]]),
            (inbox.LeadFilter(handoff="pending"), pending),
            (inbox.LeadFilter(handoff="none"), [made[5], made[3], made[0]]),
            (inbox.LeadFilter(temperature="warm"), [made[2], made[3]]),
        ):
            for size in (1, 2, 3, 50):
                pages = [inbox.page(session, filters, number, size) for number in range(1, 8)]
                assert [r.lead.id for rows, _ in pages for r in rows] == [
                    m["lead_id"] for m in expected
                ], (filters, size)
                assert {total for _, total in pages} == {len(expected)}


def test_the_inbox_puts_pending_hot_and_oldest_first_and_filters(
    session_factory: sessionmaker[Session],
) -> None:
    old_warm = make_lead(session_factory, scoring=WARM, handoff="visitor_request", company="Old")
    old_hot = make_lead(session_factory, scoring=HOT, company="Hot Old")
    new_hot = make_lead(session_factory, scoring=HOT, company="Hot New", name="Zed_100%")
    no_handoff = make_lead(session_factory, scoring=COLD, handoff=None, company="Quiet")
    with session_factory() as session:
        rows, total = inbox.page(session, inbox.LeadFilter())
        assert total == 4
        assert [r.lead.id for r in rows] == [
            old_hot["lead_id"],
            new_hot["lead_id"],
            old_warm["lead_id"],
            no_handoff["lead_id"],
        ]
        found, _ = inbox.page(session, inbox.LeadFilter(search="hot NEW"))
        assert [r.lead.id for r in found] == [new_hot["lead_id"]]
        found, _ = inbox.page(session, inbox.LeadFilter(search="_100%"))
        assert [r.lead.id for r in found] == [new_hot["lead_id"]]
        found, _ = inbox.page(session, inbox.LeadFilter(search="Hot%New"))
        assert found == []
        found, _ = inbox.page(session, inbox.LeadFilter(temperature="warm"))
        assert [r.lead.id for r in found] == [old_warm["lead_id"]]
        found, _ = inbox.page(session, inbox.LeadFilter(handoff="none"))
        assert [r.lead.id for r in found] == [no_handoff["lead_id"]]
        found, _ = inbox.page(session, inbox.LeadFilter(channel="slack"))
        assert found == []
        found, _ = inbox.page(session, inbox.LeadFilter(owner_id=inbox.NO_OWNER, stage="lead"))
        assert [r.lead.id for r in found] == [no_handoff["lead_id"]]
        later = datetime.now(timezone.utc) + timedelta(days=1)
        assert inbox.page(session, inbox.LeadFilter(since=later))[1] == 0
        assert len(list(inbox.every_row(session, inbox.LeadFilter(), chunk=3))) == 4


def test_the_review_migration_goes_down_and_up_again_keeping_leads(
    blank_database_url: str,
) -> None:
    from alembic import command
    from alembic.script import ScriptDirectory
    from sqlalchemy import inspect

    from crm_bridge.migrate import alembic_config, current_revision, upgrade
    from crm_bridge.store import make_engine, make_session_factory

    upgrade(blank_database_url)
    config = alembic_config(blank_database_url)
    assert (
        current_revision(blank_database_url)
        == ScriptDirectory.from_config(config).get_current_head()
    )
    engine = make_engine(blank_database_url)
    try:
        make_lead(make_session_factory(engine), handoff=None)
        command.downgrade(alembic_config(blank_database_url), "0001_initial")
        assert "users" not in inspect(engine).get_table_names()
        assert "source" not in {c["name"] for c in inspect(engine).get_columns("leads")}
        upgrade(blank_database_url)
        columns = {c["name"] for c in inspect(engine).get_columns("conversations")}
        assert {"page_url", "referrer", "utm", "held_by"} <= columns
        with make_session_factory(engine)() as session:
            assert len(session.scalars(select(Lead)).all()) == 1
    finally:
        engine.dispose()


def test_review_pages_read_while_the_bot_writes(sqlite_url: str) -> None:
    """On SQLite a reader takes no write lock: a rep's page never waits for the bot's write."""
    import time

    from crm_bridge.store import make_engine, make_read_session_factory, make_session_factory

    engine = make_engine(sqlite_url)
    try:
        writes, reads = make_session_factory(engine), make_read_session_factory(engine)
        make_lead(writes, handoff=None)
        with writes.begin() as writing:
            writing.add(Lead(stage="lead"))
            writing.flush()  # the write lock is held until this block commits
            started = time.monotonic()
            with reads() as reading:
                assert len(reading.scalars(select(Lead)).all()) == 1  # the committed lead only
            assert time.monotonic() - started < 2
    finally:
        engine.dispose()
