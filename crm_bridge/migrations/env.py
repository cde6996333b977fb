"""Alembic environment for the CRM store; run through crm_bridge.migrate, not the alembic CLI."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from crm_bridge.models import Base
from crm_bridge.store import make_engine


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Migrate on the caller's connection when given one, else on a fresh engine."""
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(context.config.get_main_option("sqlalchemy.url") or "")
    try:
        with engine.begin() as own_connection:
            _run(own_connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("crm_bridge migrations run online only: use crm_bridge.migrate.upgrade(url)")
run_migrations_online()
