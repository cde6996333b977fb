"""One person, many conversations, against the real servers: the widget's visit gives the lead
its source, a returning visitor is welcomed back and asked nothing known, an answer can change,
and a visitor who goes quiet mid-form gets one nudge in the widget (python-socketio's client)."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from sqlalchemy import select

from crm_bridge.models import Conversation
from crm_bridge.store import make_engine, make_session_factory
from tests.support.bot import LEADBOT, RunningBot, running_bot
from tests.support.website_visitor import WebsiteVisitor

NUDGE_AFTER_S = 8
ANSWERS = {
    "need": "we need a CRM for our sales team",
    "budget": "about 10k a year",
    "timeline": "in a year",
    "authority": "I'm the CEO",
    "consent": "yes",
    "person_name": "Dana Whitfield",
    "email": "dana.returning@northwind-labs.com",
    "company": "Northwind Labs",
}
UTM_NONE = {field: None for field in ("source", "medium", "campaign", "term", "content")}


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBot]:
    """The real servers, nudging a quiet visitor after a few seconds."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LEADBOT_NUDGE_AFTER_S", str(NUDGE_AFTER_S))
        try:
            with running_bot(tmp_path_factory.mktemp("visitor-context")) as started:
                yield started
        except RuntimeError as error:
            pytest.fail(str(error))


def _session_id() -> str:
    return uuid.uuid4().hex


def _requested_slot(bot: RunningBot, sender_id: str) -> str | None:
    tracker = bot.tracker(sender_id)
    if not (tracker.get("active_loop") or {}).get("name"):
        return None
    slot: str | None = tracker["slots"].get("requested_slot")
    return slot


def _qualify_over_rest(bot: RunningBot, sender_id: str) -> list[str]:
    """A whole qualification over REST; the bot's texts of its last turn."""
    replies = bot.say(sender_id, "Hi")
    for _ in range(len(ANSWERS) + 2):
        slot = _requested_slot(bot, sender_id)
        if slot is None:
            break
        replies = bot.say(sender_id, ANSWERS[slot])
    assert _requested_slot(bot, sender_id) is None, bot.tracker(sender_id)["slots"]
    return [reply.get("text", "") for reply in replies]


def _texts(replies: list[dict[str, Any]]) -> list[str]:
    return [reply.get("text", "") for reply in replies]


def _shift_into_the_past(bot: RunningBot, sender_id: str, hours: float) -> None:
    """Moves the conversation back in time, as if the visitor had left hours ago."""
    events = bot.tracker(sender_id)["events"]
    for event in events:
        event["timestamp"] = float(event["timestamp"]) - hours * 3600
    _replace_events(bot, sender_id, events)


def _replace_events(bot: RunningBot, sender_id: str, events: list[dict[str, Any]]) -> None:
    response = requests.put(
        f"{bot.rasa_url}/conversations/{sender_id}/tracker/events",
        params={"token": bot.token},
        json=events,
        timeout=30,
    )
    response.raise_for_status()


@pytest.mark.parametrize(
    "referrer, utm, source",
    [
        ("https://www.google.com/", {"campaign": "spring", "source": "newsletter"}, "campaign"),
        ("https://duckduckgo.com/", {}, "search"),
        ("https://www.linkedin.com/feed/", {}, "social"),
        ("https://partner-blog.example/best-crms", {}, "referral"),
        (None, {}, "direct"),
    ],
)
def test_the_widgets_visit_is_kept_and_gives_the_lead_its_source(
    bot: RunningBot, referrer: str | None, utm: dict[str, str], source: str
) -> None:
    page = "https://acme.example/pricing"
    visit = {"page_url": page, "referrer": referrer, "utm": {**UTM_NONE, **utm}}
    tab = WebsiteVisitor(bot, session_id=_session_id(), custom_data=visit).connect()
    tab.say("Hi")
    tab.say(ANSWERS["need"])
    tab.disconnect()
    sender_id = tab.session_id or ""

    lead = bot.lead(sender_id)
    assert lead is not None
    assert lead["source"] == source
    engine = make_engine(bot.database_url)
    try:
        with make_session_factory(engine)() as session:
            chat = session.scalars(
                select(Conversation).where(Conversation.sender_id == sender_id)
            ).one()
            assert (chat.page_url, chat.referrer, chat.utm) == (page, referrer, utm or None)
    finally:
        engine.dispose()
    shown = subprocess.run(
        [LEADBOT, "leads", "show", "--sender-id", sender_id],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "LEADBOT_DATABASE_URL": bot.database_url},
        check=True,
    ).stdout
    assert f"source: {source}" in shown


def test_a_quiet_visitor_is_nudged_once_in_the_widget_and_keeps_what_they_said(
    bot: RunningBot,
) -> None:
    tab = WebsiteVisitor(bot, session_id=_session_id()).connect()
    tab.say("Hi")
    tab.say(ANSWERS["need"])
    assert tab.requested_slot() == "budget"

    # The visitor goes quiet: the reminder's messages arrive on the socket by themselves.
    nudge = tab.bot_text(timeout=NUDGE_AFTER_S + 60)
    assert nudge.startswith("Still there?")
    assert tab.bot_text().startswith("Roughly what budget")
    assert tab.nothing_more(wait=NUDGE_AFTER_S * 2)  # one nudge per conversation

    assert tab.requested_slot() == "budget"
    tab.say(ANSWERS["budget"])
    assert tab.requested_slot() == "timeline"
    tab.disconnect()
    lead = bot.lead(tab.session_id or "")
    assert lead is not None
    assert (lead["need_category"], lead["budget_annual"]) == ("crm", 10000.0)


def test_a_known_email_on_another_channel_is_welcomed_back_and_asked_nothing_known(
    bot: RunningBot,
) -> None:
    first = f"rest-{_session_id()}"
    _qualify_over_rest(bot, first)

    tab = WebsiteVisitor(bot, session_id=_session_id()).connect()
    tab.say("Hi")
    for _ in range(len(ANSWERS)):
        slot = tab.requested_slot()
        if slot is None or slot == "email":
            break
        tab.say(ANSWERS[slot])
    assert tab.requested_slot() == "email"
    replies = tab.say(ANSWERS["email"])
    tab.disconnect()

    assert replies[0].startswith("Welcome back!")
    assert not any(reply.startswith("And which company") for reply in replies)
    assert tab.requested_slot() is None  # the company was known: the form is done
    website, rest = bot.lead(tab.session_id or ""), bot.lead(first)
    assert website is not None and rest is not None
    assert website["id"] == rest["id"]
    assert website["company"] == "Northwind Labs"
    assert {c["sender_id"] for c in website["conversations"]} == {first, tab.session_id}


def test_a_visitor_back_after_the_session_expired_is_welcomed_and_can_change_an_answer(
    bot: RunningBot,
) -> None:
    sender_id = f"rest-{_session_id()}"
    _qualify_over_rest(bot, sender_id)
    before = bot.lead(sender_id)
    assert before is not None

    _shift_into_the_past(bot, sender_id, hours=2)
    welcome = _texts(bot.say(sender_id, "hello again"))
    assert welcome[0].startswith("Welcome back, Dana!")
    assert not any("?" in text and "budget" in text for text in welcome)

    changed = _texts(bot.say(sender_id, "our budget grew to 80k"))
    assert changed == [
        "Got it, I've updated that and passed it on to our team. Anything else I can help with?"
    ]
    after = bot.lead(sender_id)
    assert after is not None
    assert (after["budget_min"], after["budget_max"]) == (80000.0, 80000.0)
    assert after["score"] > before["score"]

    # The Rasa server forgot the conversation (an in-memory tracker store after a restart):
    # the store still knows the visitor, and nothing known is asked again.
    _replace_events(bot, sender_id, [])
    welcome = _texts(bot.say(sender_id, "hi"))
    assert welcome[0].startswith("Welcome back, Dana!")
    slots = bot.tracker(sender_id)["slots"]
    assert slots["budget"]["budget_min"] == 80000.0
    assert slots["qualification_done"] is True
