"""Bring a CRM store's schema up to date with Alembic, without an alembic.ini."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, text

from crm_bridge.store import make_engine, sqlite_file

MIGRATIONS: Final = Path(__file__).resolve().parent / "migrations"
# Any constant works; it only has to be the same for every process migrating one database.
_POSTGRES_MIGRATION_LOCK: Final = 7_245_311


def alembic_config(url: str) -> Config:
    """An Alembic configuration for the store at ``url``, built in code."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # ConfigParser treats % as interpolation; URL-encoded passwords contain it.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str) -> None:
    """Migrate the store at ``url`` to the newest schema; a store already there is left alone.

    Safe to call from several processes starting at once: PostgreSQL serialises them on an
    advisory lock, SQLite on a lock file beside the database, taken before the first connection
    (two first connections to a new file race to switch it to WAL, and one was refused at once
    with "database is locked", whatever the busy timeout).
    """
    with _sqlite_migration_lock(url):
        _upgrade(url)


@contextmanager
def _sqlite_migration_lock(url: str) -> Iterator[None]:
    database = sqlite_file(url)
    if database is None:
        yield
        return
    with database.with_name(database.name + ".migrating").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file is closed
        yield


def _upgrade(url: str) -> None:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            sqlite = connection.dialect.name == "sqlite"
            if sqlite:
                # SQLite changes a table by copying it and dropping the old one; with foreign
                # keys on, the drop would delete every row that points at it (conversations,
                # answers, history). The switch works only outside a transaction, and this
                # connection is thrown away with the engine.
                sqlite_connection = connection.connection.driver_connection
                assert sqlite_connection is not None  # a live connection has its driver's
                sqlite_connection.execute("PRAGMA foreign_keys=OFF")
            with connection.begin():
                if not sqlite:
                    connection.execute(
                        text("SELECT pg_advisory_xact_lock(:key)"),
                        {"key": _POSTGRES_MIGRATION_LOCK},
                    )
                _run_upgrade(url, connection)
                if sqlite and connection.exec_driver_sql("PRAGMA foreign_key_check").first():
                    raise RuntimeError("the migration left rows pointing at rows that are gone")
    finally:
        engine.dispose()


def current_revision(url: str) -> str | None:
    """The migration the store at ``url`` is at, or None for a store never migrated."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def _run_upgrade(url: str, connection: Connection) -> None:
    config = alembic_config(url)
    # env.py runs on this connection, inside the transaction that holds the lock.
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
