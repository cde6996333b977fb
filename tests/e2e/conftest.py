"""The real bot for end-to-end tests: the action server and the Rasa server on free ports."""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from bot import launcher, settings, training

LEADBOT = str(Path(sys.executable).parent / "leadbot")


@dataclass(frozen=True)
class RunningBot:
    """Where the running bot listens and how to read the leads it wrote."""

    rasa_url: str
    token: str
    database_url: str

    def lead(self, sender_id: str) -> dict[str, Any] | None:
        """The lead of a conversation, read as an operator reads it: `leadbot leads show`."""
        result = subprocess.run(
            [LEADBOT, "leads", "show", "--sender-id", sender_id, "--json"],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "LEADBOT_DATABASE_URL": self.database_url},
        )
        if result.returncode == 1:
            return None
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    def say(self, sender_id: str, text: str) -> list[dict[str, Any]]:
        """Sends one visitor message through the REST channel and returns the bot's replies."""
        response = requests.post(
            f"{self.rasa_url}/webhooks/rest/webhook",
            json={"sender": sender_id, "message": text},
            timeout=30,
        )
        response.raise_for_status()
        return response.json()

    def tracker(self, sender_id: str) -> dict[str, Any]:
        """The conversation's tracker from the Rasa HTTP API."""
        response = requests.get(
            f"{self.rasa_url}/conversations/{sender_id}/tracker",
            params={"token": self.token},
            timeout=30,
        )
        response.raise_for_status()
        return response.json()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def running_bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBot]:
    """Starts the real servers once per test session on a fresh SQLite store, then stops them."""
    workdir = tmp_path_factory.mktemp("bot")
    config = dataclasses.replace(
        settings.load(),
        database_url=f"sqlite:///{workdir / 'leads.db'}",
        api_token="e2e-token",
        rasa_port=_free_port(),
        action_port=_free_port(),
    )
    launcher.upgrade(config.database_url)
    try:
        processes = launcher.start(config, training.ensure_model(config), log_dir=workdir)
    except RuntimeError as error:
        logs = "\n".join(p.read_text()[-4000:] for p in workdir.glob("*.log"))
        pytest.fail(f"the bot did not start: {error}\n{logs}")
    try:
        yield RunningBot(f"http://127.0.0.1:{config.rasa_port}", "e2e-token", config.database_url)
    finally:
        launcher.stop(processes)
