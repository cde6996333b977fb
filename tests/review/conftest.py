"""The review app through Flask's test client, on a real store (SQLite and PostgreSQL)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from bot import settings
from bot.web import create_app
from bot.web.review.auth import limiter
from bot.web.review.store import sessions
from tests.review.factories import PASSWORD, add_user

API_TOKEN = "review-test-token"
CSRF_FIELD = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"'
)


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    config = dataclasses.replace(
        settings.load(),
        database_url=database_url,
        var_dir=tmp_path / "var",
        api_token=API_TOKEN,
        web_secret_key="review-tests-secret-key-of-enough-length",
        slack_webhook_url=None,
        rasa_port=1,  # nothing listens there: the Rasa server is "down" in these tests
    )
    application = create_app(config)
    application.config["TESTING"] = True
    limiter.reset()
    yield application
    sessions(application).kw["bind"].dispose()


@pytest.fixture
def store(app: Flask) -> sessionmaker[Session]:
    return sessions(app)


def csrf_token(html: str) -> str:
    match = CSRF_FIELD.search(html)
    assert match, "no CSRF token in the page"
    return match.group(1) or match.group(2)


def log_in(client: FlaskClient, email: str, password: str = PASSWORD) -> FlaskClient:
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": csrf_token(page.text)},
    )
    assert response.status_code == 302, response.text
    return client


@pytest.fixture
def rep(app: Flask, store: sessionmaker[Session]) -> FlaskClient:
    add_user(store, "ann@example.com")
    return log_in(app.test_client(), "ann@example.com")


@pytest.fixture
def other_rep(app: Flask, store: sessionmaker[Session]) -> FlaskClient:
    add_user(store, "bob@example.com")
    return log_in(app.test_client(), "bob@example.com")


@pytest.fixture
def admin(app: Flask, store: sessionmaker[Session]) -> FlaskClient:
    add_user(store, "boss@example.com", role="admin")
    return log_in(app.test_client(), "boss@example.com")
