"""The CRM store as the web process reaches it: one engine per application."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import Flask, current_app
from sqlalchemy.orm import Session, sessionmaker

from crm_bridge.retry import with_retries
from crm_bridge.store import make_engine, make_read_session_factory, make_session_factory

T = TypeVar("T")
EXTENSION = "leadbot-store"
READS = "leadbot-store-reads"


def init_app(app: Flask, database_url: str) -> None:
    """Give the application sessions on the store (the engine connects on first use)."""
    engine = make_engine(database_url)
    app.extensions[EXTENSION] = make_session_factory(engine)
    app.extensions[READS] = make_read_session_factory(engine)


def reads(app: Flask | None = None) -> sessionmaker[Session]:
    """Sessions for pages that only read (they never hold up the bot's writes on SQLite)."""
    factory: sessionmaker[Session] = (app or current_app).extensions[READS]
    return factory


def sessions(app: Flask | None = None) -> sessionmaker[Session]:
    """The application's session factory."""
    factory: sessionmaker[Session] = (app or current_app).extensions[EXTENSION]
    return factory


def write(work: Callable[[Session], T]) -> T:
    """Run one unit of work in its own transaction, retried when the store was briefly busy."""
    return with_retries(work, sessions(), attempts=3)
