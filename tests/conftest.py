"""Shared fixtures: throwaway CRM stores on SQLite and on a private PostgreSQL 15 server, and
headless Chromium for the browser tests.

Every store test takes ``database_url`` and runs once per database. The PostgreSQL server is
started once per test session in a temporary folder on a free loopback port, each test gets
one migrated database emptied before it, and the server is stopped at the end.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser
from sqlalchemy.orm import Session, sessionmaker

from crm_bridge.migrate import upgrade
from crm_bridge.models import Base
from crm_bridge.store import make_engine, make_session_factory
from tests.support import pg_server
from tests.support.chromium import headless_chromium
from tests.support.pg_server import PostgresServer

STORE_DATABASE = "leadbot_test"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL 15 server for this test session; fails when PostgreSQL is not installed."""
    try:
        with pg_server.running(durable=False) as server:
            yield server
    except pg_server.PostgresUnavailable as error:
        pytest.fail(str(error))


@pytest.fixture(scope="session")
def postgres_store(postgres_server: PostgresServer) -> str:
    """The URL of one migrated database shared by the PostgreSQL tests of this session."""
    url = postgres_server.create_database(STORE_DATABASE)
    upgrade(url)
    return url


@pytest.fixture
def postgres_url(postgres_server: PostgresServer, postgres_store: str) -> str:
    """The migrated PostgreSQL store, emptied for one test."""
    tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    with postgres_server.connect(STORE_DATABASE, autocommit=True) as connection:
        # Far faster than a database per test; identities restart so ids read the same.
        connection.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    return postgres_store


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh, migrated SQLite file for one test."""
    url = f"sqlite:///{tmp_path / 'var' / 'leadbot.db'}"
    upgrade(url)
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """A fresh, migrated store: the test runs once on SQLite and once on PostgreSQL."""
    return str(request.getfixturevalue(f"{request.param}_url"))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def blank_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store with no tables yet, on SQLite and on PostgreSQL, for migration tests."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'blank' / 'leadbot.db'}"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.create_database(f"blank_{uuid.uuid4().hex[:12]}")


@pytest.fixture
def session_factory(database_url: str) -> Iterator[sessionmaker[Session]]:
    """Sessions on ``database_url``; the engine is disposed after the test."""
    engine = make_engine(database_url)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, for one test module."""
    try:
        with headless_chromium() as chromium:
            yield chromium
    except FileNotFoundError as error:
        pytest.fail(str(error))
