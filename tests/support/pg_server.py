"""A throwaway PostgreSQL server in a temporary folder, for the tests and the benchmark.

The server runs on a free loopback port, trusts local connections and is stopped and deleted
when the ``running`` context ends. Tests run it without durability (it costs seconds per run);
the benchmark runs it with PostgreSQL's default, durable settings so commit costs are real.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg

from tests.support.bot import free_port

POSTGRES_BIN = Path(os.environ.get("LEADBOT_TEST_POSTGRES_BIN", "/usr/lib/postgresql/15/bin"))
# initdb and postgres refuse to run as root; the Debian package's account runs them instead.
POSTGRES_ACCOUNT = "postgres"
# Durability is pointless for a throwaway test server and costs seconds per test run.
NOT_DURABLE = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"


class PostgresUnavailable(RuntimeError):
    """PostgreSQL is not installed, or its server would not start or stop."""


@dataclass(frozen=True)
class PostgresServer:
    """A running throwaway PostgreSQL server that trusts local connections."""

    port: int
    # Its data folder and server options, for `stop` and `start` (fault tests).
    data: Path | None = None
    options: str = ""

    def url(self, database: str) -> str:
        """The SQLAlchemy URL of one database on this server."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def connect(self, database: str, autocommit: bool = False) -> psycopg.Connection:
        """A plain psycopg connection to one database, as the superuser."""
        return psycopg.connect(
            host="127.0.0.1",
            port=self.port,
            user="postgres",
            dbname=database,
            autocommit=autocommit,
        )

    def stop(self) -> None:
        """Stops the server (fast shutdown: open connections are closed), keeping its data."""
        assert self.data is not None
        _run(
            [str(POSTGRES_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"],
            self.data.parent / "server.log",
        )

    def start(self) -> None:
        """Starts the server again on the same port, with the same data."""
        assert self.data is not None
        log = self.data.parent / "server.log"
        _run(
            [str(POSTGRES_BIN / "pg_ctl"), "-D", str(self.data), "-o", self.options]
            + ["-l", str(log), "-w", "start"],
            log,
        )

    def create_database(self, name: str) -> str:
        """Create an empty database and return its URL."""
        with self.connect("postgres", autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


@contextmanager
def running(durable: bool = False) -> Iterator[PostgresServer]:
    """Start a PostgreSQL server for the duration of the context, then stop and delete it.

    Args:
        durable: keep PostgreSQL's default fsync and synchronous commit; off for tests.

    Raises:
        PostgresUnavailable: the server binaries are missing, or initdb or pg_ctl failed.
    """
    if not (POSTGRES_BIN / "pg_ctl").exists():
        raise PostgresUnavailable(
            f"PostgreSQL server binaries not found in {POSTGRES_BIN}: install PostgreSQL 15 "
            "(apt-get install postgresql-15) or point LEADBOT_TEST_POSTGRES_BIN at its bin folder."
        )
    # Not pytest's tmp_path: its parent folders are private to root, and postgres must reach it.
    home = Path(tempfile.mkdtemp(prefix="leadbot-pg-"))
    if os.geteuid() == 0:
        shutil.chown(home, POSTGRES_ACCOUNT, POSTGRES_ACCOUNT)
    data, log = home / "data", home / "server.log"
    port = free_port()
    options = f"-p {port} -k {home} -c listen_addresses=127.0.0.1"
    if not durable:
        options += f" {NOT_DURABLE}"
    pg_ctl = str(POSTGRES_BIN / "pg_ctl")
    try:
        _run(
            [str(POSTGRES_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"]
            + ["--no-sync", "-E", "UTF8", "--locale=C"],
            log,
        )
        _run([pg_ctl, "-D", str(data), "-o", options, "-l", str(log), "-w", "start"], log)
        yield PostgresServer(port, data, options)
    finally:
        if (data / "postmaster.pid").exists():
            _run([pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"], log)
        shutil.rmtree(home, ignore_errors=True)


def _as_postgres_account(command: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", POSTGRES_ACCOUNT, "--", *command]
    return command


def _run(command: list[str], log: Path) -> None:
    result = subprocess.run(
        _as_postgres_account(command), capture_output=True, text=True, timeout=120, check=False
    )
    if result.returncode != 0:
        server_log = log.read_text() if log.exists() else ""
        raise PostgresUnavailable(
            f"{' '.join(command)} failed ({result.returncode}):\n"
            f"{result.stdout}{result.stderr}{server_log}"
        )
