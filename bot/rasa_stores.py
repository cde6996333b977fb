"""Rasa's SQL tracker store, as its endpoints file names it, from one database URL."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

# Rasa 3.6's SQLTrackerStore connects through psycopg2 whatever driver the URL names.
POSTGRES_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg2", "postgresql+psycopg")


def sql_tracker_store(url: str) -> dict[str, Any]:
    """The `tracker_store` entry of Rasa's endpoints file for a PostgreSQL URL.

    Args:
        url: `postgresql://[user[:password]@]host[:port]/database`.

    Returns:
        Rasa's SQL tracker store keys: `dialect`, `url` (the host), `port`, `db`, and
        `username` and `password` when the URL has them.

    Raises:
        ValueError: the URL is not a PostgreSQL one or names no database.
    """
    parts = urlsplit(url)
    database = unquote(parts.path.strip("/"))
    if parts.scheme not in POSTGRES_SCHEMES or not database:
        raise ValueError("LEADBOT_TRACKER_STORE_URL must be postgresql://host:port/database")
    store: dict[str, Any] = {
        "type": "SQL",
        "dialect": "postgresql",
        # Rasa calls the host `url`.
        "url": parts.hostname or "localhost",
        "port": parts.port or 5432,
        "db": database,
    }
    if parts.username:
        store["username"] = unquote(parts.username)
    if parts.password:
        store["password"] = unquote(parts.password)
    return store
