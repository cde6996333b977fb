"""Follow-ups: no warm lead slips through the cracks.

Every warm lead that may be contacted (consent given, not yet a customer or disqualified) has
one open follow-up task at a time. Step n of the cadence (days, from the rules file) is due
that many days after the lead turned warm, or after the step before was done. A rep marks a
task done or snoozes it; both go in the lead's audit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, selectinload

from crm_bridge.lifecycle import NotFound, record_event
from crm_bridge.models import REP_STAGES, FollowUp, Lead, QualificationHistory, User
from crm_bridge.timestamps import utc_now


def schedule(
    session: Session, cadence_days: Sequence[int], now: datetime | None = None
) -> list[FollowUp]:
    """Create the next follow-up of every warm, contactable lead that has none open.

    Returns:
        The follow-ups created (flushed).
    """
    if not cadence_days:
        return []
    moment = now or utc_now()
    open_task = (
        select(FollowUp.id).where(FollowUp.lead_id == Lead.id, FollowUp.status == "open").exists()
    )
    steps_done = (
        select(func.count(FollowUp.id))
        .where(FollowUp.lead_id == Lead.id, FollowUp.status == "done")
        .scalar_subquery()
    )
    candidates = session.execute(
        select(Lead.id, steps_done)
        .where(
            Lead.temperature == "warm",
            Lead.consent.is_(True),
            Lead.stage.not_in(REP_STAGES),
            ~open_task,
            steps_done < len(cadence_days),
        )
        .order_by(Lead.id)
    ).all()
    created = []
    for lead_id, step in candidates:
        since = _last_done(session, lead_id) or _warm_since(session, lead_id) or moment
        task = FollowUp(
            lead_id=lead_id,
            step=int(step),
            due_at=since + timedelta(days=cadence_days[int(step)]),
            status="open",
            snoozes=0,
        )
        session.add(task)
        created.append(task)
    session.flush()
    return created


def due(session: Session, until: datetime) -> list[FollowUp]:
    """Open follow-ups due before ``until`` (overdue first), with their leads."""
    return list(
        session.scalars(
            select(FollowUp)
            .where(FollowUp.status == "open", FollowUp.due_at < until)
            .options(selectinload(FollowUp.lead))
            .order_by(FollowUp.due_at, FollowUp.id)
        )
    )


def of_lead(session: Session, lead_id: int) -> list[FollowUp]:
    """Every follow-up of a lead, by step."""
    return list(
        session.scalars(select(FollowUp).where(FollowUp.lead_id == lead_id).order_by(FollowUp.step))
    )


def complete(session: Session, follow_up_id: int, user: User) -> FollowUp:
    """Mark a follow-up done (the next step of the cadence is scheduled by `schedule`)."""
    task = _task(session, follow_up_id)
    if task.status == "done":
        return task
    task.status, task.done_at, task.done_by = "done", utc_now(), user.email
    record_event(session, task.lead_id, user.email, "follow_up_done", {"step": task.step + 1})
    session.flush()
    return task


def snooze(session: Session, follow_up_id: int, user: User, days: int) -> FollowUp:
    """Put an open follow-up off by ``days`` days from now (or from its due date, if later)."""
    if not 1 <= days <= 90:
        raise ValueError("snooze for 1 to 90 days")
    task = _task(session, follow_up_id)
    if task.status != "open":
        raise ValueError("only an open follow-up can be snoozed")
    task.due_at = max(utc_now(), task.due_at) + timedelta(days=days)
    task.snoozes += 1
    record_event(
        session,
        task.lead_id,
        user.email,
        "follow_up_snoozed",
        {"step": task.step + 1, "days": days, "due_at": task.due_at.isoformat()},
    )
    session.flush()
    return task


def _task(session: Session, follow_up_id: int) -> FollowUp:
    task = session.get(FollowUp, follow_up_id)
    if task is None:
        raise NotFound(f"no follow-up {follow_up_id}")
    return task


def _last_done(session: Session, lead_id: int) -> datetime | None:
    return session.scalar(
        select(func.max(FollowUp.done_at)).where(
            and_(FollowUp.lead_id == lead_id, FollowUp.status == "done")
        )
    )


def _warm_since(session: Session, lead_id: int) -> datetime | None:
    """When the lead's latest run of warm history rows began."""
    rows = session.execute(
        select(QualificationHistory.temperature, QualificationHistory.created_at)
        .where(QualificationHistory.lead_id == lead_id)
        .order_by(QualificationHistory.created_at.desc(), QualificationHistory.id.desc())
    ).all()
    since = None
    for temperature, created_at in rows:
        if temperature != "warm":
            break
        since = created_at
    return since
