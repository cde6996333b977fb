"""CRM sync, on real SQLite and PostgreSQL stores, against loopback stand-ins of HubSpot,
Salesforce and a signed webhook that check every request as the real services do: one lead,
one remote record, however often it changes or a delivery is retried."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot import launcher, settings
from bot.crm_sync import config
from bot.crm_sync.worker import SyncWorker
from crm_bridge import lifecycle
from crm_bridge.models import OutboxMessage
from crm_bridge.retry import RetryPolicy
from crm_bridge.store import make_engine, make_session_factory
from tests.review.conftest import csrf_token
from tests.review.factories import COLD, PASSWORD, WARM, add_user, make_lead
from tests.review.web_process import running_web
from tests.support.crm_api import Answer, CrmApis, crm_apis

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DESTINATIONS = ("hubspot", "salesforce", "webhook")
FAST = RetryPolicy(max_attempts=12, base_delay_s=0.05, max_delay_s=0.3)
TIMEOUT_S = 0.5


@contextmanager
def syncing(
    sessions: sessionmaker[Session],
    apis: CrmApis,
    policy: RetryPolicy = FAST,
    **settings: str,
) -> Iterator[SyncWorker]:
    loaded = config.load({**apis.env(), "LEADBOT_CRM_TIMEOUT_S": str(TIMEOUT_S), **settings})
    worker = SyncWorker(sessions, loaded.destinations, policy, loaded.timeout_s, poll_s=0.05)
    worker.start()
    try:
        yield worker
    finally:
        worker.stop()


def _messages(sessions: sessionmaker[Session]) -> list[OutboxMessage]:
    with sessions() as session:
        return list(
            session.scalars(select(OutboxMessage).where(OutboxMessage.kind.in_(DESTINATIONS)))
        )


def _wait(what: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not what():
        assert time.monotonic() < deadline, "the sync did not get there"
        time.sleep(0.05)


def _all_settled(sessions: sessionmaker[Session], expected: int) -> Callable[[], bool]:
    def settled() -> bool:
        messages = _messages(sessions)
        return len(messages) == expected and all(m.status in ("sent", "failed") for m in messages)

    return settled


def test_each_crm_keeps_one_record_per_lead_with_its_latest_state(
    session_factory: sessionmaker[Session],
) -> None:
    dana = make_lead(session_factory, name="Dana Reyes", company="Acme", email="dana@acme.test")
    lee = make_lead(session_factory, name="Lee", company="Globex", email="lee@globex.test")
    make_lead(session_factory, consent=None)  # no consent: never leaves the store
    with crm_apis() as apis, syncing(session_factory, apis):
        _wait(_all_settled(session_factory, 6))
        with session_factory.begin() as session:  # a rep re-scores Dana: sent again
            lifecycle.apply_scoring(session, dana["lead_id"], WARM, "rep@example.com")
        _wait(lambda: apis.statuses("salesforce") == [201, 201, 200])
        _wait(_all_settled(session_factory, 6))

    assert apis.created == {"hubspot": 2, "salesforce": 2, "webhook": 2}
    contact = apis.contacts["dana@acme.test"]
    assert contact["firstname"] == "Dana" and contact["lastname"] == "Reyes"
    assert contact["company"] == "Acme" and contact["leadbot_lead_id"] == str(dana["lead_id"])
    assert (contact["leadbot_score"], contact["leadbot_temperature"]) == ("45", "warm")
    assert (contact["leadbot_stage"], contact["leadbot_need_category"]) == ("prospect", "crm")
    assert contact["leadbot_need"] == "we lose track of deals"
    assert apis.contacts["lee@globex.test"]["lastname"] == "Lee"
    record = apis.sf_leads[str(dana["lead_id"])]
    assert record["Email"] == "dana@acme.test" and record["Rating"] == "Warm"
    assert (record["Leadbot_Score__c"], record["Leadbot_Stage__c"]) == (45, "prospect")
    lee_record = apis.sf_leads[str(lee["lead_id"])]
    assert lee_record["LastName"] == "Lee" and "FirstName" not in lee_record
    hooked = apis.hooked[dana["lead_id"]]
    assert (hooked["email"], hooked["score"], hooked["stage"]) == ("dana@acme.test", 45, "prospect")
    assert set(apis.hooked) == {dana["lead_id"], lee["lead_id"]}


def test_changes_waiting_for_delivery_go_out_as_one_upsert_of_the_latest(
    session_factory: sessionmaker[Session],
) -> None:
    made = make_lead(session_factory, email="dana@acme.test")
    for scoring in (WARM, COLD):
        with session_factory.begin() as session:
            lifecycle.apply_scoring(session, made["lead_id"], scoring, "rep@example.com")
    with crm_apis() as apis, syncing(session_factory, apis):
        _wait(_all_settled(session_factory, 3))
    # One request per destination (HubSpot, Salesforce, the webhook), with the last score.
    assert [(r.service, r.status) for r in apis.received] == [
        ("hubspot", 200),
        ("salesforce", 201),
        ("webhook", 200),
    ]
    assert apis.contacts["dana@acme.test"]["leadbot_temperature"] == "cold"
    assert apis.sf_leads[str(made["lead_id"])]["Leadbot_Score__c"] == COLD.score


def test_crms_failing_for_a_while_get_everything_once_after_they_recover(
    database_url: str, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    made = [make_lead(session_factory, email=f"buyer{n}@acme.test") for n in range(4)]
    with crm_apis() as apis:
        apis.scripts["hubspot"] = [Answer(500)] * 2 + [Answer(429, {"Retry-After": "1"})] * 2
        apis.scripts["hubspot"] += [Answer(503), Answer(500)]
        apis.scripts["salesforce"] = [Answer(timeout_s=1.5), Answer(500), Answer(409)]
        apis.scripts["webhook"] = [Answer(502), Answer(429, {"Retry-After": "0"}), Answer(500)]
        with sync_process(database_url, apis, tmp_path / "sync.log", max_attempts=12):
            _wait(_all_settled(session_factory, 12))
    assert {m.status for m in _messages(session_factory)} == {"sent"}
    emails = {f"buyer{n}@acme.test" for n in range(4)}
    lead_ids = {str(lead["lead_id"]) for lead in made}
    assert apis.accepted("hubspot") == dict.fromkeys(emails, 1)
    assert set(apis.contacts) == emails
    # The timed-out request was applied there; its retry updated that record (200).
    assert apis.accepted("salesforce") == dict.fromkeys(lead_ids, 1)
    assert set(apis.sf_leads) == lead_ids and apis.created["salesforce"] == 4
    assert apis.accepted("webhook") == dict.fromkeys(lead_ids, 1)
    assert apis.created == {"hubspot": 4, "salesforce": 4, "webhook": 4}


def test_a_429_pauses_the_destination_as_long_as_retry_after_asks(
    session_factory: sessionmaker[Session],
) -> None:
    for n in range(2):
        make_lead(session_factory, email=f"buyer{n}@acme.test")
    with crm_apis() as apis:
        apis.scripts["hubspot"] = [Answer(429, {"Retry-After": "1"})]
        with syncing(session_factory, apis):
            _wait(_all_settled(session_factory, 6))
    first, *later = [r for r in apis.received if r.service == "hubspot"]
    assert first.status == 429 and [r.status for r in later] == [200, 200]
    # Backoff alone would retry within 0.3 s, and the other lead would not wait at all.
    assert all(r.at - first.at >= 0.95 for r in later)


def test_a_refused_request_is_a_dead_letter_at_once_and_a_retryable_one_after_n_tries(
    session_factory: sessionmaker[Session],
) -> None:
    made = make_lead(session_factory, email="dana@acme.test")
    with crm_apis() as apis:
        apis.scripts["salesforce"] = [Answer(500)] * 3
        policy = RetryPolicy(max_attempts=3, base_delay_s=0.05, max_delay_s=0.1)
        # A revoked HubSpot token: every HubSpot call is a 401.
        with syncing(session_factory, apis, policy, LEADBOT_HUBSPOT_TOKEN="pat-revoked"):
            _wait(_all_settled(session_factory, 3))
    by_kind = {m.kind: m for m in _messages(session_factory)}
    assert (by_kind["hubspot"].status, by_kind["hubspot"].attempts) == ("failed", 1)
    assert by_kind["hubspot"].last_error == "HTTP 401 INVALID_AUTHENTICATION"
    assert (by_kind["salesforce"].status, by_kind["salesforce"].attempts) == ("failed", 3)
    assert by_kind["webhook"].status == "sent"
    assert apis.statuses("hubspot") == [401] and apis.statuses("salesforce") == [500] * 3
    assert by_kind["salesforce"].lead_id == made["lead_id"]


def test_a_409_is_retried_by_a_crm_and_means_already_delivered_to_the_webhook(
    session_factory: sessionmaker[Session],
) -> None:
    make_lead(session_factory, email="dana@acme.test")
    with crm_apis() as apis:
        apis.scripts["hubspot"] = [Answer(409)]  # a concurrent write to the contact
        apis.scripts["webhook"] = [Answer(409)]  # the receiver has this change already
        with syncing(session_factory, apis):
            _wait(_all_settled(session_factory, 3))
    by_kind = {m.kind: m for m in _messages(session_factory)}
    assert apis.statuses("hubspot") == [409, 200] and by_kind["hubspot"].attempts == 2
    assert apis.statuses("webhook") == [409] and by_kind["webhook"].attempts == 1
    assert {m.status for m in by_kind.values()} == {"sent"}


def _leadbot(database_url: str, *args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(PROJECT_ROOT / ".venv" / "bin" / "leadbot"), *args],
        cwd=PROJECT_ROOT,
        env={**os.environ, "LEADBOT_DATABASE_URL": database_url, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout


@contextmanager
def sync_process(
    database_url: str, apis: CrmApis, log: Path, max_attempts: int = 3, **settings: str
) -> Iterator[None]:
    """`leadbot sync` as `make run` starts it, in a process of its own."""
    environment = {
        **os.environ,
        **apis.env(),
        "LEADBOT_DATABASE_URL": database_url,
        "LEADBOT_CRM_TIMEOUT_S": str(TIMEOUT_S),
        "LEADBOT_CRM_RETRY_BASE_S": "0.05",
        "LEADBOT_CRM_RETRY_MAX_S": "0.3",
        "LEADBOT_CRM_MAX_ATTEMPTS": str(max_attempts),
        **settings,
    }
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot.crm_sync"],
            cwd=PROJECT_ROOT,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            yield
        finally:
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=30) == 0


def test_the_sync_process_dead_letters_shows_status_without_personal_data_and_replays(
    database_url: str, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    sessions = session_factory  # the store the process works on
    made = make_lead(sessions, name="Dana Reyes", email="dana@acme.test")
    with crm_apis() as apis:
        apis.scripts["salesforce"] = [Answer(500)] * 3 + [Answer(429, {"Retry-After": "0"})]
        with sync_process(database_url, apis, tmp_path / "sync.log"):
            _wait(_all_settled(sessions, 3))
            status = json.loads(_leadbot(database_url, "sync", "status", "--json"))
            text = _leadbot(database_url, "sync", "status")
            assert status["destinations"]["salesforce"]["failed"] == 1
            assert status["destinations"]["hubspot"]["sent"] == 1
            [letter] = status["dead_letters"]
            assert (letter["destination"], letter["lead_id"]) == ("salesforce", made["lead_id"])
            assert (letter["attempts"], letter["error"]) == (3, "HTTP 500")
            replayed = _leadbot(database_url, "sync", "replay")
            assert replayed == "leadbot: 1 dead letter(s) will be sent again\n"
            _wait(lambda: apis.created["salesforce"] == 1)
            _wait(_all_settled(sessions, 3))
    assert apis.statuses("salesforce") == [500, 500, 500, 429, 201]
    log = (tmp_path / "sync.log").read_text()
    for shown in (json.dumps(status), text, log):
        assert "dana@acme.test" not in shown and "Dana" not in shown and "Reyes" not in shown
    assert {m.status for m in _messages(sessions)} == {"sent"}


def test_salesforce_gets_a_token_when_none_is_set_and_renews_it_once_when_it_expires(
    session_factory: sessionmaker[Session],
) -> None:
    made = make_lead(session_factory, email="dana@acme.test")
    with crm_apis() as apis:
        apis.sf_rotates_refresh_tokens = True  # the second refresh needs the first's new one
        settings = {
            **apis.salesforce_grant_env(),
            "LEADBOT_SALESFORCE_TOKEN": "",
            # The org's old address: each token's answer says where it is now.
            "LEADBOT_SALESFORCE_INSTANCE_URL": apis.url.replace("127.0.0.1", "localhost"),
        }
        with syncing(session_factory, apis, **settings):
            _wait(_all_settled(session_factory, 3))
            apis.expire_salesforce_sessions()  # the org's session timeout passes
            with session_factory.begin() as session:
                lifecycle.apply_scoring(session, made["lead_id"], WARM, "rep@example.com")
            _wait(lambda: apis.statuses("salesforce") == [201, 401, 200])
            _wait(_all_settled(session_factory, 3))
    # One token before the first request, one more when it expired; the refused request was
    # sent again with the new token within the same attempt.
    assert apis.statuses("salesforce_login") == [200, 200]
    assert apis.accepted("salesforce") == {str(made["lead_id"]): 2}
    by_kind = {m.kind: m for m in _messages(session_factory)}
    assert (by_kind["salesforce"].status, by_kind["salesforce"].attempts) == ("sent", 1)
    assert apis.sf_leads[str(made["lead_id"])]["Rating"] == "Warm"
    assert apis.created["salesforce"] == 1


def test_a_token_endpoint_down_or_slow_is_tried_again_without_resending_the_lead(
    session_factory: sessionmaker[Session],
) -> None:
    made = make_lead(session_factory, email="dana@acme.test")
    with crm_apis() as apis:
        apis.expire_salesforce_sessions()  # the token in the environment expired
        # Down, then too slow: the token it issued arrives after the client gave up.
        apis.scripts["salesforce_login"] = [Answer(503), Answer(timeout_s=1.5)]
        with syncing(session_factory, apis, **apis.salesforce_grant_env()):
            _wait(_all_settled(session_factory, 3))
    assert [(r.status, r.late) for r in apis.received if r.service == "salesforce_login"] == [
        (503, False),
        (200, True),
        (200, False),
    ]
    # The expired token was refused once; later attempts renewed it before sending the lead.
    assert apis.statuses("salesforce") == [401, 201]
    by_kind = {m.kind: m for m in _messages(session_factory)}
    assert (by_kind["salesforce"].status, by_kind["salesforce"].attempts) == ("sent", 3)
    assert apis.accepted("salesforce") == {str(made["lead_id"]): 1}


def test_a_refused_salesforce_refresh_is_a_dead_letter_and_no_secret_reaches_a_log(
    database_url: str, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    made = make_lead(session_factory, name="Dana Reyes", email="dana@acme.test")
    with crm_apis() as apis:
        secrets = (apis.salesforce_token, apis.sf_refresh_token, apis.sf_client_secret)
        apis.expire_salesforce_sessions()  # the token in the environment expired long ago
        grant = apis.salesforce_grant_env()
        with sync_process(database_url, apis, tmp_path / "sync.log", **grant):
            _wait(_all_settled(session_factory, 3))
            apis.expire_salesforce_sessions()
            apis.sf_refresh_token = "5Aep861test.granted-again"  # the user revoked the old one
            with session_factory.begin() as session:
                lifecycle.apply_scoring(session, made["lead_id"], WARM, "rep@example.com")
            _wait(lambda: apis.statuses("salesforce") == [401, 201, 401])
            _wait(_all_settled(session_factory, 3))
            status = json.loads(_leadbot(database_url, "sync", "status", "--json"))
            text = _leadbot(database_url, "sync", "status")
    assert apis.statuses("salesforce_login") == [200, 400]
    [letter] = status["dead_letters"]
    assert (letter["destination"], letter["lead_id"]) == ("salesforce", made["lead_id"])
    assert (letter["attempts"], letter["error"]) == (1, "token refresh: HTTP 400 invalid_grant")
    assert status["destinations"]["hubspot"]["sent"] == 1
    log = (tmp_path / "sync.log").read_text()
    assert "crm.sync.salesforce_token_renewed" in log and "invalid_grant" in log
    for shown in (log, json.dumps(status), text):
        for secret in (*secrets, *apis.sf_tokens_issued):
            assert secret not in shown
        assert "dana@acme.test" not in shown and "Reyes" not in shown


@pytest.mark.parametrize(
    "given, missing",
    [
        (
            ["LEADBOT_SALESFORCE_CLIENT_ID"],
            ["LEADBOT_SALESFORCE_CLIENT_SECRET", "LEADBOT_SALESFORCE_REFRESH_TOKEN"],
        ),
        (
            ["LEADBOT_SALESFORCE_CLIENT_ID", "LEADBOT_SALESFORCE_CLIENT_SECRET"],
            ["LEADBOT_SALESFORCE_REFRESH_TOKEN"],
        ),
    ],
)
def test_half_a_salesforce_refresh_grant_is_refused_naming_what_is_missing(
    given: list[str], missing: list[str]
) -> None:
    with crm_apis() as apis:
        grant = apis.salesforce_grant_env()
        environment = {**apis.env(), **{name: grant[name] for name in given}}
    with pytest.raises(config.ConfigError, match=re.escape(f"{', '.join(missing)} not set")):
        config.load(environment)


def test_the_review_app_shows_each_lead_s_deliveries_and_warns_of_dead_letters(
    sqlite_url: str, tmp_path: Path
) -> None:
    engine = make_engine(sqlite_url)
    sessions = make_session_factory(engine)
    add_user(sessions, "ann@example.com")
    made = make_lead(sessions, email="dana@acme.test")
    try:
        with crm_apis() as apis:
            apis.scripts["salesforce"] = [Answer(400)]  # e.g. a custom field not created there
            with syncing(sessions, apis):
                _wait(_all_settled(sessions, 3))
            with running_web(tmp_path / "web", sqlite_url) as web:
                browser = requests.Session()
                login = browser.get(f"{web.url}/login", timeout=10).text
                response = browser.post(
                    f"{web.url}/login",
                    data={
                        "email": "ann@example.com",
                        "password": PASSWORD,
                        "csrf_token": csrf_token(login),
                    },
                    allow_redirects=False,
                    timeout=10,
                )
                assert response.status_code == 302
                queue = browser.get(f"{web.url}/review", timeout=10).text
                page = browser.get(f"{web.url}/review/leads/{made['lead_id']}", timeout=10).text
    finally:
        engine.dispose()
    assert "1 CRM delivery failed for good." in queue
    assert "hubspot: sent" in page and "webhook: sent" in page
    assert 'title="HTTP 400">salesforce: failed (dead letter)' in page


def test_make_run_starts_the_sync_worker_only_when_a_crm_is_configured(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in config.SWITCHES:
        monkeypatch.delenv(name, raising=False)
    model = tmp_path / "model.tar.gz"
    assert "crm-sync" not in [spec.name for spec in launcher.process_specs(settings.load(), model)]
    monkeypatch.setenv("LEADBOT_HUBSPOT_TOKEN", "pat-na1-test-token")
    sync = [s for s in launcher.process_specs(settings.load(), model) if s.name == "crm-sync"]
    [spec] = sync
    assert spec.command[1:] == ["-m", "bot.crm_sync"] and spec.health_url is None
    assert spec.environment["LEADBOT_HUBSPOT_TOKEN"] == "pat-na1-test-token"
