"""Input no visitor should send still gets a polite answer and changes nothing it shouldn't."""

from __future__ import annotations

import uuid

import pytest

from tests.support.bot import RunningBot

BAD_INPUT = [
    pytest.param("", id="empty"),
    pytest.param("   ", id="blank"),
    pytest.param("budget " * 3000, id="huge"),
    pytest.param("\x00\x01\x02\ufffd\x7f binary", id="binary"),
    pytest.param("'; DROP TABLE leads; --", id="sql-injection"),
    pytest.param("<script>alert('x')</script>", id="html-injection"),
    pytest.param("{{7*7}} ${jndi:ldap://x}", id="template-injection"),
    pytest.param("¿Hablas español? Necesito ayuda con ventas", id="spanish"),
    pytest.param("今日の天気は？", id="japanese"),
    pytest.param("🙂🙂🙂", id="emoji"),
]


@pytest.mark.parametrize("text", BAD_INPUT)
def test_bad_input_while_asked_for_a_budget_is_answered_and_not_stored(
    running_bot: RunningBot, text: str
) -> None:
    sender = f"bad-input-{uuid.uuid4().hex[:8]}"
    running_bot.say(sender, "hello")
    running_bot.say(sender, "we need a help desk for our support team")
    assert running_bot.tracker(sender)["slots"]["requested_slot"] == "budget"

    replies = running_bot.say(sender, text)

    assert replies, "the bot said nothing"
    assert all(reply.get("text") for reply in replies)
    tracker = running_bot.tracker(sender)
    assert tracker["slots"]["budget"] is None
    assert tracker["slots"]["requested_slot"] == "budget"
    lead = running_bot.lead(sender)
    assert lead is not None and lead["budget_min"] is None
    assert lead["need_category"] == "customer_support"


def test_the_store_survives_an_injection_attempt_as_a_name(running_bot: RunningBot) -> None:
    sender = f"injection-{uuid.uuid4().hex[:8]}"
    for text in ["hi", "a crm", "10k", "next month", "I'm the CEO", "yes"]:
        running_bot.say(sender, text)
    running_bot.say(sender, "Robert'); DROP TABLE leads;--")
    assert running_bot.lead(sender) is not None
