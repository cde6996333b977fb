"""`leadbot run` on real processes, from a first start without a model (it is trained while the
servers start, as on a fresh clone), with the action server killed mid-conversation and then
answering with an error (issue 10): the visitor is asked politely to try again instead of
silence, the launcher starts the action server again while the others keep running, no answer
is lost, Ctrl-C stops everything, and no log line of any process holds the visitor's email,
name or words."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import socketio

from bot import settings, training
from bot.channels import intake
from tests.support.bot import LEADBOT, free_port
from tests.support.scenario_player import compare_lead, load_personas

ROOT = Path(__file__).resolve().parents[2]
PERSONA = next(
    p
    for p in load_personas(ROOT.parent / "shared" / "scenarios" / "dev.yml")
    if p.id == "hot-pipeline"
)
TOKEN = "supervised-run-token"
STARTUP_S = 900  # `leadbot run` trains first: its models folder is empty
RESTART_S = 120
# Answered before the crash; the next one meets the action server down.
ANSWERED_BEFORE_CRASH = 3


@dataclass
class Run:
    """What happened in one supervised run."""

    sender_id: str
    replies_while_training: list[str] | None
    widget_replies_while_training: list[str]
    replies_while_down: list[str]
    replies_on_error: list[str]
    answered_before_crash: dict[str, Any]
    lead: dict[str, Any] | None
    exit_code: int
    children_left: list[int]
    log: str
    models: list[str]


class _Bot:
    """`leadbot run` in a subprocess, its output in one file."""

    def __init__(self, workdir: Path) -> None:
        self.rasa_port, self.action_port, self.web_port = free_port(), free_port(), free_port()
        self.log_path = workdir / "leadbot-run.log"
        self.models = workdir / "models"
        # A copy the test breaks for a moment, to make the action server answer with an error.
        self.rules = workdir / "qualification_rules.yml"
        self.rules.write_text((ROOT / "qualification_rules.yml").read_text(encoding="utf-8"))
        self.env = {
            **os.environ,
            "LEADBOT_DATABASE_URL": f"sqlite:///{workdir / 'leads.db'}",
            "LEADBOT_API_TOKEN": TOKEN,
            "LEADBOT_RASA_PORT": str(self.rasa_port),
            "LEADBOT_ACTION_PORT": str(self.action_port),
            "LEADBOT_WEB_PORT": str(self.web_port),
            "LEADBOT_SPOOL_DIR": str(workdir / "spool"),
            "LEADBOT_RULES": str(self.rules),
            "LEADBOT_MODELS_DIR": str(self.models),
        }
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [LEADBOT, "run"], env=self.env, stdout=log, stderr=subprocess.STDOUT
            )

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def say_while_training(self, sender_id: str) -> list[str] | None:
        """The answer to a message sent once the Rasa server listens but before `leadbot run`
        says it is up (while the model trains); None if it never listened before that."""
        deadline = time.monotonic() + STARTUP_S
        while "leadbot is up" not in self.log():
            assert self.process.poll() is None, self.log()[-4000:]
            assert time.monotonic() < deadline, self.log()[-4000:]
            try:
                return self.say(sender_id, "hello?")
            except requests.ConnectionError:
                time.sleep(0.5)
        return None

    def say_over_socketio(self, text: str) -> list[str]:
        """What the bot answers `text` from a website visitor's widget (python-socketio's
        client, from the demo page's origin), within a few seconds."""
        replies: queue.Queue[str] = queue.Queue()
        client = socketio.Client(reconnection=False)
        client.on("bot_uttered", lambda data: replies.put(str(data.get("text"))))
        client.connect(
            self.rasa_url,
            headers={"Origin": f"http://localhost:{self.web_port}"},
            transports=["websocket"],
            wait_timeout=10,
        )
        try:
            client.emit("session_request", {"session_id": uuid.uuid4().hex})
            client.emit("user_uttered", {"message": text})
            said = [replies.get(timeout=30)]
            while not replies.empty():
                said.append(replies.get())
            return said
        finally:
            client.disconnect()

    def wait_until_up(self) -> None:
        deadline = time.monotonic() + STARTUP_S
        while "leadbot is up" not in self.log():
            assert self.process.poll() is None, self.log()[-4000:]
            assert time.monotonic() < deadline, self.log()[-4000:]
            time.sleep(1)

    def say(self, sender_id: str, text: str) -> list[str]:
        response = requests.post(
            f"{self.rasa_url}/webhooks/rest/webhook",
            json={"sender": sender_id, "message": text},
            timeout=60,
        )
        response.raise_for_status()
        return [str(reply.get("text")) for reply in response.json()]

    def tracker(self, sender_id: str) -> dict[str, Any]:
        response = requests.get(
            f"{self.rasa_url}/conversations/{sender_id}/tracker",
            params={"token": TOKEN},
            timeout=30,
        )
        response.raise_for_status()
        return response.json()

    def action_server_up(self) -> bool:
        try:
            return requests.get(f"http://127.0.0.1:{self.action_port}/health", timeout=2).ok
        except requests.RequestException:
            return False

    def children(self) -> dict[int, str]:
        """Our servers (the launcher's children): pid and command line."""
        found = {}
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                status = (proc / "status").read_text()
                command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            parent = next(line for line in status.splitlines() if line.startswith("PPid:"))
            if int(parent.split()[1]) == self.process.pid:
                found[int(proc.name)] = command
        return found

    def lead(self, sender_id: str) -> dict[str, Any] | None:
        result = subprocess.run(
            [LEADBOT, "leads", "show", "--sender-id", sender_id, "--json"],
            capture_output=True,
            text=True,
            timeout=60,
            env=self.env,
        )
        if result.returncode == 1:
            return None
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    """One conversation through `leadbot run`, with the action server killed in the middle."""
    bot = _Bot(tmp_path_factory.mktemp("supervised"))
    try:
        sender_id = f"supervised-{uuid.uuid4().hex[:8]}"
        replies_while_training = bot.say_while_training(sender_id)
        widget_replies_while_training = bot.say_over_socketio("hello?")
        bot.wait_until_up()
        assert bot.say(sender_id, PERSONA.opening)
        for _ in range(ANSWERED_BEFORE_CRASH):
            slot = bot.tracker(sender_id)["slots"]["requested_slot"]
            assert bot.say(sender_id, PERSONA.answer_for(slot))
        answered = {
            slot: value
            for slot, value in bot.tracker(sender_id)["slots"].items()
            if slot in PERSONA.answers and value
        }

        [action_server] = [
            pid for pid, command in bot.children().items() if "bot.action_server" in command
        ]
        os.killpg(action_server, signal.SIGKILL)
        while bot.action_server_up():
            time.sleep(0.1)
        slot = bot.tracker(sender_id)["slots"]["requested_slot"]
        replies_while_down = bot.say(sender_id, PERSONA.answer_for(slot))

        deadline = time.monotonic() + RESTART_S
        while not bot.action_server_up():
            assert time.monotonic() < deadline, bot.log()[-4000:]
            time.sleep(0.5)
        # The action server answers the next answer with an error: the rules file is broken.
        good_rules = bot.rules.read_text(encoding="utf-8")
        bot.rules.write_text("offerings: [", encoding="utf-8")
        slot = bot.tracker(sender_id)["slots"]["requested_slot"]
        replies_on_error = bot.say(sender_id, PERSONA.answer_for(slot))
        bot.rules.write_text(good_rules, encoding="utf-8")
        for _ in range(15):
            slot = bot.tracker(sender_id)["slots"].get("requested_slot")
            if not bot.tracker(sender_id).get("active_loop", {}).get("name"):
                break
            assert bot.say(sender_id, PERSONA.answer_for(slot))
        lead = bot.lead(sender_id)

        children = list(bot.children())
        bot.process.send_signal(signal.SIGINT)
        exit_code = bot.process.wait(timeout=60)
        left = [pid for pid in children if Path(f"/proc/{pid}").exists()]
        yield Run(
            sender_id,
            replies_while_training,
            widget_replies_while_training,
            replies_while_down,
            replies_on_error,
            answered,
            lead,
            exit_code,
            left,
            bot.log(),
            sorted(path.name for path in bot.models.iterdir()),
        )
    finally:
        if bot.process.poll() is None:
            bot.process.send_signal(signal.SIGINT)
            bot.process.wait(timeout=60)


def test_a_first_start_trains_while_the_servers_start_and_the_rasa_server_takes_the_model(
    run: Run,
) -> None:
    # The whole conversation was answered by the Rasa server that started without a model.
    assert "leadbot: training the model; the servers start meanwhile" in run.log
    assert run.models == [training.model_path(settings.load()).name]
    assert "the rasa server stopped" not in run.log
    # A visitor who wrote before the model was loaded was asked to write again, not ignored.
    assert run.replies_while_training == [intake.ACTION_FAILED_REPLY], run.log[-4000:]
    assert run.widget_replies_while_training == [intake.ACTION_FAILED_REPLY], run.log[-4000:]
    assert compare_lead(PERSONA.expect, run.lead) == [], run.log[-4000:]


def test_the_visitor_is_asked_to_try_again_while_the_action_server_is_down(run: Run) -> None:
    assert intake.ACTION_FAILED_REPLY in run.replies_while_down, run.log[-4000:]


def test_an_error_of_the_action_server_gets_the_same_polite_answer(run: Run) -> None:
    assert "action_server.failure" in run.log
    assert intake.ACTION_FAILED_REPLY in run.replies_on_error, run.log[-4000:]


def test_the_action_server_is_started_again_and_no_answer_is_lost(run: Run) -> None:
    assert len(run.answered_before_crash) == ANSWERED_BEFORE_CRASH
    assert "the actions server stopped" in run.log
    assert compare_lead(PERSONA.expect, run.lead) == [], run.log[-4000:]


def test_ctrl_c_stops_every_server(run: Run) -> None:
    assert run.exit_code == 0
    assert run.children_left == []


def test_no_log_line_holds_the_visitors_details(run: Run) -> None:
    private = [
        PERSONA.answers["email"],
        *PERSONA.answers["person_name"].split(),
        PERSONA.answers["company"],
        *(PERSONA.answers[slot] for slot in ("need", "budget", "timeline", "authority")),
    ]
    leaks = [
        line
        for line in run.log.splitlines()
        if any(word.lower() in line.lower() for word in private)
    ]
    assert leaks == []


def test_ctrl_c_while_training_stops_the_training_and_every_server(tmp_path: Path) -> None:
    bot = _Bot(tmp_path)
    try:
        deadline = time.monotonic() + 120
        while not any(" train " in command for command in bot.children().values()):
            assert bot.process.poll() is None and time.monotonic() < deadline, bot.log()[-4000:]
            time.sleep(0.2)
        time.sleep(5)  # well into the training, with the servers starting meanwhile
        children = list(bot.children())
        assert len(children) >= 4, bot.children()
        bot.process.send_signal(signal.SIGINT)
        assert bot.process.wait(timeout=60) == 130
        assert "leadbot: stopped while starting" in bot.log()
        deadline = time.monotonic() + 20
        while any(Path(f"/proc/{pid}").exists() for pid in children):
            assert time.monotonic() < deadline, bot.children()
            time.sleep(0.2)
        assert list(bot.models.iterdir()) == []
    finally:
        if bot.process.poll() is None:
            bot.process.kill()
