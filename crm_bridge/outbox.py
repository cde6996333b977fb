"""The outbox: messages to the world outside the store (Slack alerts, CRM updates).

A message is written in the same transaction as what it announces, so a handoff never exists
without its alert and an alert never announces a handoff that rolled back. A worker delivers it
later: `claim_due` leases due messages one at a time with a conditional UPDATE, so two workers
never send the same one; `mark_sent`, `retry_later` and `mark_failed` record the outcome.
At most one message of a kind exists per handoff (a unique key), so a handoff is announced once.

Lead changes for outside CRMs: whenever a lead that may be shared (consent given, an email
known) is created or changes a field a CRM sees, the flush that writes it also arms the lead's
`LEAD_CHANGED` message (a mapper event below, so no writer of leads can forget it). One message
exists per lead and kind; arming it again bumps its ``revision`` instead of adding a row, so
several changes waiting to be sent coalesce into one delivery of the lead's latest state. The
sync worker fans each armed `LEAD_CHANGED` out into one message per configured destination
(kind = the destination's name), armed the same way. A delivery counts only for the revision
it read: if the lead changed meanwhile, `mark_sent` leaves the message due again.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import Connection, event, func, insert, inspect, or_, select, update
from sqlalchemy.orm import Mapper, Session

from crm_bridge.models import Lead, OutboxMessage
from crm_bridge.timestamps import utc_now

SLACK_HANDOFF_ALERT: Final = "slack_handoff_alert"
LEAD_CHANGED: Final = "lead_changed"
MAX_ERROR_CHARS: Final = 500
# The lead fields an outside CRM receives: a change to any of them is sent again.
SHARED_FIELDS: Final = (
    "person_name",
    "email",
    "company",
    "job_title",
    "need",
    "need_category",
    "budget_annual",
    "budget_currency",
    "timeline_months",
    "authority",
    "score",
    "temperature",
    "stage",
    "consent",
)


def may_share(lead: Lead) -> bool:
    """True when the lead may leave the store: the visitor consented and gave an email."""
    return lead.consent is True and bool(lead.email)


def arm(connection: Connection, kind: str, lead_id: int) -> None:
    """Make the lead's message of this kind due now, creating it or bumping its revision.

    A message being sent keeps its lease; its new revision makes `mark_sent` leave it due.
    Runs on the caller's connection, inside the caller's transaction.
    """
    now = utc_now()
    found = connection.execute(
        select(OutboxMessage.id, OutboxMessage.status).where(
            OutboxMessage.kind == kind, OutboxMessage.lead_id == lead_id
        )
    ).first()
    if found is None:
        connection.execute(
            insert(OutboxMessage).values(
                kind=kind,
                lead_id=lead_id,
                status="pending",
                attempts=0,
                revision=1,
                next_attempt_at=now,
                created_at=now,
            )
        )
        return
    values: dict[str, Any] = {"revision": OutboxMessage.revision + 1}
    if found.status != "sending":
        values.update(status="pending", attempts=0, next_attempt_at=now, last_error=None)
    connection.execute(update(OutboxMessage).where(OutboxMessage.id == found.id).values(**values))


@event.listens_for(Lead, "after_insert")
@event.listens_for(Lead, "after_update")
def _lead_written(_mapper: Mapper[Lead], connection: Connection, lead: Lead) -> None:
    # In the flush that writes the lead, so the message commits with the change or not at all.
    state = inspect(lead)
    changed = any(state.attrs[name].history.has_changes() for name in SHARED_FIELDS)
    if changed and may_share(lead):
        arm(connection, LEAD_CHANGED, lead.id)


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


def mark_sent(session: Session, message_id: int, revision: int | None = None) -> bool:
    """The message was delivered: it is not sent again unless armed again.

    With ``revision`` (the one the worker read when it leased the message), the message is
    sent only if nothing armed it since; otherwise it is left due now, for the newer state,
    and False is returned.
    """
    now = utc_now()
    sent = update(OutboxMessage).where(OutboxMessage.id == message_id)
    if revision is not None:
        sent = sent.where(OutboxMessage.revision == revision)
    done = session.execute(
        sent.values(
            status="sent", sent_at=now, lease_until=None, last_error=None
        ).execution_options(synchronize_session=False)
    )
    if done.rowcount == 1:  # type: ignore[attr-defined]
        return True
    _set(session, message_id, status="pending", attempts=0, next_attempt_at=now, lease_until=None)
    return False


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


def of_lead(session: Session, lead_id: int) -> list[OutboxMessage]:
    """The lead's deliveries to outside systems, one per destination, by destination name."""
    return list(
        session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.lead_id == lead_id, OutboxMessage.kind != LEAD_CHANGED)
            .order_by(OutboxMessage.kind)
        )
    )


def counts(session: Session, kinds: Sequence[str]) -> dict[tuple[str, str], int]:
    """How many messages of each of these kinds are in each status."""
    rows = session.execute(
        select(OutboxMessage.kind, OutboxMessage.status, func.count())
        .where(OutboxMessage.kind.in_(kinds))
        .group_by(OutboxMessage.kind, OutboxMessage.status)
    )
    return {(kind, status): int(number) for kind, status, number in rows}


def dead_letters(session: Session, kinds: Sequence[str]) -> list[OutboxMessage]:
    """The messages of these kinds that failed for good, oldest first."""
    return list(
        session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.kind.in_(kinds), OutboxMessage.status == "failed")
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        )
    )


def replay(session: Session, kinds: Sequence[str]) -> int:
    """Make every failed message of these kinds due now with fresh attempts; returns how many."""
    replayed = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.kind.in_(kinds), OutboxMessage.status == "failed")
        .values(status="pending", attempts=0, next_attempt_at=utc_now(), last_error=None)
        .execution_options(synchronize_session=False)
    )
    return int(replayed.rowcount)  # type: ignore[attr-defined]


def _set(session: Session, message_id: int, **values: object) -> None:
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
