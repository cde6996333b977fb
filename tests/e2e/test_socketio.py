"""The website's socket.io channel against the real servers, with python-socketio's own client:
session persistence across reconnects, history, allowed origins, the message limit and typed
intents (bot/channels/socketio.py)."""

from __future__ import annotations

import http.client
import uuid
from pathlib import Path

import pytest
import requests
import socketio

from bot.channels import intake
from tests.support.bot import RunningBot
from tests.support.scenario_player import compare_lead, load_personas
from tests.support.website_visitor import WebsiteVisitor

ROOT = Path(__file__).resolve().parents[2]
HOT_PERSONA = next(
    p
    for p in load_personas(ROOT.parent / "shared" / "scenarios" / "dev.yml")
    if p.id == "hot-pipeline"
)
FORGED_EMAIL = "someone@else.com"


def _session_id() -> str:
    return uuid.uuid4().hex


def test_a_whole_qualification_survives_a_reconnect_and_a_reload(running_bot: RunningBot) -> None:
    persona = HOT_PERSONA
    tab = WebsiteVisitor(running_bot, session_id=_session_id()).connect()
    session_id = tab.session_id
    said: list[tuple[str, str]] = [("user", persona.opening)]
    said += [("bot", text) for text in tab.say(persona.opening)]
    answered = 0
    slot = tab.requested_slot()
    while slot is not None:
        assert answered < 20, f"the form still asks for {slot}"
        if answered == 3:
            # The visitor's network drops (or the page reloads) halfway through.
            tab.disconnect()
            tab = WebsiteVisitor(running_bot, session_id=session_id).connect(expect_history=True)
            assert tab.session_id == session_id
            assert tab.history is not None
            assert [(m["sender"], m["text"]) for m in tab.history] == said
        answer = persona.answer_for(slot)
        said += [("user", answer), *(("bot", text) for text in tab.say(answer))]
        answered += 1
        slot = tab.requested_slot()
    tab.disconnect()

    lead = running_bot.lead(session_id or "")
    assert compare_lead(persona.expect, lead) == []
    assert lead is not None
    # The same person may have come by REST before (one lead per email, any channel).
    assert {"sender_id": session_id, "channel": "socketio"} in lead["conversations"]


def test_every_tab_of_a_session_gets_the_replies(running_bot: RunningBot) -> None:
    first = WebsiteVisitor(running_bot).connect()
    second = WebsiteVisitor(running_bot, session_id=first.session_id).connect(expect_history=False)
    try:
        replies = first.say("hello")
        assert replies
        assert [second.bot_text() for _ in replies] == replies
    finally:
        first.disconnect()
        second.disconnect()


def test_a_reloaded_page_gets_the_history_and_a_new_visitor_none(running_bot: RunningBot) -> None:
    tab = WebsiteVisitor(running_bot).connect()
    assert tab.nothing_more(wait=1.0), "a new session got a history"
    replies = tab.say("hi")
    tab.disconnect()
    reloaded = WebsiteVisitor(running_bot, session_id=tab.session_id).connect(expect_history=True)
    reloaded.disconnect()
    assert reloaded.history is not None
    assert [m["text"] for m in reloaded.history] == ["hi", *replies]
    assert [m["sender"] for m in reloaded.history] == ["user"] + ["bot"] * len(replies)


def test_a_reply_through_the_http_api_reaches_the_visitors_socket(running_bot: RunningBot) -> None:
    """How the web process relays a sales rep's words: output_channel=latest finds the socket."""
    tab = WebsiteVisitor(running_bot).connect()
    try:
        tab.say("hello")
        reply = requests.post(
            f"{running_bot.rasa_url}/conversations/{tab.session_id}/execute",
            params={"token": running_bot.token, "output_channel": "latest"},
            json={"name": "utter_greet"},
            timeout=30,
        )
        reply.raise_for_status()
        sent = [e for e in tab.tracker()["events"] if e["event"] == "bot"][-1]["text"]
        assert tab.bot_text() == sent.strip().split("\n\n")[0]
    finally:
        tab.disconnect()


@pytest.mark.parametrize(
    "asked",
    [
        pytest.param(None, id="none"),
        pytest.param("short", id="too-short"),
        pytest.param("../../etc/passwd-0123456789", id="odd-characters"),
        pytest.param(12345678901234567890, id="not-a-string"),
    ],
)
def test_a_missing_or_unusable_session_id_gets_a_new_one(
    running_bot: RunningBot, asked: object
) -> None:
    tab = WebsiteVisitor(running_bot)
    tab.session_id = asked  # type: ignore[assignment]
    tab.connect()
    tab.disconnect()
    assert isinstance(tab.session_id, str) and len(tab.session_id) == 32
    assert tab.session_id != asked


def test_a_conversation_of_another_channel_cannot_be_joined(running_bot: RunningBot) -> None:
    rest_sender = f"rest-visitor-{_session_id()}"
    running_bot.say(rest_sender, "hello, I'm Dana from Acme")
    tab = WebsiteVisitor(running_bot, session_id=rest_sender).connect()
    try:
        assert tab.session_id != rest_sender
        assert tab.nothing_more(wait=1.0), "the socket was sent something (a history?)"
    finally:
        tab.disconnect()


@pytest.mark.parametrize("transport", ["websocket", "polling"])
def test_a_page_of_another_origin_is_refused(running_bot: RunningBot, transport: str) -> None:
    tab = WebsiteVisitor(running_bot, origin="http://evil.example", transports=[transport])
    with pytest.raises(socketio.exceptions.ConnectionError):
        tab.connect()


def test_a_request_with_a_second_origin_is_judged_by_both(running_bot: RunningBot) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", running_bot.settings.rasa_port, timeout=10)
    try:
        connection.putrequest("GET", "/socket.io/?EIO=4&transport=polling")
        connection.putheader("Origin", f"http://localhost:{running_bot.settings.web_port}")
        connection.putheader("Origin", "http://evil.example")
        connection.endheaders()
        assert connection.getresponse().status == 403
    finally:
        connection.close()


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
def test_the_demo_page_may_connect(running_bot: RunningBot, host: str) -> None:
    origin = f"http://{host}:{running_bot.settings.web_port}"
    tab = WebsiteVisitor(running_bot, origin=origin, transports=["polling", "websocket"])
    tab.connect()
    try:
        assert tab.say("hello")
    finally:
        tab.disconnect()


def test_polling_answers_an_allowed_page_with_one_set_of_cors_headers(
    running_bot: RunningBot,
) -> None:
    origin = f"http://localhost:{running_bot.settings.web_port}"
    reply = requests.get(
        f"{running_bot.rasa_url}/socket.io/",
        params={"EIO": "4", "transport": "polling"},
        headers={"Origin": origin},
        timeout=10,
    )
    assert reply.status_code == 200
    # A browser refuses a response that carries the header twice.
    assert reply.raw.headers.getlist("Access-Control-Allow-Origin") == [origin]


def test_an_over_long_message_is_refused_politely_before_nlu(running_bot: RunningBot) -> None:
    limit = running_bot.settings.max_message_chars
    tab = WebsiteVisitor(running_bot).connect()
    try:
        tab.say("hello")
        before = tab.tracker()["events"]
        tab.client.emit(
            "user_uttered", {"message": "budget " * (limit // 7 + 1), "session_id": tab.session_id}
        )
        assert tab.bot_text() == intake.too_long_reply(limit)
        assert tab.nothing_more()
        assert tab.tracker()["events"] == before
    finally:
        tab.disconnect()


def test_a_typed_intent_with_an_email_stores_no_email(running_bot: RunningBot) -> None:
    tab = WebsiteVisitor(running_bot).connect()
    answers = {"need": "a better way to track deals", "timeline": "next month", "consent": "yes"}
    try:
        tab.say("I'm Dana, VP Sales at Acme, we have about 50k this year")
        slot = tab.requested_slot()
        while slot != "email":
            assert slot in answers, f"the form asked for {slot}"
            tab.say(answers[slot])
            slot = tab.requested_slot()

        tab.say(f'/inform{{"email": "{FORGED_EMAIL}"}}')

        tracker = tab.tracker()
        assert tracker["slots"]["email"] is None
        typed = tab.user_events()[-1]
        assert typed["text"] == "inform"
        assert typed["parse_data"]["entities"] == []
        assert tab.requested_slot() == "email"
        tab.say("I'd rather not say")
        if tab.requested_slot() == "company":
            tab.say("Acme")
    finally:
        tab.disconnect()
    lead = running_bot.lead(tab.session_id or "")
    assert lead is not None
    assert lead["email"] is None
    assert FORGED_EMAIL not in str(lead)


def test_a_button_the_bot_sent_is_read_as_its_intent_and_nothing_else_is(
    running_bot: RunningBot,
) -> None:
    tab = WebsiteVisitor(running_bot).connect()
    try:
        tab.say("hello")
        _offer_buttons(running_bot, tab.session_id or "", ["/affirm", "/deny"])
        tab.say("/affirm")
        clicked = tab.user_events()[-1]
        assert clicked["text"] == "/affirm"
        assert clicked["parse_data"]["intent"] == {"name": "affirm", "confidence": 1.0}

        # The buttons were answered: the same payload typed again is text.
        tab.say("/affirm")
        typed = tab.user_events()[-1]
        assert typed["text"] == "affirm"
    finally:
        tab.disconnect()


def _offer_buttons(bot: RunningBot, sender_id: str, payloads: list[str]) -> None:
    """Appends a bot message with buttons to the conversation, as a response with buttons would."""
    reply = requests.post(
        f"{bot.rasa_url}/conversations/{sender_id}/tracker/events",
        params={"token": bot.token},
        json=[
            {
                "event": "bot",
                "text": "Shall we go on?",
                "data": {"buttons": [{"title": p.strip("/"), "payload": p} for p in payloads]},
            }
        ],
        timeout=30,
    )
    reply.raise_for_status()
