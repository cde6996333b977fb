"""The review app through Flask's test client on real SQLite and PostgreSQL stores: logins,
CSRF, roles, the queue, a lead's page and every action on it, follow-ups, funnel, export."""

from __future__ import annotations

import csv
import io
import statistics
import time
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.web.review.auth import WRONG_LOGIN
from crm_bridge.models import FollowUp, Handoff, Lead, LeadEvent
from crm_bridge.timestamps import utc_now
from tests.review.conftest import csrf_token, log_in
from tests.review.factories import WARM, add_user, make_lead

SCRIPT = "<script>alert(1)</script>"


def _post(client: FlaskClient, path: str, page: str, **data: str):  # type: ignore[no-untyped-def]
    """A form post as the browser sends it: with the CSRF token of the page it came from."""
    token = csrf_token(client.get(page).text)
    return client.post(path, data={"csrf_token": token, **data})


@pytest.mark.parametrize(
    "path",
    ["/review/", "/review/leads/1", "/review/funnel", "/review/follow-ups", "/review/leads.csv"],
)
def test_without_login_a_rep_is_sent_to_the_login_page(app: Flask, path: str) -> None:
    response = app.test_client().get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_a_wrong_password_and_an_unknown_user_look_the_same(
    app: Flask, store: sessionmaker[Session]
) -> None:
    add_user(store, "ann@example.com")
    client = app.test_client()

    def attempt(email: str, password: str) -> tuple[int, str, float]:
        token = csrf_token(client.get("/login").text)
        started = time.perf_counter()
        response = client.post(
            "/login", data={"email": email, "password": password, "csrf_token": token}
        )
        elapsed = time.perf_counter() - started
        body = response.text.replace(token, "")
        return response.status_code, body, elapsed

    wrong = [attempt("ann@example.com", "not the password") for _ in range(2)]
    unknown = [attempt("nobody@example.com", "not the password") for _ in range(2)]
    assert {w[0] for w in wrong} == {u[0] for u in unknown} == {401}
    assert WRONG_LOGIN in wrong[0][1]
    # Same page apart from the form's token (which differs per request anyway).
    assert csrf_free(wrong[0][1]) == csrf_free(unknown[0][1])
    # Both verify an argon2 hash: the same timing class, not a fast path for unknown emails.
    wrong_s = statistics.median(w[2] for w in wrong)
    unknown_s = statistics.median(u[2] for u in unknown)
    assert 0.33 < unknown_s / wrong_s < 3, (wrong_s, unknown_s)


def csrf_free(html: str) -> str:
    import re

    return re.sub(r'value="[^"]*"', 'value=""', html)


def test_failed_logins_are_rate_limited(app: Flask, store: sessionmaker[Session]) -> None:
    add_user(store, "ann@example.com")
    client = app.test_client()
    codes = []
    for _ in range(6):
        token = csrf_token(client.get("/login").text)
        codes.append(
            client.post(
                "/login",
                data={"email": "ann@example.com", "password": "guess", "csrf_token": token},
            ).status_code
        )
    assert codes == [401] * 5 + [429]


def test_session_cookies_are_http_only_same_site_and_secure_over_https(
    app: Flask, store: sessionmaker[Session]
) -> None:
    add_user(store, "ann@example.com")
    for base, secure in (("http://localhost", False), ("https://review.example.com", True)):
        client = app.test_client()
        token = csrf_token(client.get("/login", base_url=base).text)
        response = client.post(
            "/login",
            base_url=base,
            # Over HTTPS the CSRF check also wants the page the form came from (as browsers send).
            headers={"Referer": f"{base}/login"},
            data={
                "email": "ann@example.com",
                "password": "correct horse battery",
                "csrf_token": token,
            },
        )
        assert response.status_code == 302
        cookie = next(c for c in response.headers.getlist("Set-Cookie") if "leadbot_session=" in c)
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
        assert ("Secure" in cookie) is secure


def test_a_form_without_its_csrf_token_is_refused(
    rep: FlaskClient, store: sessionmaker[Session]
) -> None:
    made = make_lead(store)
    response = rep.post(f"/review/leads/{made['lead_id']}/handoffs/{made['handoff_id']}/claim")
    assert response.status_code == 400
    assert "CSRF" in response.text
    with store() as session:
        assert session.get(Handoff, made["handoff_id"]).status == "pending"  # type: ignore[union-attr]
    login = rep.application.test_client().post(
        "/login", data={"email": "ann@example.com", "password": "correct horse battery"}
    )
    assert login.status_code == 400


def test_a_rep_cannot_do_an_admins_work(
    rep: FlaskClient, admin: FlaskClient, store: sessionmaker[Session]
) -> None:
    assert rep.get("/review/users").status_code == 403
    token = csrf_token(rep.get("/review/").text)
    refused = rep.post(
        "/review/users",
        data={
            "csrf_token": token,
            "email": "eve@example.com",
            "role": "admin",
            "password": "x" * 12,
        },
    )
    assert refused.status_code == 403
    assert admin.get("/review/users").status_code == 200
    added = _post(
        admin,
        "/review/users",
        "/review/users",
        email="Eve@Example.com",
        role="rep",
        password="a long enough password",
    )
    assert added.status_code == 302
    log_in(rep.application.test_client(), "eve@example.com", "a long enough password")


def test_the_queue_shows_pending_hot_first_with_age_and_filters(
    rep: FlaskClient, store: sessionmaker[Session]
) -> None:
    make_lead(store, scoring=WARM, handoff=None, name="Walt Warm", company="Warmco")
    make_lead(store, name="Hana Hot", company="Hotco", channel="socketio")
    page = rep.get("/review/").text
    assert page.index("Hana Hot") < page.index("Walt Warm")
    assert "1 waiting for a rep" in page
    assert "just now" in page
    filtered = rep.get("/review/?temperature=warm").text
    assert "Walt Warm" in filtered and "Hana Hot" not in filtered
    assert "Hana Hot" in rep.get("/review/?q=hotco").text
    assert "Hana Hot" not in rep.get("/review/?channel=rest").text
    assert "Hana Hot" in rep.get("/review/?channel=socketio&handoff=pending").text


def test_the_queue_version_changes_when_a_handoff_arrives(
    rep: FlaskClient, store: sessionmaker[Session]
) -> None:
    before = rep.get("/review/queue/version").json["version"]
    make_lead(store)
    assert rep.get("/review/queue/version").json["version"] != before


def test_what_a_visitor_typed_is_shown_as_text(
    rep: FlaskClient, store: sessionmaker[Session]
) -> None:
    made = make_lead(store, need=SCRIPT, name=SCRIPT, company='=HYPERLINK("http://x")')
    for page in (rep.get("/review/").text, rep.get(f"/review/leads/{made['lead_id']}").text):
        assert SCRIPT not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    exported = rep.get("/review/leads.csv").text
    row = list(csv.DictReader(io.StringIO(exported)))[0]
    assert row["need"] == SCRIPT  # a CSV is text, not HTML
    assert row["company"].startswith("'=")  # never a formula in a spreadsheet


def test_the_lead_page_shows_answers_score_history_and_transcript(
    rep: FlaskClient, store: sessionmaker[Session]
) -> None:
    made = make_lead(store, name="Dana Reyes")
    page = rep.get(f"/review/leads/{made['lead_id']}").text
    for expected in (
        "around $50k a year",  # as said
        "budget min: 50000",  # next to its normalised value
        "Need matches the CRM offering",  # a reason per dimension
        "potential customer",
        "Thanks! A rep will reply here.",  # the transcript
        "handoff requested",  # the audit
    ):
        assert expected in page, expected
    assert rep.get("/review/leads/999999").status_code == 404


def test_claim_accept_reject_notes_and_stages_are_kept_with_who_and_when(
    rep: FlaskClient, other_rep: FlaskClient, store: sessionmaker[Session]
) -> None:
    first, second = make_lead(store), make_lead(store)
    lead_page = f"/review/leads/{first['lead_id']}"
    base = f"{lead_page}/handoffs/{first['handoff_id']}"
    assert _post(rep, f"{base}/claim", lead_page).status_code == 302
    # The second rep cannot claim it, nor decide on it, nor mark the lead.
    assert _post(other_rep, f"{base}/claim", lead_page).status_code == 409
    assert _post(other_rep, f"{base}/accept", lead_page).status_code == 403
    assert _post(other_rep, f"{lead_page}/stage", lead_page, stage="customer").status_code == 403
    assert _post(rep, f"{base}/accept", lead_page).status_code == 302
    assert _post(rep, f"{lead_page}/stage", lead_page, stage="customer").status_code == 302
    assert (
        _post(rep, f"{lead_page}/notes", lead_page, body="Signed <b>today</b>").status_code == 302
    )
    page = rep.get(lead_page).text
    assert "Signed &lt;b&gt;today&lt;/b&gt;" in page
    assert "owner: ann@example.com" in page

    other_page = f"/review/leads/{second['lead_id']}"
    other_base = f"{other_page}/handoffs/{second['handoff_id']}"
    _post(rep, f"{other_base}/claim", other_page)
    assert _post(rep, f"{other_base}/reject", other_page, reason=" ").status_code == 400
    assert _post(rep, f"{other_base}/reject", other_page, reason="a student").status_code == 302
    assert _post(rep, f"{other_page}/stage", other_page, stage="disqualified").status_code == 302
    with store() as session:
        kinds = [
            (e.actor, e.kind)
            for e in session.scalars(
                select(LeadEvent)
                .where(LeadEvent.lead_id == first["lead_id"])
                .order_by(LeadEvent.id)
            )
        ]
        assert kinds == [
            ("bot", "handoff_requested"),
            ("ann@example.com", "claimed"),
            ("ann@example.com", "accepted"),
            ("ann@example.com", "stage_changed"),
            ("ann@example.com", "note_added"),
        ]
        rejected = session.get(Handoff, second["handoff_id"])
        assert rejected is not None and rejected.reject_reason == "a student"
        assert session.get(Lead, second["lead_id"]).stage == "disqualified"  # type: ignore[union-attr]


def test_rescoring_uses_the_rules_file_as_it_is_now(
    rep: FlaskClient, store: sessionmaker[Session], app: Flask, tmp_path: Path
) -> None:
    config = app.config["LEADBOT_SETTINGS"]
    rules = tmp_path / "rules.yml"
    text = config.rules_path.read_text(encoding="utf-8")
    # The business raises the bar for "hot" and bumps the version.
    rules.write_text(
        text.replace("hot: 70", "hot: 95")
        .replace("{min: 20000, points: 30}", "{min: 90000, points: 30}")
        .replace('version: "2026-11-default"', 'version: "raised"'),
        encoding="utf-8",
    )
    app.config["LEADBOT_SETTINGS"] = type(config)(**{**config.__dict__, "rules_path": rules})
    made = make_lead(store, handoff=None)
    page = f"/review/leads/{made['lead_id']}"
    assert _post(rep, f"{page}/rescore", page).status_code == 302
    with store() as session:
        lead = session.get(Lead, made["lead_id"])
        assert lead is not None
        assert (lead.temperature, lead.stage, lead.rules_version) == ("warm", "prospect", "raised")
        assert [row.temperature for row in lead.history] == ["hot", "warm"]


def test_a_visitor_who_refused_consent_is_never_offered_as_someone_to_contact(
    rep: FlaskClient, store: sessionmaker[Session]
) -> None:
    made = make_lead(store, consent=False, name="Secret Person", email="secret@example.com")
    queue = rep.get("/review/").text
    assert "chat only: no consent" in queue
    page = rep.get(f"/review/leads/{made['lead_id']}").text
    assert "No consent to be contacted" in page
    assert "Secret Person" not in page and "secret@example.com" not in page
    assert "mailto:" not in page
    assert "around $50k a year" in page  # the anonymous answers are there
    exported = rep.get("/review/leads.csv").text
    assert "secret@example.com" not in exported


def test_taking_over_a_chat_needs_the_bot_and_changes_nothing_when_it_is_down(
    rep: FlaskClient, store: sessionmaker[Session]
) -> None:
    made = make_lead(store, channel="socketio")
    page = f"/review/leads/{made['lead_id']}"
    _post(rep, f"{page}/handoffs/{made['handoff_id']}/claim", page)
    with store() as session:
        lead = session.get(Lead, made["lead_id"])
        assert lead is not None
        chat_id = lead.conversations[0].id
    refused = _post(rep, f"{page}/chats/{chat_id}/take-over", page)
    assert refused.status_code == 502
    assert "could not be reached" in refused.text
    with store() as session:
        assert session.get(Lead, made["lead_id"]).conversations[0].held_by is None  # type: ignore[union-attr]


def test_follow_ups_due_today_are_listed_overdue_first_and_can_be_done_or_snoozed(
    rep: FlaskClient, store: sessionmaker[Session]
) -> None:
    made = make_lead(store, scoring=WARM, handoff=None, name="Wendy Warm")
    assert "Nothing due today" in rep.get("/review/follow-ups").text  # first step is days away
    with store.begin() as session:
        session.execute(update(FollowUp).values(due_at=utc_now() - timedelta(days=2)))
    page = rep.get("/review/follow-ups").text
    assert "Wendy Warm" in page and "overdue 2 d" in page
    with store() as session:
        task_id = session.scalars(select(FollowUp.id)).one()
    assert (
        _post(
            rep, f"/review/follow-ups/{task_id}/snooze", "/review/follow-ups", days="3"
        ).status_code
        == 302
    )
    assert "Nothing due today" in rep.get("/review/follow-ups").text
    _post(rep, f"/review/follow-ups/{task_id}/done", "/review/follow-ups")
    with store() as session:
        steps = [
            (t.step, t.status) for t in session.scalars(select(FollowUp).order_by(FollowUp.step))
        ]
        assert steps == [(0, "done")]
    rep.get("/review/follow-ups")  # the sweep schedules the next step of the cadence
    with store() as session:
        steps = [
            (t.step, t.status) for t in session.scalars(select(FollowUp).order_by(FollowUp.step))
        ]
        assert steps == [(0, "done"), (1, "open")]
        kinds = [
            e.kind
            for e in session.scalars(select(LeadEvent).where(LeadEvent.lead_id == made["lead_id"]))
        ]
        assert kinds == ["follow_up_snoozed", "follow_up_done"]


def test_the_funnel_draws_the_period_split_by_channel(
    rep: FlaskClient, store: sessionmaker[Session]
) -> None:
    make_lead(store, channel="socketio")
    make_lead(store, scoring=WARM, handoff=None, channel="rest")
    page = rep.get("/review/funnel").text
    assert "<svg" in page and "2 leads, 2 prospects, 1 potential customers, 0 customers" in page
    assert "socketio" in page and "rest" in page
    assert "Where visitors stop answering" in page
    empty = rep.get("/review/funnel?since=2001-01-01&until=2001-01-31").text
    assert "0 leads" in empty


def test_the_export_is_the_filtered_list(rep: FlaskClient, store: sessionmaker[Session]) -> None:
    make_lead(store, scoring=WARM, handoff=None, name="Walt Warm")
    make_lead(store, name="Hana Hot")
    response = rep.get("/review/leads.csv?temperature=hot")
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [row["person_name"] for row in rows] == ["Hana Hot"]
    assert rows[0]["handoff"] == "pending"


def test_after_login_a_rep_goes_where_they_were_going_but_never_to_another_site(
    app: Flask, store: sessionmaker[Session]
) -> None:
    add_user(store, "ann@example.com")
    for target, expected in (
        ("/review/funnel", "/review/funnel"),
        ("https://evil.example.com/", "/review/"),
        ("//evil.example.com/", "/review/"),
        ("/\\evil.example.com", "/review/"),
    ):
        client = app.test_client()
        token = csrf_token(client.get("/login").text)
        response = client.post(
            f"/login?next={target}",
            data={
                "email": "ann@example.com",
                "password": "correct horse battery",
                "csrf_token": token,
            },
        )
        assert response.headers["Location"] == expected, target


def test_logging_out_is_a_form_post_and_ends_the_session(rep: FlaskClient) -> None:
    assert rep.get("/logout").status_code == 405  # a link on another site cannot log a rep out
    response = _post(rep, "/logout", "/review/")
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert rep.get("/review/").status_code == 302


def test_a_disabled_account_is_logged_out_and_cannot_log_in(
    rep: FlaskClient, admin: FlaskClient, store: sessionmaker[Session]
) -> None:
    from crm_bridge.models import User

    with store() as session:
        ann = session.scalars(select(User).where(User.email == "ann@example.com")).one()
    assert _post(admin, f"/review/users/{ann.id}/disable", "/review/users").status_code == 302
    assert rep.get("/review/").status_code == 302  # the open session no longer counts
    client = rep.application.test_client()
    token = csrf_token(client.get("/login").text)
    refused = client.post(
        "/login",
        data={"email": "ann@example.com", "password": "correct horse battery", "csrf_token": token},
    )
    assert refused.status_code == 401
