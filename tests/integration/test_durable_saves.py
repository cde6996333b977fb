"""A final save the store refuses is kept on disk and written once when the store is back
(issue 10): on the real servers with PostgreSQL stopped while a visitor finishes the form, and
on the spool itself (crm_bridge/spool.py)."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from crm_bridge import outbox, spool
from crm_bridge.models import Handoff, Lead, OutboxMessage, QualificationHistory
from crm_bridge.store import make_engine, make_session_factory
from crm_bridge.submission import Answer, ConversationRef, LeadFields, Scoring, TranscriptLine
from tests.support import pg_server
from tests.support.bot import free_port, running_bot
from tests.support.scenario_player import compare_lead, load_personas

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
SAVE_PENDING = DOMAIN["responses"]["utter_save_pending"][0]["text"]
HOT_PERSONA = next(
    p
    for p in load_personas(ROOT.parent / "shared" / "scenarios" / "dev.yml")
    if p.id == "hot-pipeline"
)
# The outage lasts 30 s; a shorter one proves the same and keeps the suite quick.
OUTAGE_S = 10
WAIT_FOR_STORE_S = 120
NOW = datetime(2026, 12, 2, 5, 0, tzinfo=timezone.utc)
HOT_SAVE = spool.FinalSave(
    conversation=ConversationRef("spooled-visitor", "rest"),
    fields=LeadFields(
        need="deal tracking",
        need_category="crm",
        person_name="Dana Whitfield",
        email="dana@northwind-labs.com",
        consent=True,
        consent_at=NOW,
    ),
    answers=(Answer("need", "deal tracking", {"need": "deal tracking", "need_category": "crm"}),),
    transcript=(TranscriptLine("visitor", "deal tracking", NOW),),
    scoring=Scoring(
        score=80,
        breakdown=({"dimension": "need", "points": 25, "reason": "matches crm"},),
        temperature="hot",
        stage="potential_customer",
        rules_version="v1",
    ),
    handoff_reason="hot_lead",
)


def _counts(session: Session) -> tuple[int, int, int, int]:
    """Leads, history rows, handoffs and reps' Slack alerts in the store."""

    def count(table: type[Any], *where: Any) -> int:
        return session.scalar(select(func.count()).select_from(table).where(*where)) or 0

    return (
        count(Lead),
        count(QualificationHistory),
        count(Handoff),
        count(OutboxMessage, OutboxMessage.kind == outbox.SLACK_HANDOFF_ALERT),
    )


def test_a_kept_save_is_written_once_however_often_it_is_written(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    folder = tmp_path / "spool"
    kept = spool.keep(HOT_SAVE, folder)
    assert kept.stat().st_mode & 0o077 == 0, "the file holds personal data: owner only"
    # The action server stopped after writing it but before removing its file.
    spool.keep(HOT_SAVE, folder)
    with session_factory.begin() as session:
        spool.write(session, HOT_SAVE)

    assert spool.write_kept(folder, session_factory) == 1
    assert spool.kept(folder) == []
    with session_factory() as session:
        assert _counts(session) == (1, 1, 1, 1)


def test_a_newer_save_of_the_same_conversation_replaces_the_older(tmp_path: Path) -> None:
    folder = tmp_path / "spool"
    spool.keep(HOT_SAVE, folder)
    newer = dataclasses.replace(HOT_SAVE, fields=LeadFields(company="Northwind Labs"))
    spool.keep(newer, folder)
    [only] = spool.kept(folder)
    assert only.read_text(encoding="utf-8").count("Northwind Labs") == 1


def test_a_save_the_store_refuses_stays_kept(tmp_path: Path) -> None:
    folder = tmp_path / "spool"
    spool.keep(HOT_SAVE, folder)
    refusing = make_session_factory(make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none"))
    assert spool.write_kept(folder, refusing) == 0
    assert [path.suffix for path in spool.kept(folder)] == [spool.KEPT]


def test_postgres_down_while_a_visitor_finishes_the_form(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEADBOT_SPOOL_RETRY_S", "1")
    sender_id = f"durable-{uuid.uuid4().hex[:8]}"
    with pg_server.running() as server:
        url = server.create_database("durable")
        with running_bot(tmp_path / "bot", database_url=url) as bot:
            bot.say(sender_id, HOT_PERSONA.opening)
            slot = bot.tracker(sender_id)["slots"]["requested_slot"]
            while slot != "company":
                assert bot.say(sender_id, HOT_PERSONA.answer_for(slot)), f"no reply to {slot}"
                slot = bot.tracker(sender_id)["slots"]["requested_slot"]

            server.stop()
            replies = bot.say(sender_id, HOT_PERSONA.answer_for("company"))
            assert [r.get("text") for r in replies] == [SAVE_PENDING], bot.logs()
            events_when_told = bot.tracker(sender_id)["events"]
            assert len(spool.kept(tmp_path / "bot" / "spool")) == 1
            time.sleep(OUTAGE_S)
            server.start()

            deadline = time.monotonic() + WAIT_FOR_STORE_S
            while spool.kept(tmp_path / "bot" / "spool") and time.monotonic() < deadline:
                time.sleep(1)
            assert spool.kept(tmp_path / "bot" / "spool") == [], bot.logs()
            lead = bot.lead(sender_id)
            assert compare_lead(HOT_PERSONA.expect, lead) == [], bot.logs()
            # Nothing more was said to the visitor, and they did not have to write again.
            assert bot.tracker(sender_id)["events"] == events_when_told

            engine = make_engine(url)
        try:
            with make_session_factory(engine)() as session:
                assert _counts(session) == (1, 1, 1, 1)
        finally:
            engine.dispose()


def test_a_save_kept_before_a_restart_is_written_by_the_next_action_server(
    sqlite_url: str, tmp_path: Path
) -> None:
    # Kept by an action server that has stopped since: all that is left is the file.
    folder = tmp_path / "spool"
    spool.keep(HOT_SAVE, folder)
    log = tmp_path / "actions.log"
    env = {
        **os.environ,
        "LEADBOT_DATABASE_URL": sqlite_url,
        "LEADBOT_ACTION_SECRET": "durable-saves-secret",
        "LEADBOT_SPOOL_DIR": str(folder),
        "LEADBOT_SPOOL_RETRY_S": "1",
    }
    with log.open("ab") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "bot.action_server", "--port", str(free_port())],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + WAIT_FOR_STORE_S
        while spool.kept(folder) and time.monotonic() < deadline:
            assert server.poll() is None, log.read_text(errors="replace")
            time.sleep(0.5)
        assert spool.kept(folder) == [], log.read_text(errors="replace")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    engine = make_engine(sqlite_url)
    try:
        with make_session_factory(engine)() as session:
            assert _counts(session) == (1, 1, 1, 1)
    finally:
        engine.dispose()
