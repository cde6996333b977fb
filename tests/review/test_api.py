"""The JSON API through Flask's test client: the token, filters, pages, one lead in full,
handoffs with their transitions, notes."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from tests.review.conftest import API_TOKEN, csrf_token
from tests.review.factories import WARM, make_lead

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": API_TOKEN},
        {"Authorization": "Basic x"},
    ],
)
def test_the_api_needs_the_bearer_token(app: Flask, headers: dict[str, str]) -> None:
    for path in ("/api/leads", "/api/leads/1", "/api/handoffs", "/api/handoffs/1"):
        response = app.test_client().get(path, headers=headers)
        assert response.status_code == 401, path
        assert response.json["code"] == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_the_openapi_document_describes_every_operation(app: Flask) -> None:
    document = app.test_client().get("/api/openapi.json").json
    assert document["openapi"].startswith("3.0")
    assert set(document["paths"]) == {
        "/api/leads",
        "/api/leads/{lead_id}",
        "/api/leads/{lead_id}/notes",
        "/api/handoffs",
        "/api/handoffs/{handoff_id}",
    }
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    for path in document["paths"].values():
        assert "401" in path["get"]["responses"]


def test_leads_are_filtered_and_paginated(app: Flask, store: sessionmaker[Session]) -> None:
    client = app.test_client()
    hot = [make_lead(store, name=f"Hot {n}") for n in range(3)]
    make_lead(store, scoring=WARM, handoff=None, name="Walt Warm")
    first = client.get("/api/leads?per_page=2", headers=AUTH).json
    assert (first["total"], first["page"], first["per_page"]) == (4, 1, 2)
    assert [item["id"] for item in first["items"]] == [hot[0]["lead_id"], hot[1]["lead_id"]]
    second = client.get("/api/leads?per_page=2&page=2", headers=AUTH).json
    assert [item["person_name"] for item in second["items"]] == ["Hot 2", "Walt Warm"]
    warm = client.get("/api/leads?temperature=warm", headers=AUTH).json
    assert [item["person_name"] for item in warm["items"]] == ["Walt Warm"]
    assert client.get("/api/leads?q=hot%201", headers=AUTH).json["total"] == 1
    assert client.get("/api/leads?owner=none&handoff=pending", headers=AUTH).json["total"] == 3
    assert client.get("/api/leads?temperature=boiling", headers=AUTH).status_code == 422


def test_one_lead_comes_with_history_transcript_handoffs_notes_and_audit(
    app: Flask, rep: FlaskClient, store: sessionmaker[Session]
) -> None:
    made = make_lead(store, name="Dana Reyes")
    page = f"/review/leads/{made['lead_id']}"
    token = csrf_token(rep.get(page).text)
    rep.post(f"{page}/handoffs/{made['handoff_id']}/claim", data={"csrf_token": token})
    rep.post(f"{page}/notes", data={"csrf_token": token, "body": "Call on Monday"})
    client = app.test_client()
    lead = client.get(f"/api/leads/{made['lead_id']}", headers=AUTH).json
    assert lead["person_name"] == "Dana Reyes" and lead["owner"] == "ann@example.com"
    assert lead["handoff"] == "claimed" and lead["channels"] == ["rest"]
    assert lead["history"][0]["stage"] == "potential_customer"
    assert lead["breakdown"][0]["reason"].startswith("Budget")
    [chat] = lead["conversations"]
    assert chat["transcript"][0]["speaker"] == "visitor"
    assert {a["slot"]: a["said"] for a in chat["answers"]}["budget"] == "around $50k a year"
    [handoff] = lead["handoffs"]
    assert [t["kind"] for t in handoff["transitions"]] == ["handoff_requested", "claimed"]
    assert handoff["slack_alert"]["status"] == "pending"
    assert [n["body"] for n in lead["notes"]] == ["Call on Monday"]
    notes = client.get(f"/api/leads/{made['lead_id']}/notes", headers=AUTH).json
    assert [n["author"] for n in notes] == ["ann@example.com"]
    one = client.get(f"/api/handoffs/{made['handoff_id']}", headers=AUTH).json
    assert one["claimed_by"] == "ann@example.com"
    listed = client.get("/api/handoffs?status=claimed", headers=AUTH).json
    assert [h["id"] for h in listed["items"]] == [made["handoff_id"]]
    assert client.get("/api/leads/999999", headers=AUTH).status_code == 404
    assert client.get("/api/handoffs/999999", headers=AUTH).json["code"] == 404
