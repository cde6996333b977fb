"""The real bot for tests and benchmarks: the servers `leadbot run` starts, on free ports."""

from __future__ import annotations

import dataclasses
import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import requests
from sqlalchemy.orm import Session, sessionmaker

from bot import launcher, settings, training
from crm_bridge import leads
from crm_bridge.store import make_engine, make_session_factory

LEADBOT = str(Path(sys.executable).parent / "leadbot")
API_TOKEN = "test-api-token"


@dataclass(frozen=True)
class RunningBot:
    """Where the running bot listens, its processes, and how to read the leads it wrote."""

    settings: settings.Settings
    processes: tuple[subprocess.Popen[bytes], ...]
    workdir: Path

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.rasa_port}"

    @property
    def web_url(self) -> str:
        """The web process (demo page, widget.js), when it was started."""
        return f"http://127.0.0.1:{self.settings.web_port}"

    @property
    def token(self) -> str:
        return self.settings.api_token or ""

    @property
    def database_url(self) -> str:
        return self.settings.database_url

    def lead(self, sender_id: str) -> dict[str, Any] | None:
        """The lead of a conversation, as `leadbot leads show --json` prints it.

        Read in this process: starting the command for every conversation cost more CPU than
        the conversation itself (tests/integration/test_cli.py runs the command).
        """
        with _sessions(self.database_url).begin() as session:
            record = leads.record_for_sender(session, sender_id)
        return None if record is None else json.loads(json.dumps(record))

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

    def logs(self) -> str:
        """The servers' logs so far, for a failure message."""
        return "\n".join(
            f"--- {log.name}\n{log.read_text(errors='replace')[-4000:]}"
            for log in sorted(self.workdir.glob("*.log"))
        )


@cache
def _sessions(database_url: str) -> sessionmaker[Session]:
    return make_session_factory(make_engine(database_url))


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_bot(workdir: Path, *, web: bool = False, **overrides: Any) -> Iterator[RunningBot]:
    """Starts the real servers on free ports and a fresh SQLite store in `workdir`, then stops them.

    Args:
        workdir: holds the store, the generated Rasa files and every server's log.
        web: start the web process too (demo page and widget, for browser tests), after the
            Rasa server; the socket.io channel then accepts the demo page's origin.
        overrides: settings to change (see `bot.settings.Settings`), e.g. ``rasa_workers=2``.

    Raises:
        RuntimeError: a server did not start; the message carries the logs' tails.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    config = dataclasses.replace(
        settings.load(),
        **{
            "database_url": f"sqlite:///{workdir / 'leads.db'}",
            "api_token": API_TOKEN,
            "rasa_port": free_port(),
            "action_port": free_port(),
            "web_port": free_port(),
            "var_dir": workdir,
            **overrides,
        },
    )
    launcher.upgrade(config.database_url)
    try:
        specs = launcher.process_specs(config, training.ensure_model(config), web=web)
        processes = launcher.start(config, specs, log_dir=workdir)
    except RuntimeError as error:
        logs = "\n".join(p.read_text(errors="replace")[-4000:] for p in workdir.glob("*.log"))
        raise RuntimeError(f"the bot did not start: {error}\n{logs}") from error
    try:
        yield RunningBot(config, tuple(processes), workdir)
    finally:
        launcher.stop(processes)
