"""Slack alerts to reps from the outbox, on real SQLite and PostgreSQL stores, delivered to a
loopback webhook that checks payloads as Slack's incoming webhooks do."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.web.review.slack_alerts import AlertWorker, RetryPolicy, alert_message
from crm_bridge import outbox
from crm_bridge.models import OutboxMessage
from tests.review.factories import add_user, make_lead
from tests.review.web_process import running_web
from tests.support.slack_webhook import Answer, SlackWebhook, slack_webhook

LEAD_URL = "http://review.example.com/review/leads/{lead_id}"
FAST = RetryPolicy(max_attempts=4, base_delay_s=0.05, max_delay_s=0.2)
_SLACK_ALERTS = select(OutboxMessage).where(OutboxMessage.kind == outbox.SLACK_HANDOFF_ALERT)


@contextmanager
def worker(
    sessions: sessionmaker[Session], hook: SlackWebhook, policy: RetryPolicy = FAST
) -> Iterator[AlertWorker]:
    running = AlertWorker(sessions, hook.url, LEAD_URL, policy=policy, poll_s=0.05)
    running.start()
    try:
        yield running
    finally:
        running.stop()


def _alert(sessions: sessionmaker[Session]) -> OutboxMessage:
    with sessions() as session:
        return session.scalars(_SLACK_ALERTS).one()


def _wait_status(sessions: sessionmaker[Session], status: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while _alert(sessions).status != status:
        assert time.monotonic() < deadline, f"the alert stayed {_alert(sessions).status}"
        time.sleep(0.05)


def test_a_failure_then_a_success_delivers_exactly_once(
    session_factory: sessionmaker[Session],
) -> None:
    made = make_lead(session_factory, name="Dana Reyes", company="Acme", need="track <deals>")
    with slack_webhook() as hook:
        hook.script = [Answer(500, "internal_error")]
        with worker(session_factory, hook):
            _wait_status(session_factory, "sent")
            time.sleep(0.5)  # the worker keeps polling: nothing more is sent
        assert [r.status for r in hook.received] == [500, 200]
        [payload] = hook.delivered
    alert = _alert(session_factory)
    assert (alert.attempts, alert.handoff_id) == (2, made["handoff_id"])
    assert alert.sent_at is not None
    assert "Dana Reyes at Acme" in payload["text"] and "hot" in payload["text"]
    section = payload["blocks"][0]["text"]["text"]
    assert "track &lt;deals&gt;" in section  # the visitor's words are inert in Slack
    assert "Why: Budget of $50,000 a year" in section  # the top reasons
    url = payload["blocks"][1]["elements"][0]["url"]
    assert url == f"http://review.example.com/review/leads/{made['lead_id']}"


def test_a_429_waits_as_long_as_retry_after_asks(session_factory: sessionmaker[Session]) -> None:
    make_lead(session_factory)
    with slack_webhook() as hook:
        hook.script = [Answer(429, "rate_limited", {"Retry-After": "1"})]
        with worker(session_factory, hook):
            _wait_status(session_factory, "sent")
        first, second = hook.received
    assert (first.status, second.status) == (429, 200)
    # The backoff alone would have retried after at most 0.2 s.
    assert second.at - first.at >= 0.95


def test_a_payload_slack_refuses_fails_at_once_and_shows_as_failed(
    session_factory: sessionmaker[Session],
) -> None:
    make_lead(session_factory)
    with slack_webhook() as hook:
        hook.script = [Answer(404, "no_service")]
        with worker(session_factory, hook):
            _wait_status(session_factory, "failed")
            time.sleep(0.3)
        assert len(hook.received) == 1
    alert = _alert(session_factory)
    assert alert.attempts == 1 and "no_service" in (alert.last_error or "")


def test_every_attempt_failing_ends_as_failed_after_the_last(
    session_factory: sessionmaker[Session],
) -> None:
    make_lead(session_factory)
    with slack_webhook() as hook:
        hook.script = [Answer(503, "unavailable")] * 10
        with worker(session_factory, hook):
            _wait_status(session_factory, "failed")
        assert len(hook.received) == FAST.max_attempts


def test_two_workers_never_send_one_alert_twice(session_factory: sessionmaker[Session]) -> None:
    for _ in range(5):
        make_lead(session_factory)
    with slack_webhook() as hook, worker(session_factory, hook), worker(session_factory, hook):
        hook.wait_for(5)
        time.sleep(0.5)
        handoffs = [p["blocks"][1]["elements"][0]["url"] for p in hook.delivered]
    assert len(handoffs) == 5 == len(set(handoffs))


def test_a_visitor_without_consent_is_announced_as_chat_only(
    session_factory: sessionmaker[Session],
) -> None:
    make_lead(session_factory, consent=False)
    with session_factory() as session:
        alert = session.scalars(_SLACK_ALERTS).one()
        from crm_bridge.models import Handoff

        handoff = session.get(Handoff, alert.handoff_id)
        assert handoff is not None
        message = alert_message(handoff.lead, handoff, "http://x/review/leads/1")
    assert message["text"].startswith("New handoff (hot lead): Anonymous visitor,")
    assert "reply in the chat only" in message["blocks"][0]["text"]["text"]


def test_the_web_process_delivers_alerts_and_the_review_app_shows_them(
    sqlite_url: str, tmp_path: Path
) -> None:
    from crm_bridge.store import make_engine, make_session_factory

    engine = make_engine(sqlite_url)
    sessions = make_session_factory(engine)
    add_user(sessions, "ann@example.com")
    made = make_lead(sessions, name="Dana Reyes")
    try:
        with (
            slack_webhook() as hook,
            running_web(
                tmp_path / "web",
                sqlite_url,
                LEADBOT_SLACK_WEBHOOK_URL=hook.url,
                LEADBOT_PUBLIC_URL="http://review.example.com",
            ) as web,
        ):
            hook.wait_for(1)
            _wait_status(sessions, "sent")
            [payload] = hook.delivered
            lead_url = f"http://review.example.com/review/leads/{made['lead_id']}"
            assert payload["blocks"][1]["elements"][0]["url"] == lead_url
            browser = requests.Session()
            login = browser.get(f"{web.url}/login", timeout=10).text
            token = login.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
            response = browser.post(
                f"{web.url}/login",
                data={
                    "email": "ann@example.com",
                    "password": "correct horse battery",
                    "csrf_token": token,
                },
                allow_redirects=False,
                timeout=10,
            )
            assert response.status_code == 302
            page = browser.get(f"{web.url}/review/leads/{made['lead_id']}", timeout=10).text
            assert "Slack: sent" in page
    finally:
        engine.dispose()
