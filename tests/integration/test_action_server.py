"""The action server as the launcher runs it (`python -m bot.action_server`): loopback only,
the shared secret on every call, and error responses that never echo what was sent."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from crm_bridge import leads
from crm_bridge.migrate import upgrade
from crm_bridge.store import make_engine, make_session_factory
from tests.support.bot import free_port
from tests.support.slot_answers import EMAIL, HOT_ANSWERS, NAME

ROOT = Path(__file__).resolve().parents[2]
SECRET = "test-action-secret-4f1c9a"


@dataclass(frozen=True)
class ActionServer:
    url: str
    port: int
    database_url: str
    log: Path

    def lead(self, sender_id: str) -> dict[str, Any] | None:
        engine = make_engine(self.database_url)
        try:
            with make_session_factory(engine).begin() as session:
                return leads.record_for_sender(session, sender_id)
        finally:
            engine.dispose()


def _start(port: int, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "bot.action_server", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


@contextmanager
def _served(workdir: Path) -> Iterator[tuple[ActionServer, subprocess.Popen[bytes]]]:
    """An action server on a fresh SQLite store in `workdir`, stopped with SIGTERM on exit."""
    database_url = f"sqlite:///{workdir / 'leads.db'}"
    upgrade(database_url)
    port = free_port()
    log = workdir / "actions.log"
    env = {**os.environ, "LEADBOT_DATABASE_URL": database_url, "LEADBOT_ACTION_SECRET": SECRET}
    process = _start(port, env, log)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_healthy(process, url, log)
        yield ActionServer(url, port, database_url, log), process
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def action_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ActionServer]:
    with _served(tmp_path_factory.mktemp("action-server")) as (server, _):
        yield server


def _wait_until_healthy(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + 120
    while True:
        assert process.poll() is None, log.read_text(errors="replace")
        try:
            if requests.get(f"{url}/health", timeout=2).ok:
                return
        except requests.RequestException:
            pass
        assert time.monotonic() < deadline, "the action server did not start"
        time.sleep(0.3)


def _submission(sender_id: str) -> dict[str, Any]:
    """What Rasa posts to run the final submission of a hot lead's qualification."""
    slots = HOT_ANSWERS
    user = {
        "event": "user",
        "text": EMAIL,
        "timestamp": time.time(),
        "input_channel": "rest",
        "parse_data": {"intent": {"name": "inform", "confidence": 0.9}, "entities": []},
    }
    return {
        "next_action": "action_submit_qualification",
        "sender_id": sender_id,
        "version": "3.6.21",
        "domain": yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8")),
        "tracker": {
            "sender_id": sender_id,
            "slots": slots,
            "latest_message": {**user, "intent": user["parse_data"]["intent"]},
            "events": [user],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
        },
    }


@pytest.mark.parametrize(
    "headers, params",
    [
        pytest.param({}, {}, id="no-secret"),
        pytest.param({"Authorization": "Bearer wrong-secret"}, {}, id="wrong-bearer"),
        pytest.param({}, {"token": "wrong-secret"}, id="wrong-token"),
        pytest.param({"Authorization": f"Basic {SECRET}"}, {}, id="other-scheme"),
        pytest.param({"Authorization": f"Bearer {SECRET[:-1]}"}, {}, id="almost"),
    ],
)
def test_a_forged_call_is_refused_and_writes_nothing(
    action_server: ActionServer, headers: dict[str, str], params: dict[str, str]
) -> None:
    sender_id = f"forged-{len(headers)}-{len(params)}-{time.monotonic_ns()}"
    reply = requests.post(
        f"{action_server.url}/webhook",
        json=_submission(sender_id),
        headers=headers,
        params=params,
        timeout=30,
    )
    assert reply.status_code == 401
    assert SECRET not in reply.text and EMAIL not in reply.text
    assert action_server.lead(sender_id) is None


@pytest.mark.parametrize(
    "headers, params",
    [
        pytest.param({"Authorization": f"Bearer {SECRET}"}, {}, id="bearer"),
        pytest.param({}, {"token": SECRET}, id="rasa-token-parameter"),
    ],
)
def test_the_same_call_with_the_secret_writes_the_lead(
    action_server: ActionServer, headers: dict[str, str], params: dict[str, str]
) -> None:
    sender_id = f"rasa-{len(headers)}-{time.monotonic_ns()}"
    reply = requests.post(
        f"{action_server.url}/webhook",
        json=_submission(sender_id),
        headers=headers,
        params=params,
        timeout=60,
    )
    assert reply.status_code == 200, reply.text
    lead = action_server.lead(sender_id)
    assert lead is not None and lead["email"] == EMAIL


def test_every_route_but_health_needs_the_secret(action_server: ActionServer) -> None:
    assert requests.get(f"{action_server.url}/health", timeout=10).status_code == 200
    assert requests.get(f"{action_server.url}/actions", timeout=10).status_code == 401
    listed = requests.get(
        f"{action_server.url}/actions", headers={"Authorization": f"Bearer {SECRET}"}, timeout=10
    )
    assert listed.status_code == 200
    assert {"name": "action_submit_qualification"} in listed.json()


def test_it_listens_on_loopback_only(action_server: ActionServer) -> None:
    listening = subprocess.run(
        ["ss", "-Hltn", f"sport = :{action_server.port}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\n")
    addresses = [line.split()[3] for line in listening if line.strip()]
    assert addresses == [f"127.0.0.1:{action_server.port}"]
    address = _non_loopback_address()
    if address is None:
        return
    with socket.socket() as probe, pytest.raises(OSError):
        probe.settimeout(3)
        probe.connect((address, action_server.port))


def _non_loopback_address() -> str | None:
    """This machine's address on its default route, when it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # no packet is sent for a UDP connect
        except OSError:
            return None
        address = str(probe.getsockname()[0])
    return None if address.startswith("127.") else address


def _broken_tracker_call() -> dict[str, Any]:
    call = _submission(EMAIL)
    call["tracker"]["slots"] = f"{NAME} <{EMAIL}>"
    return call


@pytest.mark.parametrize(
    "body, status",
    [
        pytest.param(
            lambda: json.dumps({"next_action": EMAIL, "tracker": {"sender_id": NAME}}),
            404,
            id="unknown-action-named-like-an-email",
        ),
        pytest.param(lambda: json.dumps(_broken_tracker_call()), 500, id="action-fails"),
        pytest.param(lambda: f"{NAME} <{EMAIL}> is not JSON", 400, id="not-json"),
    ],
)
def test_an_error_response_never_echoes_the_request(
    action_server: ActionServer, body: Any, status: int
) -> None:
    reply = requests.post(
        f"{action_server.url}/webhook",
        data=body(),
        headers={"Authorization": f"Bearer {SECRET}", "Content-Type": "application/json"},
        timeout=30,
    )
    assert reply.status_code == status
    assert set(reply.json()) == {"error"}
    for secret_or_personal in (EMAIL, NAME, "Dana", "northwind", SECRET):
        assert secret_or_personal not in reply.text


def test_a_failed_action_is_logged_without_the_visitors_words(action_server: ActionServer) -> None:
    requests.post(
        f"{action_server.url}/webhook",
        json=_broken_tracker_call(),
        headers={"Authorization": f"Bearer {SECRET}"},
        timeout=30,
    )
    log = action_server.log.read_text(errors="replace")
    assert "action_server.failure kind=" in log
    assert NAME not in log and SECRET not in log


def test_without_a_secret_it_does_not_start(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "LEADBOT_ACTION_SECRET"}
    result = subprocess.run(
        [sys.executable, "-m", "bot.action_server", "--port", str(free_port())],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "LEADBOT_ACTION_SECRET" in result.stderr


def test_it_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    """The background writer of kept saves is cancelled at shutdown, not left pending."""
    with _served(tmp_path) as (server, process):
        pass
    output = server.log.read_text(errors="replace")
    assert process.returncode == 0, output
    assert "Task was destroyed" not in output and "Traceback" not in output, output
