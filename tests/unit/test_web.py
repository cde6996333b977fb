"""The web process's pages and files, through Flask's test client (no server, no browser)."""

from __future__ import annotations

import dataclasses
import re

import pytest
from flask.testing import FlaskClient

from bot import launcher, settings
from bot.web import create_app


@pytest.fixture
def client() -> FlaskClient:
    config = dataclasses.replace(settings.load(), rasa_port=5999, web_port=8999)
    return create_app(config).test_client()


def test_the_demo_page_embeds_the_widget_with_one_tag(client: FlaskClient) -> None:
    page = client.get("/", headers={"Host": "localhost:8999"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Acme Software" in html
    tags = re.findall(r"<script\b[^>]*>", html)
    assert tags == [
        '<script src="http://localhost:8999/widget.js" data-bot-url="http://localhost:5999" defer>'
    ]
    policy = page.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "connect-src 'self' http://localhost:5999 ws://localhost:5999" in policy


def test_the_bot_url_follows_the_host_the_visitor_used(client: FlaskClient) -> None:
    html = client.get("/", headers={"Host": "127.0.0.1:8999"}).get_data(as_text=True)
    assert 'data-bot-url="http://127.0.0.1:5999"' in html


@pytest.mark.parametrize(
    "path, content_type",
    [
        ("/widget.js", "text/javascript"),
        ("/widget.css", "text/css"),
        ("/vendor/socket.io-client/socket.io.esm.min.js", "text/javascript"),
    ],
)
def test_widget_files_may_be_loaded_by_any_website(
    client: FlaskClient, path: str, content_type: str
) -> None:
    response = client.get(path)
    assert response.status_code == 200, path
    assert response.mimetype == content_type
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    "path",
    [
        "/vendor/socket.io-client/../package.json",
        "/vendor/socket.io-client/%2e%2e/package.json",
        "/vendor/socket.io-client/../../rasa-webchat/lib/index.js",
        "/static/widget.js",
    ],
)
def test_nothing_else_is_served(client: FlaskClient, path: str) -> None:
    assert client.get(path).status_code == 404


def test_the_widget_builds_its_page_without_inner_html() -> None:
    script = (settings.PROJECT_ROOT / "bot/web/static/widget.js").read_text(encoding="utf-8")
    code = re.sub(r"/\*.*?\*/|//[^\n]*", "", script, flags=re.DOTALL)
    for unsafe in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert unsafe not in code


def test_the_web_process_serves_the_configured_ports() -> None:
    config = dataclasses.replace(settings.load(), rasa_port=5999, web_port=8999)
    environment = launcher.web_environment(config)
    assert environment["LEADBOT_WEB_PORT"] == "8999"
    assert environment["LEADBOT_RASA_PORT"] == "5999"
    assert launcher.web_command(config)[-2:] == ["-m", "bot.web"]


def test_the_web_port_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEADBOT_WEB_PORT", "8123")
    assert settings.load().web_port == 8123
