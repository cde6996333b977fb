"""The REST channel against the real servers: clear 400s for what is not a visitor's message,
the message limit, typed intents, and valid requests answered as before (bot/channels/rest.py)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
import requests

from bot.channels import intake
from tests.support.bot import RunningBot


def _post(bot: RunningBot, body: bytes | str, **kwargs: Any) -> requests.Response:
    return requests.post(
        f"{bot.rasa_url}/webhooks/rest/webhook",
        data=body,
        headers={"Content-Type": "application/json"},
        timeout=30,
        **kwargs,
    )


def _sender() -> str:
    return f"rest-{uuid.uuid4().hex[:12]}"


@pytest.mark.parametrize(
    "body, says",
    [
        pytest.param("", "empty", id="empty"),
        pytest.param("   \n", "empty", id="blank"),
        pytest.param("hello", "not valid JSON", id="not-json"),
        pytest.param(b"\xff\xfe{", "not valid JSON", id="not-utf8"),
        pytest.param('{"sender": "a", "message": "hi"', "not valid JSON", id="truncated"),
        pytest.param('[{"sender": "a", "message": "hi"}]', "JSON object", id="array"),
        pytest.param('"hello"', "JSON object", id="string"),
        pytest.param('{"message": "hello"}', '"sender" is missing', id="no-sender"),
        pytest.param('{"sender": null, "message": "hi"}', '"sender" is missing', id="null-sender"),
        pytest.param('{"sender": "  ", "message": "hi"}', '"sender" must', id="blank-sender"),
        pytest.param('{"sender": ["a"], "message": "hi"}', '"sender" must', id="list-sender"),
        pytest.param('{"sender": true, "message": "hi"}', '"sender" must', id="bool-sender"),
        pytest.param(json.dumps({"sender": "a" * 256, "message": "hi"}), "255", id="long-sender"),
        pytest.param('{"sender": "a\\nb", "message": "hi"}', "printable", id="newline-sender"),
        pytest.param('{"sender": "a"}', '"message" is missing', id="no-message"),
        pytest.param('{"sender": "a", "message": 5}', '"message" must be a string', id="number"),
        pytest.param('{"sender": "a", "message": null}', '"message" must', id="null-message"),
        pytest.param('{"sender": "a", "message": {"t": 1}}', '"message" must', id="object"),
        pytest.param(
            '{"sender": "a", "message": "hi", "metadata": [1]}', '"metadata"', id="metadata-list"
        ),
    ],
)
def test_what_is_not_a_visitors_message_gets_a_clear_400(
    running_bot: RunningBot, body: str | bytes, says: str
) -> None:
    reply = _post(running_bot, body)
    assert reply.status_code == 400
    assert reply.headers["Content-Type"].startswith("application/json")
    assert says in reply.json()["error"]


def test_a_message_without_a_sender_starts_no_shared_conversation(running_bot: RunningBot) -> None:
    marker = f"nobody's message {uuid.uuid4().hex[:8]}"
    assert _post(running_bot, json.dumps({"message": marker})).status_code == 400
    shared = running_bot.tracker("default")
    assert all(e.get("text") != marker for e in shared["events"])


def test_a_huge_body_gets_413(running_bot: RunningBot) -> None:
    body = json.dumps({"sender": _sender(), "message": "x" * 200_000})
    assert _post(running_bot, body).status_code == 413


def test_a_valid_message_is_answered_as_before(running_bot: RunningBot) -> None:
    sender = _sender()
    reply = _post(running_bot, json.dumps({"sender": sender, "message": "hello"}))
    assert reply.status_code == 200
    replies = reply.json()
    assert replies and all(r["recipient_id"] == sender and r["text"] for r in replies)
    assert running_bot.tracker(sender)["latest_input_channel"] == "rest"


def test_a_numeric_sender_and_metadata_still_work(running_bot: RunningBot) -> None:
    sender = uuid.uuid4().int % 10**12
    body = {"sender": sender, "message": "hi", "metadata": {"page": "/pricing"}}
    reply = _post(running_bot, json.dumps(body))
    assert reply.status_code == 200 and reply.json()
    user = [e for e in running_bot.tracker(str(sender))["events"] if e["event"] == "user"][-1]
    assert user["metadata"]["page"] == "/pricing"


def test_the_conversation_channel_cannot_be_claimed(running_bot: RunningBot) -> None:
    sender = _sender()
    body = {"sender": sender, "message": "hi", "input_channel": "slack"}
    assert _post(running_bot, json.dumps(body)).status_code == 200
    assert running_bot.tracker(sender)["latest_input_channel"] == "rest"


def test_the_replies_can_still_be_streamed(running_bot: RunningBot) -> None:
    sender = _sender()
    reply = _post(
        running_bot, json.dumps({"sender": sender, "message": "hi"}), params={"stream": "true"}
    )
    assert reply.status_code == 200
    lines = [json.loads(line) for line in reply.text.splitlines() if line.strip()]
    assert lines and all(line["recipient_id"] == sender for line in lines)


def test_an_over_long_message_is_refused_politely_before_nlu(running_bot: RunningBot) -> None:
    sender = _sender()
    limit = running_bot.settings.max_message_chars
    running_bot.say(sender, "hello")
    before = running_bot.tracker(sender)["events"]
    replies = running_bot.say(sender, "x" * (limit + 1))
    assert replies == [{"recipient_id": sender, "text": intake.too_long_reply(limit)}]
    assert running_bot.tracker(sender)["events"] == before
    # Exactly at the limit the message is read.
    running_bot.say(sender, "y" * limit)
    assert running_bot.tracker(sender)["events"] != before


def test_a_typed_intent_is_text_and_sets_no_entity(running_bot: RunningBot) -> None:
    sender = _sender()
    running_bot.say(sender, '/inform{"email": "someone@else.com", "company": "Evil Corp"}')
    tracker = running_bot.tracker(sender)
    typed = [e for e in tracker["events"] if e["event"] == "user"][-1]
    assert typed["text"] == "inform"
    assert typed["parse_data"]["entities"] == []
    assert tracker["slots"]["email"] is None and tracker["slots"]["company"] is None


def test_an_offered_button_is_read_as_its_intent(running_bot: RunningBot) -> None:
    sender = _sender()
    running_bot.say(sender, "hello")
    _offer_a_person(running_bot, sender)
    running_bot.say(sender, '/request_human{"email": "x@y.com"}')
    typed = [e for e in running_bot.tracker(sender)["events"] if e["event"] == "user"][-1]
    assert typed["text"] == "request_human"

    _offer_a_person(running_bot, sender)
    running_bot.say(sender, "/request_human")
    clicked = [e for e in running_bot.tracker(sender)["events"] if e["event"] == "user"][-1]
    assert clicked["text"] == "/request_human"
    assert clicked["parse_data"]["intent"] == {"name": "request_human", "confidence": 1.0}


def _offer_a_person(bot: RunningBot, sender: str) -> None:
    """Appends a bot message with a button, as a response with buttons would."""
    requests.post(
        f"{bot.rasa_url}/conversations/{sender}/tracker/events",
        params={"token": bot.token},
        json=[
            {
                "event": "bot",
                "text": "Would you like to talk to a person?",
                "data": {"buttons": [{"title": "Yes please", "payload": "/request_human"}]},
            }
        ],
        timeout=30,
    ).raise_for_status()
