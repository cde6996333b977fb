"""A rep takes over a live website chat through the real servers: the visitor asks for a
person on the socket.io channel, the rep claims the handoff in the review app, writes, and the
visitor gets the words in the same chat; the bot stays quiet while the rep holds the chat, the
visitor's answer shows on the lead page, and the bot answers again once the rep hands back."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from crm_bridge.store import make_engine, make_session_factory
from tests.review.factories import add_user
from tests.review.live import RepBrowser
from tests.support.bot import API_TOKEN, RunningBot, running_bot
from tests.support.website_visitor import WebsiteVisitor

pytestmark = pytest.mark.rasa

API = {"Authorization": f"Bearer {API_TOKEN}"}


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBot]:
    try:
        with running_bot(tmp_path_factory.mktemp("takeover"), web=True) as running:
            engine = make_engine(running.database_url)
            sessions = make_session_factory(engine)
            add_user(sessions, "ann@example.com")
            add_user(sessions, "bob@example.com")
            engine.dispose()
            yield running
    except RuntimeError as error:
        pytest.fail(str(error))


def _wait(condition: Any, what: str, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what} did not happen within {timeout:.0f} s")


def _lead_of(bot: RunningBot, sender_id: str) -> dict[str, Any]:
    def found() -> dict[str, Any] | None:
        listing = requests.get(f"{bot.web_url}/api/leads?handoff=pending", headers=API, timeout=10)
        for item in listing.json()["items"]:
            detail = requests.get(f"{bot.web_url}/api/leads/{item['id']}", headers=API, timeout=10)
            lead: dict[str, Any] = detail.json()
            if any(c["sender_id"] == sender_id for c in lead["conversations"]):
                return lead
        return None

    return _wait(found, "the handoff")  # type: ignore[no-any-return]


def test_a_rep_replies_in_the_visitors_chat_and_hands_back(bot: RunningBot) -> None:
    visitor = WebsiteVisitor(bot).connect()
    visitor.say("hi")
    handoff_said = visitor.say("can I talk to a human please?")
    assert any("sales team" in text for text in handoff_said), handoff_said
    assert visitor.session_id is not None
    lead = _lead_of(bot, visitor.session_id)
    [handoff] = lead["handoffs"]
    [chat] = lead["conversations"]
    page = f"/review/leads/{lead['id']}"

    ann = RepBrowser(bot.web_url, "ann@example.com").log_in()
    bob = RepBrowser(bot.web_url, "bob@example.com").log_in()
    assert ann.post(f"{page}/handoffs/{handoff['id']}/claim", page).status_code == 302
    assert bob.post(f"{page}/handoffs/{handoff['id']}/claim", page).status_code == 409
    assert bob.post(f"{page}/chats/{chat['id']}/take-over", page).status_code == 403
    assert ann.post(f"{page}/chats/{chat['id']}/take-over", page).status_code == 302

    greeting = "Hi, Ann from Acme sales here. How can I help?"
    assert ann.post(f"{page}/chats/{chat['id']}/reply", page, text=greeting).status_code == 302
    assert visitor.bot_text() == greeting  # the same chat, pushed to the visitor's socket

    # While Ann holds the chat the bot says nothing; her page shows what the visitor says.
    visitor.client.emit(
        "user_uttered", {"message": "what does it cost?", "session_id": visitor.session_id}
    )
    assert visitor.nothing_more(wait=4.0)
    live = f"{page}/chats/{chat['id']}/live"
    messages = _wait(
        lambda: [m for m in ann.get(live).json()["messages"] if m["text"] == "what does it cost?"],
        "the visitor's message on the lead page",
    )
    assert messages[0]["speaker"] == "visitor"
    shown = ann.get(live).json()
    assert shown["paused"] is True and shown["held_by"] == "ann@example.com"
    assert [m["speaker"] for m in shown["messages"] if m["text"] == greeting] == ["rep"]

    assert ann.post(f"{page}/chats/{chat['id']}/hand-back", page).status_code == 302
    answered = visitor.say("what does it cost?")
    assert answered, "the bot answers again after the hand-back"

    detail = requests.get(f"{bot.web_url}/api/leads/{lead['id']}", headers=API, timeout=10).json()
    kinds = [event["kind"] for event in detail["events"]]
    assert kinds[-4:] == ["claimed", "chat_taken_over", "reply_sent", "chat_handed_back"]
    texts = [line["text"] for line in detail["conversations"][0]["transcript"]]
    assert greeting in texts and "what does it cost?" in texts
    visitor.disconnect()


def test_the_rasa_http_api_is_guarded_even_without_an_api_token(tmp_path: Path) -> None:
    """Without LEADBOT_API_TOKEN the HTTP API is on for the web process only: a caller
    without the token made at start is refused."""
    from bot import launcher, settings

    config = settings.load()
    without = type(config)(**{**config.__dict__, "api_token": None})
    _, command = launcher.server_commands(without, tmp_path / "model.tar.gz")
    token = command[command.index("--auth-token") + 1]
    assert "--enable-api" in command and token == without.rasa_api_token and len(token) >= 32
    assert launcher.web_environment(without)["LEADBOT_RASA_API_TOKEN"] == token
    assert "LEADBOT_API_TOKEN" not in launcher.web_environment(without)


def test_a_rest_visitor_gets_the_reps_words_with_the_answer_to_their_next_message(
    bot: RunningBot,
) -> None:
    sender = "rest-visitor-takeover"
    bot.say(sender, "hi")
    assert any("sales team" in m.get("text", "") for m in bot.say(sender, "I want a human"))
    lead = _lead_of(bot, sender)
    [handoff] = lead["handoffs"]
    [chat] = lead["conversations"]
    page = f"/review/leads/{lead['id']}"
    ann = RepBrowser(bot.web_url, "ann@example.com").log_in()
    assert ann.post(f"{page}/handoffs/{handoff['id']}/claim", page).status_code == 302
    assert ann.post(f"{page}/chats/{chat['id']}/take-over", page).status_code == 302
    words = "Ann here. Shall I call you this afternoon?"
    assert ann.post(f"{page}/chats/{chat['id']}/reply", page, text=words).status_code == 302

    # The rep holds the chat: the bot stays quiet, and the rep's words come with this answer.
    assert bot.say(sender, "ok") == [{"recipient_id": sender, "text": words, "rep": True}]
    assert bot.say(sender, "yes, after 3pm") == []  # handed over once, not again
    assert ann.post(f"{page}/chats/{chat['id']}/hand-back", page).status_code == 302
    assert bot.say(sender, "thanks") != []
