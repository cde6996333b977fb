"""The CRM sync worker: fans each lead change out to the destinations, then delivers them.

Each lead has at most one message per destination; a message is leased before it is sent, so
one worker sends it at a time, and it is read at lease time, so what is sent is the lead's
latest state (several changes made while a CRM was down go out as one upsert). A timeout, a
5xx, a 409 or a 429 is retried with exponential backoff and jitter; a 429 (or 503) with
Retry-After also pauses the whole destination that long, because its rate limit is per
account, not per lead. After ``policy.max_attempts`` tries, or at once on an error the
destination will keep giving (a bad token, a refused payload), the message is dead-lettered
(status ``failed``) until `leadbot sync replay`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from datetime import timedelta
from functools import partial
from typing import Final

import requests
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from bot.crm_sync.delivery import Call, Destination, Outcome, send
from crm_bridge import outbox
from crm_bridge.models import Lead
from crm_bridge.retry import RetryPolicy, with_retries

log = logging.getLogger(__name__)

# Longer than any request with its timeout: a lease outliving its worker frees the message.
LEASE: Final = timedelta(minutes=5)


class SyncWorker:
    """Delivers lead changes to every configured destination until stopped."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        destinations: Sequence[Destination],
        policy: RetryPolicy | None = None,
        timeout_s: float = 10.0,
        poll_s: float = 1.0,
    ) -> None:
        self.sessions = sessions
        self.destinations = tuple(destinations)
        self.policy = policy or RetryPolicy()
        self.timeout_s = timeout_s
        self.poll_s = poll_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._http = requests.Session()
        # A destination that answered 429 gets nothing before this moment (time.monotonic()).
        self._paused_until = {destination.name: 0.0 for destination in self.destinations}

    def run(self) -> None:
        """Deliver in this thread until `stop` is called; a store outage is waited out."""
        while not self._stop.is_set():
            try:
                self.deliver_due()
            except Exception:  # the worker must outlive a store outage; it logs and waits
                log.exception("crm.sync.loop_failed")
            self._stop.wait(self.poll_s)

    def start(self) -> None:
        """Deliver in a daemon thread of this process."""
        self._thread = threading.Thread(target=self.run, name="crm-sync", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop after the delivery in progress."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def deliver_due(self) -> int:
        """Fan out new lead changes, then attempt every delivery that is due now; returns how
        many deliveries were attempted."""
        if not self.destinations:
            return 0  # changes wait in the outbox for the first destination configured
        with self.sessions() as session:
            changes = outbox.due_ids(session, outbox.LEAD_CHANGED, limit=200)
        for message_id in changes:
            with_retries(partial(self._fan_out, message_id=message_id), self.sessions)
        attempted = 0
        for destination in self.destinations:
            if time.monotonic() < self._paused_until[destination.name]:
                continue
            with self.sessions() as session:
                due = outbox.due_ids(session, destination.name)
            for message_id in due:
                if self._stop.is_set() or time.monotonic() < self._paused_until[destination.name]:
                    break
                attempted += self._deliver(destination, message_id)
        return attempted

    def _fan_out(self, session: Session, message_id: int) -> None:
        """Arm the lead's message of every destination, in one transaction with the change's."""
        change = outbox.claim_due(session, message_id, LEASE)
        if change is None or change.lead_id is None:
            return
        for destination in self.destinations:
            outbox.arm(session.connection(), destination.name, change.lead_id)
        outbox.mark_sent(session, message_id, change.revision)

    def _deliver(self, destination: Destination, message_id: int) -> int:
        leased = with_retries(
            lambda session: self._lease(session, destination, message_id), self.sessions
        )
        if leased is None:
            return 0  # another worker has it, or it is no longer due
        attempts, revision, lead_id, call = leased
        if call is None:
            log.info("crm.sync.skipped to=%s lead_id=%d: not shareable", destination.name, lead_id)
        outcome = Outcome("sent") if call is None else send(self._http, call, self.timeout_s)
        with_retries(
            lambda session: self._record(
                session, destination, message_id, (attempts, revision, lead_id), outcome
            ),
            self.sessions,
        )
        return 1

    def _lease(
        self, session: Session, destination: Destination, message_id: int
    ) -> tuple[int, int, int, Call | None] | None:
        message = outbox.claim_due(session, message_id, LEASE)
        if message is None or message.lead_id is None:
            return None
        lead = session.scalars(
            select(Lead)
            .where(Lead.id == message.lead_id)
            # The webhook sends the lead's record, which lists its conversations and handoff.
            .options(selectinload(Lead.conversations), selectinload(Lead.handoffs))
        ).first()
        # A lead whose visitor withdrew consent since is no longer sent anywhere.
        call = destination.call(lead) if lead is not None and outbox.may_share(lead) else None
        return message.attempts, message.revision, message.lead_id, call

    def _record(
        self,
        session: Session,
        destination: Destination,
        message_id: int,
        leased: tuple[int, int, int],
        outcome: Outcome,
    ) -> None:
        attempts, revision, lead_id = leased
        fields = (destination.name, message_id, lead_id, attempts)
        if outcome.result == "sent":
            if outbox.mark_sent(session, message_id, revision):
                log.info("crm.sync.sent to=%s message_id=%d lead_id=%d attempts=%d", *fields)
            else:
                log.info("crm.sync.changed_meanwhile to=%s message_id=%d lead_id=%d", *fields[:3])
            return
        if outcome.result == "failed" or attempts >= self.policy.max_attempts:
            outbox.mark_failed(session, message_id, outcome.problem)
            log.error(
                "crm.sync.dead_letter to=%s message_id=%d lead_id=%d attempts=%d problem=%s",
                *fields,
                outcome.problem,
            )
            return
        delay = self.policy.delay(attempts)
        if outcome.wait_s is not None:
            delay = outcome.wait_s
            self._paused_until[destination.name] = time.monotonic() + delay
        outbox.retry_later(session, message_id, delay, outcome.problem)
        log.warning(
            "crm.sync.retry to=%s message_id=%d lead_id=%d attempts=%d in_s=%.1f problem=%s",
            *fields,
            delay,
            outcome.problem,
        )
