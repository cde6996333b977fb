"""A visitor corrects earlier answers in the middle of the form, over REST against the real
servers: each change is acknowledged, the question being asked comes once more, and the lead
keeps the new answers, their scoring and the changes in its events."""

from __future__ import annotations

import uuid
from pathlib import Path

import yaml
from sqlalchemy import select

from crm_bridge import leads
from crm_bridge.models import LeadEvent
from crm_bridge.store import make_engine, make_session_factory
from tests.support.bot import RunningBot

DOMAIN = yaml.safe_load((Path(__file__).resolve().parents[2] / "domain.yml").read_text())
CHANGED = DOMAIN["responses"]["utter_answer_changed"][0]["text"]


def _texts(replies: list[dict[str, object]]) -> list[str]:
    return [str(reply.get("text")) for reply in replies]


def test_budget_and_authority_changed_in_the_middle_of_the_form(running_bot: RunningBot) -> None:
    bot = running_bot
    sender = f"rest-correction-{uuid.uuid4().hex[:12]}"
    bot.say(sender, "hi")
    bot.say(sender, "we need a CRM for our sales team")
    timeline_question = _texts(bot.say(sender, "about 50k a year"))

    replies = _texts(bot.say(sender, "sorry, make that 80k not 50k"))
    assert replies == [CHANGED, *timeline_question], bot.logs()

    bot.say(sender, "next quarter")
    consent_question = _texts(bot.say(sender, "I'm the CEO"))

    replies = _texts(bot.say(sender, "scratch that, my manager decides"))
    assert replies == [CHANGED, *consent_question], bot.logs()

    for said in ("yes", "Dana Whitfield", f"dana.{sender}@northwind-labs.com", "Northwind Labs"):
        bot.say(sender, said)

    lead = bot.lead(sender)
    assert lead is not None
    assert (lead["budget_min"], lead["budget_max"], lead["budget_period"]) == (
        80000.0,
        80000.0,
        "yearly",
    )
    assert (lead["authority"], lead["timeline_months"]) == ("influencer", 3.0)
    # 80k a year: 30, next quarter: 25, influencer: 10, a CRM: 25.
    assert (lead["score"], lead["temperature"]) == (90, "hot")
    engine = make_engine(bot.database_url)
    try:
        with make_session_factory(engine).begin() as session:
            changes = session.scalars(
                select(LeadEvent.detail)
                .where(LeadEvent.lead_id == lead["id"], LeadEvent.kind == leads.ANSWER_CHANGED)
                .order_by(LeadEvent.id)
            ).all()
    finally:
        engine.dispose()
    assert changes == [
        {"question": "budget", "before": "about 50k a year", "now": "80k"},
        {"question": "authority", "before": "I'm the CEO", "now": "my manager decides"},
    ]
