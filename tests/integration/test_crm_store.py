"""Engines, timestamps and migrations of the CRM store on real SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from crm_bridge.leads import (
    ConversationRef,
    LeadFields,
    lead_for_sender,
    lead_record,
    save_answers,
)
from crm_bridge.migrate import alembic_config, current_revision, upgrade
from crm_bridge.store import make_engine, sqlite_file

VISITOR = ConversationRef(sender_id="rest-42", channel="rest")


@pytest.mark.parametrize(
    "pragma, expected",
    [("journal_mode", "wal"), ("foreign_keys", 1), ("busy_timeout", 30000)],
)
def test_sqlite_engine_is_set_up_for_concurrent_writers(
    tmp_path: Path, pragma: str, expected: object
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'new' / 'folder' / 'leadbot.db'}")
    with engine.connect() as connection:
        value = connection.exec_driver_sql(f"PRAGMA {pragma}").scalar()
    engine.dispose()

    assert value == expected
    assert (tmp_path / "new" / "folder").is_dir()


@pytest.mark.parametrize(
    "url, driver",
    [
        ("postgresql://rep@db.example/leadbot", "postgresql+psycopg"),
        ("postgresql+psycopg://rep@db.example/leadbot", "postgresql+psycopg"),
    ],
)
def test_postgres_urls_use_psycopg_3(url: str, driver: str) -> None:
    engine = make_engine(url)  # no connection is made until one is needed

    assert engine.url.drivername == driver
    assert engine.url.database == make_url(url).database


def test_a_sqlite_store_file_gets_its_folder_and_other_stores_have_no_file(
    tmp_path: Path,
) -> None:
    database = tmp_path / "new" / "folder" / "leads.db"

    assert sqlite_file(f"sqlite:///{database}") == database
    assert database.parent.is_dir()
    assert sqlite_file("sqlite://") is None
    assert sqlite_file("sqlite:///:memory:") is None
    assert sqlite_file("sqlite:///file:leads?mode=memory&uri=true") is None
    assert sqlite_file("postgresql://rep@db.example/leadbot") is None


@pytest.mark.parametrize(
    "said_at, stored",
    [
        (datetime(2026, 11, 3, 11, 30, tzinfo=timezone(timedelta(hours=2))), "09:30:00+00:00"),
        (datetime(2026, 11, 3, 9, 30, tzinfo=timezone.utc), "09:30:00+00:00"),
        (datetime(2026, 11, 3, 9, 30), "09:30:00+00:00"),
    ],
)
def test_timestamps_come_back_in_utc(
    session_factory: sessionmaker[Session], said_at: datetime, stored: str
) -> None:
    fields = LeadFields(consent=True, consent_at=said_at)
    with session_factory.begin() as session:
        save_answers(session, VISITOR, fields, [], [])

    with session_factory() as session:
        lead = lead_for_sender(session, VISITOR.sender_id)
        assert lead is not None
        record = lead_record(lead)

    assert record["consent_at"] == f"2026-11-03T{stored}"
    assert record["created_at"].endswith("+00:00")


def test_migrating_from_several_processes_at_once_is_safe(blank_database_url: str) -> None:
    errors: list[BaseException] = []

    def migrate() -> None:
        try:
            upgrade(blank_database_url)
        except BaseException as error:  # handed to the main thread below
            errors.append(error)

    threads = [threading.Thread(target=migrate) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert current_revision(blank_database_url) is not None


def test_upgrading_a_store_of_the_first_schema_keeps_every_row(blank_database_url: str) -> None:
    # SQLite rebuilds a changed table by copying it and dropping the old one: with foreign
    # keys on, the drop deleted every conversation, answer and history row of every lead.
    command.upgrade(alembic_config(blank_database_url), "0001_initial")
    engine = make_engine(blank_database_url)
    moment = "2026-11-03 09:00:00"
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO leads (id, stage, created_at, updated_at)"
                " VALUES (1, 'prospect', :at, :at)"
            ),
            {"at": moment},
        )
        connection.execute(
            text(
                "INSERT INTO conversations (id, sender_id, channel, lead_id, transcript,"
                " started_at, updated_at) VALUES (1, 'rest-1', 'rest', 1, '[]', :at, :at)"
            ),
            {"at": moment},
        )
        connection.execute(
            text(
                "INSERT INTO lead_answers (conversation_id, slot, value, answered_at)"
                " VALUES (1, 'need', '{\"need\": \"a CRM\"}', :at)"
            ),
            {"at": moment},
        )
    engine.dispose()

    upgrade(blank_database_url)

    engine = make_engine(blank_database_url)
    with engine.connect() as connection:
        counts = {
            table: connection.execute(text(f"SELECT count(*) FROM {table}")).scalar()
            for table in ("leads", "conversations", "lead_answers")
        }
    engine.dispose()
    assert counts == {"leads": 1, "conversations": 1, "lead_answers": 1}
    assert (
        current_revision(blank_database_url)
        == ScriptDirectory.from_config(alembic_config(blank_database_url)).get_current_head()
    )
