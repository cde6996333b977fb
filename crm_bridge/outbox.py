"""The outbox: messages to the world outside the store (Slack alerts to sales reps).

A message is written in the same transaction as what it announces, so a handoff never exists
without its alert and an alert never announces a handoff that rolled back. A worker delivers it
later: `claim_due` leases due messages one at a time with a conditional UPDATE, so two workers
never send the same one; `mark_sent`, `retry_later` and `mark_failed` record the outcome.
At most one message of a kind exists per handoff (a unique key), so a handoff is announced once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from crm_bridge.models import OutboxMessage
from crm_bridge.timestamps import utc_now

SLACK_HANDOFF_ALERT: Final = "slack_handoff_alert"
MAX_ERROR_CHARS: Final = 500


def enqueue(session: Session, kind: str, handoff_id: int) -> OutboxMessage:
    """The handoff's message of this kind, created pending when there is none yet."""
    existing = session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.kind == kind, OutboxMessage.handoff_id == handoff_id
        )
    ).first()
    if existing is not None:
        return existing
    message = OutboxMessage(kind=kind, handoff_id=handoff_id, status="pending", attempts=0)
    session.add(message)
    session.flush()
    return message


def due_ids(session: Session, kind: str, now: datetime | None = None, limit: int = 20) -> list[int]:
    """Messages ready to be sent: pending and due, or left mid-send by a worker that died."""
    moment = now or utc_now()
    return list(
        session.scalars(
            select(OutboxMessage.id)
            .where(
                OutboxMessage.kind == kind,
                or_(
                    (OutboxMessage.status == "pending") & (OutboxMessage.next_attempt_at <= moment),
                    (OutboxMessage.status == "sending") & (OutboxMessage.lease_until < moment),
                ),
            )
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(limit)
        )
    )


def claim_due(session: Session, message_id: int, lease: timedelta) -> OutboxMessage | None:
    """Lease one due message for sending; None when another worker has it or it is not due."""
    now = utc_now()
    leased = session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == message_id,
            or_(
                (OutboxMessage.status == "pending") & (OutboxMessage.next_attempt_at <= now),
                (OutboxMessage.status == "sending") & (OutboxMessage.lease_until < now),
            ),
        )
        .values(
            status="sending",
            lease_until=now + lease,
            attempts=OutboxMessage.attempts + 1,
        )
        .execution_options(synchronize_session=False)
    )
    if leased.rowcount != 1:  # type: ignore[attr-defined]
        return None
    message = session.get(OutboxMessage, message_id)
    if message is not None:
        session.refresh(message)
    return message


def mark_sent(session: Session, message_id: int) -> None:
    """The message was delivered: it is never sent again."""
    _set(session, message_id, status="sent", sent_at=utc_now(), lease_until=None, last_error=None)


def retry_later(session: Session, message_id: int, delay_s: float, error: str) -> None:
    """Delivery failed for now: try again after ``delay_s`` seconds."""
    _set(
        session,
        message_id,
        status="pending",
        next_attempt_at=utc_now() + timedelta(seconds=max(0.0, delay_s)),
        lease_until=None,
        last_error=error[:MAX_ERROR_CHARS],
    )


def mark_failed(session: Session, message_id: int, error: str) -> None:
    """Delivery failed for good (a permanent error, or every attempt used)."""
    _set(session, message_id, status="failed", lease_until=None, last_error=error[:MAX_ERROR_CHARS])


def statuses(session: Session, kind: str, handoff_ids: Sequence[int]) -> dict[int, OutboxMessage]:
    """Each handoff's message of this kind, where it has one."""
    if not handoff_ids:
        return {}
    rows = session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.kind == kind, OutboxMessage.handoff_id.in_(handoff_ids)
        )
    )
    return {row.handoff_id: row for row in rows if row.handoff_id is not None}


def _set(session: Session, message_id: int, **values: object) -> None:
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
