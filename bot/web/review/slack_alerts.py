"""Slack alerts to sales reps: one message per new handoff, delivered from the outbox.

The handoff and its outbox row commit together (`crm_bridge.leads.request_handoff`); this
worker, a thread of the web process, sends each row to the incoming webhook
(`LEADBOT_SLACK_WEBHOOK_URL`). A failed delivery is retried with exponential backoff and
jitter; a 429 waits as long as Slack's ``Retry-After`` asks; an error Slack will keep giving
(a bad payload, a revoked webhook) fails at once. A row is leased before it is sent, so it is
sent once; only a process that dies between Slack's answer and the commit can send it again.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from typing import Any, Final

import requests
from sqlalchemy.orm import Session, sessionmaker

from crm_bridge import lifecycle, outbox
from crm_bridge.models import Handoff, Lead
from crm_bridge.retry import RetryPolicy, retry_after_seconds, with_retries

log = logging.getLogger(__name__)

TIMEOUT_S: Final = 10.0
LEASE: Final = timedelta(seconds=60)
# Slack answers these again and again: retrying cannot help.
PERMANENT_STATUSES: Final = frozenset({400, 401, 403, 404, 410})
MAX_RETRY_AFTER_S: Final = 3600.0
TOP_REASONS: Final = 2

__all__ = ["AlertWorker", "RetryPolicy", "alert_message"]


def _mrkdwn(text: str) -> str:
    """Visitor text made inert for Slack's markup: only &, < and > are special there."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def alert_message(lead: Lead, handoff: Handoff, lead_url: str) -> dict[str, Any]:
    """The Slack message announcing a handoff: who, company, score, temperature, the top
    reasons, what they need, and a link to the lead page."""
    contactable = lifecycle.contact_allowed(lead)
    who = lead.person_name if contactable and lead.person_name else "Anonymous visitor"
    company = f" at {lead.company}" if contactable and lead.company else ""
    why = "asked for a person" if handoff.reason == "visitor_request" else "hot lead"
    score = "not scored" if lead.score is None else f"score {lead.score}"
    temperature = lead.temperature or "unscored"
    reasons = sorted(lead.breakdown or [], key=lambda item: -int(item.get("points") or 0))
    top = [str(item.get("reason")) for item in reasons[:TOP_REASONS] if item.get("reason")]
    headline = f"New handoff ({why}): {who}{company}, {temperature}, {score}"
    lines = [f"*{_mrkdwn(headline)}*"]
    if lead.need:
        lines.append(f"Needs: {_mrkdwn(lead.need[:300])}")
    if top:
        lines.append("Why: " + "; ".join(_mrkdwn(reason) for reason in top))
    if not contactable:
        lines.append("No consent to be contacted: reply in the chat only.")
    return {
        "text": headline,
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}},
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Open the lead"},
                        "url": lead_url,
                    }
                ],
            },
        ],
    }


class AlertWorker:
    """Delivers pending Slack alerts from the outbox until stopped."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        webhook_url: str,
        lead_url: str,
        policy: RetryPolicy | None = None,
        poll_s: float = 1.0,
    ) -> None:
        """Args:
        lead_url: the lead page's address with ``{lead_id}`` where the id goes.
        """
        self.sessions = sessions
        self.webhook_url = webhook_url
        self.lead_url = lead_url
        self.policy = policy or RetryPolicy()
        self.poll_s = poll_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._http = requests.Session()

    def start(self) -> None:
        """Deliver in a daemon thread of this process."""
        self._thread = threading.Thread(target=self._loop, name="slack-alerts", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop after the delivery in progress."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.deliver_due()
            except Exception:  # the worker must outlive a store outage; it logs and waits
                log.exception("slack.alerts.loop_failed")
            self._stop.wait(self.poll_s)

    def deliver_due(self) -> int:
        """Send every alert that is due now; returns how many were attempted."""
        with self.sessions() as session:
            due = outbox.due_ids(session, outbox.SLACK_HANDOFF_ALERT)
        attempted = 0
        for message_id in due:
            if self._stop.is_set():
                break
            attempted += self._deliver(message_id)
        return attempted

    def _deliver(self, message_id: int) -> int:
        leased = with_retries(lambda session: self._lease(session, message_id), self.sessions)
        if leased is None:
            return 0  # another worker has it, or it is no longer due
        attempts, payload = leased
        outcome = self._send(payload)
        with_retries(
            lambda session: self._record(session, message_id, attempts, outcome), self.sessions
        )
        return 1

    def _lease(self, session: Session, message_id: int) -> tuple[int, dict[str, Any]] | None:
        message = outbox.claim_due(session, message_id, LEASE)
        if message is None or message.handoff_id is None:
            return None
        handoff = session.get(Handoff, message.handoff_id)
        if handoff is None:
            return None
        lead = session.get(Lead, handoff.lead_id)
        assert lead is not None
        url = self.lead_url.format(lead_id=lead.id)
        return message.attempts, alert_message(lead, handoff, url)

    def _send(self, payload: dict[str, Any]) -> tuple[str, float, str]:
        """("sent" | "retry" | "failed", seconds to wait, error) for one attempt."""
        try:
            response = self._http.post(self.webhook_url, json=payload, timeout=TIMEOUT_S)
        except requests.RequestException as error:
            return "retry", -1.0, type(error).__name__
        if response.ok:
            return "sent", 0.0, ""
        problem = f"HTTP {response.status_code}: {response.text[:200]}"
        if response.status_code == 429:
            wait = retry_after_seconds(response.headers.get("Retry-After"))
            return "retry", min(MAX_RETRY_AFTER_S, wait if wait is not None else -1.0), problem
        if response.status_code in PERMANENT_STATUSES:
            return "failed", 0.0, problem
        return "retry", -1.0, problem

    def _record(
        self, session: Session, message_id: int, attempts: int, outcome: tuple[str, float, str]
    ) -> None:
        result, wait, error = outcome
        if result == "sent":
            outbox.mark_sent(session, message_id)
            log.info("slack.alert.sent message_id=%d attempts=%d", message_id, attempts)
        elif result == "failed" or attempts >= self.policy.max_attempts:
            outbox.mark_failed(session, message_id, error)
            log.error("slack.alert.failed message_id=%d attempts=%d", message_id, attempts)
        else:
            delay = wait if wait >= 0 else self.policy.delay(attempts)
            outbox.retry_later(session, message_id, delay, error)
            log.warning(
                "slack.alert.retry message_id=%d attempts=%d in_s=%.1f", message_id, attempts, delay
            )
