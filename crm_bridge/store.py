"""Engines and sessions for the CRM store, tuned for SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.orm import Session, sessionmaker

# Error messages never quote the values written: they hold visitors' names and emails.
# How long a SQLite writer waits for another writer before giving up.
SQLITE_BUSY_TIMEOUT_MS: Final = 30_000
# An execution option marking a connection that only reads.
READ_ONLY_OPTION: Final = "leadbot_read_only"


def make_engine(url: str) -> Engine:
    """Create an engine for a store URL.

    SQLite files get their parent folder created, WAL journaling, foreign keys and a busy
    timeout, and every transaction takes the write lock up front (``BEGIN IMMEDIATE``) so
    concurrent writers from several threads or processes queue instead of failing.
    ``postgresql://`` URLs use psycopg 3. Every pooled connection is pinged before use.
    Any text is storable: a lone UTF-16 surrogate (half an emoji) in a value or a JSON
    document is written as U+FFFD instead of failing the whole unit of work.

    Args:
        url: a SQLAlchemy URL, e.g. ``sqlite:///var/leadbot.db`` or
            ``postgresql+psycopg://user@host/leadbot``.

    Returns:
        The engine; dispose of it when the process is done with the store.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _storable_text(_sqlite_engine(parsed))
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return _storable_text(
        create_engine(
            parsed, pool_pre_ping=True, hide_parameters=True, json_serializer=_storable_json
        )
    )


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions whose objects stay readable after commit, for callers that return them."""
    return sessionmaker(engine, expire_on_commit=False)


def make_read_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions for reading only (pages, reports): on SQLite they do not take the write lock,
    so they never wait for, or hold up, a writer. Never write through them."""
    return sessionmaker(
        engine.execution_options(**{READ_ONLY_OPTION: True}), expire_on_commit=False
    )


def _storable(text: str) -> str:
    # The last line of defence: the channels clean what visitors send the same way.
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def _storable_json(value: Any) -> str:
    # Not ASCII-escaped: an escaped lone surrogate would pass here and fail in PostgreSQL.
    return _storable(json.dumps(value, ensure_ascii=False))


def _storable_parameters(parameters: Any) -> Any:
    if isinstance(parameters, str):
        return _storable(parameters)
    if isinstance(parameters, dict):
        return {key: _storable_parameters(value) for key, value in parameters.items()}
    if isinstance(parameters, (list, tuple)):
        return type(parameters)(_storable_parameters(value) for value in parameters)
    return parameters


def _storable_text(engine: Engine) -> Engine:
    """The engine, writing every text parameter of every statement as `_storable` text."""

    @event.listens_for(engine, "before_cursor_execute", retval=True)
    def _clean(
        connection: Connection,
        cursor: Any,
        statement: str,
        parameters: Any,
        context: Any,
        executemany: bool,
    ) -> tuple[str, Any]:
        return statement, _storable_parameters(parameters)

    return engine


def sqlite_file(url: str | URL) -> Path | None:
    """The file of a SQLite store at ``url``, its folder created; None for any other store
    (PostgreSQL, in-memory, or a ``file:`` URI, which SQLite resolves itself)."""
    parsed = make_url(url)
    database = parsed.database or ""
    if (
        parsed.get_backend_name() != "sqlite"
        or database in ("", ":memory:")
        or database.startswith("file:")
    ):
        return None
    path = Path(database)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _sqlite_engine(url: URL) -> Engine:
    sqlite_file(url)
    engine = create_engine(
        url,
        pool_pre_ping=True,
        hide_parameters=True,
        connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        json_serializer=_storable_json,
    )

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # First, so that switching the journal mode also waits for other writers.
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin_immediate(connection: Connection) -> None:
        if connection.get_execution_options().get(READ_ONLY_OPTION):
            # A reader never writes: under WAL it reads alongside the writer, taking no lock.
            connection.exec_driver_sql("BEGIN")
            return
        # Taking the write lock late can deadlock two writers; busy_timeout only helps up front.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
