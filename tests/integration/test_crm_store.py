"""Engines, timestamps and migrations of the CRM store on real SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from crm_bridge.leads import (
    ConversationRef,
    LeadFields,
    lead_for_sender,
    lead_record,
    save_answers,
)
from crm_bridge.migrate import current_revision, upgrade
from crm_bridge.store import make_engine

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
