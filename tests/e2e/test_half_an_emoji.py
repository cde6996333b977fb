"""Half an emoji (a lone UTF-16 surrogate, what a broken client or a cut-off emoji sends) in a
visitor's messages, over REST and socket.io, on SQLite and PostgreSQL: every turn is answered
and the conversation leaves a complete lead (issue 10)."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.support.bot import RunningBot, running_bot
from tests.support.pg_server import PostgresServer
from tests.support.scenario_player import compare_lead, load_personas, play
from tests.support.website_visitor import WebsiteVisitor

ROOT = Path(__file__).resolve().parents[2]
HALF_EMOJI = "\ud83d"  # the high half of 😀 without its low half
HOT_PERSONA = next(
    p
    for p in load_personas(ROOT.parent / "shared" / "scenarios" / "dev.yml")
    if p.id == "hot-pipeline"
)
# The opening, the need and the timeline each end with half an emoji; a whole one, as two
# halves, must stay whole.
BROKEN_PERSONA = dataclasses.replace(
    HOT_PERSONA,
    opening=f"{HOT_PERSONA.opening} {HALF_EMOJI}",
    answers={
        **HOT_PERSONA.answers,
        "need": f"{HOT_PERSONA.answers['need']} {HALF_EMOJI}",
        "timeline": f"{HOT_PERSONA.answers['timeline']} \ud83d\ude00",
    },
)


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def bot(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningBot]:
    """The real servers on a fresh SQLite store, or on a fresh PostgreSQL database."""
    overrides = {}
    if request.param == "postgres":
        server: PostgresServer = request.getfixturevalue("postgres_server")
        overrides["database_url"] = server.create_database(f"emoji_{uuid.uuid4().hex[:8]}")
    try:
        with running_bot(tmp_path_factory.mktemp(f"emoji-{request.param}"), **overrides) as up:
            yield up
    except RuntimeError as error:
        pytest.fail(str(error))


def test_half_an_emoji_over_rest_leaves_a_complete_lead(bot: RunningBot) -> None:
    outcome = play(BROKEN_PERSONA, bot.rasa_url, bot.token, bot.lead)
    assert outcome.passed, (outcome.failures, bot.logs())
    tracker = bot.tracker(outcome.sender_id)
    said = [e["text"] for e in tracker["events"] if e.get("event") == "user"]
    assert said[0] == f"{HOT_PERSONA.opening} \ufffd"
    assert f"{HOT_PERSONA.answers['timeline']} \U0001f600" in said
    assert "failed" not in bot.logs().lower()


def test_half_an_emoji_over_socketio_leaves_a_complete_lead(bot: RunningBot) -> None:
    tab = WebsiteVisitor(bot, session_id=uuid.uuid4().hex).connect()
    assert tab.say(BROKEN_PERSONA.opening)
    slot = tab.requested_slot()
    for _ in range(20):
        if slot is None:
            break
        assert tab.say(BROKEN_PERSONA.answer_for(slot)), f"no answer after {slot}"
        slot = tab.requested_slot()
    tab.disconnect()
    assert slot is None, f"the form still asks for {slot}"
    lead = bot.lead(tab.session_id or "")
    assert compare_lead(BROKEN_PERSONA.expect, lead) == [], bot.logs()


def test_half_an_emoji_in_a_messages_metadata_is_kept_as_a_replacement_character(
    bot: RunningBot,
) -> None:
    sender_id = f"emoji-metadata-{uuid.uuid4().hex[:8]}"
    response = requests.post(
        f"{bot.rasa_url}/webhooks/rest/webhook",
        json={
            "sender": sender_id,
            "message": "hello",
            "metadata": {
                "page_url": f"https://shop.example.com/{HALF_EMOJI}",
                "tags": [HALF_EMOJI],
            },
        },
        timeout=60,
    )
    assert response.status_code == 200 and response.json(), bot.logs()
    metadata = bot.tracker(sender_id)["latest_message"]["metadata"]
    assert metadata == {"page_url": "https://shop.example.com/\ufffd", "tags": ["\ufffd"]}
