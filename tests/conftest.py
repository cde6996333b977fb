"""Shared fixtures: throwaway CRM stores on SQLite and on a private PostgreSQL 15 server.

Every store test takes ``database_url`` and runs once per database. The PostgreSQL server is
started once per test session in a temporary folder on a free loopback port, each test gets
one migrated database emptied before it, and the server is stopped at the end.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.orm import Session, sessionmaker

from crm_bridge.migrate import upgrade
from crm_bridge.models import Base
from crm_bridge.store import make_engine, make_session_factory

POSTGRES_BIN = Path(os.environ.get("LEADBOT_TEST_POSTGRES_BIN", "/usr/lib/postgresql/15/bin"))
STORE_DATABASE = "leadbot_test"
# initdb and postgres refuse to run as root; the Debian package's account runs them instead.
POSTGRES_ACCOUNT = "postgres"


@dataclass(frozen=True)
class PostgresServer:
    """A running throwaway PostgreSQL server that trusts local connections."""

    port: int

    def url(self, database: str) -> str:
        """The SQLAlchemy URL of one database on this server."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """Create an empty database and return its URL."""
        with psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname="postgres", autocommit=True
        ) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def _as_postgres_account(command: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", POSTGRES_ACCOUNT, "--", *command]
    return command


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _run(command: list[str], log: Path) -> None:
    result = subprocess.run(
        _as_postgres_account(command), capture_output=True, text=True, timeout=120, check=False
    )
    if result.returncode != 0:
        server_log = log.read_text() if log.exists() else ""
        pytest.fail(
            f"{' '.join(command)} failed ({result.returncode}):\n"
            f"{result.stdout}{result.stderr}{server_log}"
        )


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL 15 server for this test session; fails when PostgreSQL is not installed."""
    if not (POSTGRES_BIN / "pg_ctl").exists():
        pytest.fail(
            f"PostgreSQL server binaries not found in {POSTGRES_BIN}: install PostgreSQL 15 "
            "(apt-get install postgresql-15) or point LEADBOT_TEST_POSTGRES_BIN at its bin folder."
        )
    # Not pytest's tmp_path: its parent folders are private to root, and postgres must reach it.
    home = Path(tempfile.mkdtemp(prefix="leadbot-pg-"))
    if os.geteuid() == 0:
        shutil.chown(home, POSTGRES_ACCOUNT, POSTGRES_ACCOUNT)
    data, log = home / "data", home / "server.log"
    port = _free_port()
    # Durability is pointless for a throwaway server and costs seconds per test run.
    options = (
        f"-p {port} -k {home} -c listen_addresses=127.0.0.1 "
        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    )
    pg_ctl = str(POSTGRES_BIN / "pg_ctl")
    try:
        _run(
            [str(POSTGRES_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"]
            + ["--no-sync", "-E", "UTF8", "--locale=C"],
            log,
        )
        _run([pg_ctl, "-D", str(data), "-o", options, "-l", str(log), "-w", "start"], log)
        yield PostgresServer(port)
    finally:
        if (data / "postmaster.pid").exists():
            _run([pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"], log)
        shutil.rmtree(home, ignore_errors=True)


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
    with psycopg.connect(
        host="127.0.0.1",
        port=postgres_server.port,
        user="postgres",
        dbname=STORE_DATABASE,
        autocommit=True,
    ) as connection:
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
