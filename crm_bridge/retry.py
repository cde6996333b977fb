"""Trying again: a unit of work against the store when the database was only briefly unable,
and the waits of outbox workers between deliveries to services outside (backoff, Retry-After).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from crm_bridge.timestamps import utc_now

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


@dataclass(frozen=True)
class RetryPolicy:
    """How often an outbox worker tries a delivery, and how long it waits between attempts."""

    max_attempts: int = 8
    base_delay_s: float = 2.0
    max_delay_s: float = 300.0

    def delay(self, attempt: int) -> float:
        """Exponential backoff with jitter: about base * 2^(attempt-1), between half and all."""
        ceiling = min(self.max_delay_s, self.base_delay_s * 2 ** max(0, attempt - 1))
        return random.uniform(ceiling / 2, ceiling)


def retry_after_seconds(value: str | None) -> float | None:
    """An HTTP Retry-After header in seconds (it may be a number or an HTTP date); None when
    absent or unreadable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, (parsedate_to_datetime(value) - utc_now()).total_seconds())
    except (TypeError, ValueError):
        return None
