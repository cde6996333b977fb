"""The JSON API of the running web process, checked by Schemathesis against its own OpenAPI
document: every documented response (status, content type, body schema) is what it returns,
with and without the bearer token."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sqlalchemy.orm import Session, sessionmaker

from crm_bridge.migrate import upgrade
from crm_bridge.store import make_engine, make_session_factory
from tests.review.factories import COLD, WARM, add_user, make_lead
from tests.review.web_process import WebProcess, running_web

TOKEN = "schemathesis-api-token"
# Schemathesis (pinned in requirements/app.txt), from this environment.
SCHEMATHESIS = str(Path(sys.executable).parent / "schemathesis")


@pytest.fixture(scope="module")
def live_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebProcess]:
    """The web process on a store with a few leads, handoffs, an owner and a note."""
    workdir = tmp_path_factory.mktemp("api")
    url = f"sqlite:///{workdir / 'leads.db'}"
    upgrade(url)
    engine = make_engine(url)
    sessions: sessionmaker[Session] = make_session_factory(engine)
    add_user(sessions, "ann@example.com")
    make_lead(sessions, need="<script>alert(1)</script>")
    make_lead(sessions, scoring=WARM, handoff="visitor_request", channel="socketio")
    make_lead(sessions, scoring=COLD, handoff=None, consent=False)
    make_lead(sessions, scoring=None, handoff=None, consent=None, channel="slack")
    engine.dispose()
    with running_web(workdir, url, LEADBOT_API_TOKEN=TOKEN) as web:
        yield web


def test_every_documented_response_is_what_the_api_returns(
    live_api: WebProcess, tmp_path: Path
) -> None:
    """Schemathesis's own runner, every check, with the token; a failure prints its report."""
    result = subprocess.run(
        [
            SCHEMATHESIS,
            "run",
            f"{live_api.url}/api/openapi.json",
            "--header",
            f"Authorization: Bearer {TOKEN}",
            "--checks",
            "all",
            "--max-examples",
            "25",
            "--seed",
            "7",
            "--report-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
        env={**os.environ, "SCHEMATHESIS_HOOKS": "", "NO_COLOR": "1"},
    )
    assert result.returncode == 0, f"{result.stdout[-8000:]}\n{result.stderr[-2000:]}"
    assert "No issues found" in result.stdout or "passed" in result.stdout


def test_without_the_token_every_operation_is_401(live_api: WebProcess) -> None:
    document = requests.get(f"{live_api.url}/api/openapi.json", timeout=10).json()
    for path in document["paths"]:
        concrete = path.replace("{lead_id}", "1").replace("{handoff_id}", "1")
        response = requests.get(f"{live_api.url}{concrete}", timeout=10)
        assert response.status_code == 401, path
        assert response.headers["Content-Type"] == "application/json"


def test_the_document_is_served_to_anyone(live_api: WebProcess, tmp_path: Path) -> None:
    response = requests.get(f"{live_api.url}/api/openapi.json", timeout=10)
    assert response.status_code == 200
    assert response.json()["info"]["title"] == "leadbot"
