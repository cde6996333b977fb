"""Run a unit of work against the store again when the database was only briefly unable."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

logger = logging.getLogger(__name__)

T = TypeVar("T")


def with_retries(
    work: Callable[[Session], T],
    session_factory: sessionmaker[Session],
    attempts: int = 5,
    base_delay: float = 0.05,
) -> T:
    """Run ``work`` in its own transaction, retrying transient failures.

    Each attempt runs inside ``with session_factory.begin() as session:``, so it commits on
    success and rolls back on failure. Retried: ``OperationalError`` (locked database, lost
    connection), ``IntegrityError`` (another writer created the same sender id or email first;
    the next attempt finds its row) and any ``DBAPIError`` that invalidated the connection.
    Waits ``base_delay * 2**n`` seconds with jitter between attempts.

    Args:
        work: the whole unit of work; it must be safe to run again from the start.
        session_factory: makes the session of each attempt.
        attempts: how many times to try in all.
        base_delay: the first wait in seconds.

    Returns:
        What ``work`` returned on the attempt that committed.

    Raises:
        DBAPIError: the last error, when every attempt failed or the error is not transient.
        ValueError: ``attempts`` is below 1.
    """
    if attempts < 1:
        raise ValueError(f"attempts must be at least 1, got {attempts}")
    for attempt in range(1, attempts):
        try:
            with session_factory.begin() as session:
                return work(session)
        except DBAPIError as error:
            if not _is_transient(error):
                raise
            # The error text can quote an email or a name; log only its kind.
            logger.warning(
                "store write failed (%s), retrying: attempt %d of %d",
                type(error).__name__,
                attempt,
                attempts,
                extra={"work": getattr(work, "__qualname__", "work"), "attempt": attempt},
            )
            time.sleep(base_delay * 2 ** (attempt - 1) * random.uniform(0.5, 1.5))
    # The last attempt lets its error propagate to the caller untouched.
    with session_factory.begin() as session:
        return work(session)


def _is_transient(error: DBAPIError) -> bool:
    return isinstance(error, (OperationalError, IntegrityError)) or error.connection_invalidated
