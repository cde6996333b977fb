"""Answers given before they were asked: taken only when they make sense."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from qualifying.rules import load_rules
from qualifying.volunteered import unmarked_answer, volunteered_answer

RULES = load_rules(Path(__file__).resolve().parents[2] / "qualification_rules.yml")


@pytest.mark.parametrize(
    "slot, said, message, known, expected",
    [
        (
            "budget",
            "about 2k a month",
            "we need tickets, about 2k a month",
            {},
            {"budget_min": 2000.0, "budget_period": "monthly"},
        ),
        (
            "need",
            "help-desk software",
            "we need help-desk software",
            {},
            {"need_category": "customer_support"},
        ),
        # a need that matches no offering is more likely a misread than a need
        ("need", "email", "hi, quick question about email", {}, None),
        ("need", "a small bakery", "I own a small bakery chain", {}, None),
        # the model marked part of the answer: the whole message is read instead
        (
            "authority",
            "own",
            "Hi! I own a small bakery chain and need a help desk",
            {},
            {"authority": "decision_maker"},
        ),
        (
            "person_name",
            "Marcus",
            "Hi, I'm Marcus Reid, CEO of Copperline",
            {},
            {"person_name": "Marcus Reid"},
        ),
        # an everyday word opening the sentence is not a company; a made-up name is
        ("company", "Studio", "Studio owner from Porto here, we need a crm", {}, None),
        ("company", "Hoping", "Hoping to find a crm for my team, I'm CTO at Brandwell", {}, None),
        (
            "company",
            "Brandwell",
            "Hoping to find a crm for my team, I'm CTO at Brandwell",
            {},
            {"company": "Brandwell"},
        ),
        # a name introduced with "I'm" is not a company
        ("company", "Marcus Reid", "Hi, I'm Marcus Reid, CEO of Copperline", {}, None),
        (
            "company",
            "Copperline",
            "Hi, I'm Marcus Reid, CEO of Copperline",
            {},
            {"company": "Copperline"},
        ),
        (
            "company",
            "Dana Hill",
            "Dana Hill",
            {"person_name": {"said": "Dana Hill", "person_name": "Dana Hill"}},
            None,
        ),
        ("person_name", "Acme", "Acme", {"company": {"said": "Acme", "company": "Acme"}}, None),
        ("timeline", "asdf", "asdf", {}, None),
    ],
)
def test_volunteered_answers(
    slot: str, said: str, message: str, known: dict[str, Any], expected: dict[str, Any] | None
) -> None:
    answer = volunteered_answer(slot, said, message, known, RULES)
    if expected is None:
        assert answer is None
    else:
        assert answer is not None
        assert {k: answer.get(k) for k in expected} == expected


@pytest.mark.parametrize(
    "slot, message, expected",
    [
        ("company", "Hi, I'm Marcus Reid, CEO of Copperline", "Copperline"),
        ("company", "I'm the Head of Sales", None),
        ("company", "we are a team of 40 at Globex and need dashboards", "Globex"),
        (
            "authority",
            "Hi! I own a small bakery chain and need a help desk",
            "Hi! I own a small bakery chain and need a help desk",
        ),
        # a sentence about a team is no role
        ("authority", "our support team drowns in emails, we want a ticketing system", None),
        (
            "need",
            "hi, quick question about email marketing",
            "hi, quick question about email marketing",
        ),
        ("need", "Hi there", None),
        ("person_name", "I'm Dana, VP Sales at Acme, we have about 50k this year", "Dana"),
        ("person_name", "Hi, I'm Marcus Reid, CEO of Copperline", "Marcus Reid"),
        ("person_name", "I'm the CEO of a small shop", None),
        ("person_name", "I'm interested in your CRM", None),
        ("need", "around $50k a year", None),
        (
            "budget",
            "Hi, we want to automate our emails and have roughly 30k per year for it.",
            "Hi, we want to automate our emails and have roughly 30k per year for it.",
        ),
        # figures that count things, not money
        ("budget", "we send 10k emails a month and need automation", None),
        ("budget", "we use 5 different spreadsheets a month", None),
        # a figure paid per period is money even without a currency
        ("budget", "ticketing tool. 300/mo. asap.", "ticketing tool. 300/mo. asap."),
        # a role said without a subject is the speaker's
        ("authority", "hi, putting together a thesis on sales tools",
         "hi, putting together a thesis on sales tools"),
        # when to buy, said beside other answers; a price per month is no date
        ("timeline", "we've set aside $6k and have eight weeks to pick a vendor",
         "we've set aside $6k and have eight weeks to pick a vendor"),
        ("timeline", "helpdesk. 2k/month. within 3 weeks.", "helpdesk.  . within 3 weeks."),
        ("timeline", "we pay 2k a month for our old tool", None),
        ("timeline", "our shop got busier this year", None),
    ],
)  # fmt: skip
def test_answers_the_model_did_not_mark(slot: str, message: str, expected: str | None) -> None:
    assert unmarked_answer(slot, message, {}, RULES) == expected


def test_a_kind_of_product_is_no_employer() -> None:
    message = "so some kind of BI tool with nice charts would be great"
    assert unmarked_answer("company", message, {}, RULES) is None
    assert unmarked_answer("company", "I work at Globex, we need BI", {}, RULES) == "Globex"


def test_a_budget_the_model_marked_badly_is_read_from_the_message() -> None:
    message = "Hi, we want to automate our email campaigns and have roughly 30k per year for it."
    answer = volunteered_answer("budget", "it", message, {}, RULES)
    assert answer is not None and answer["budget_min"] == 30000


def test_a_period_after_an_amount_belongs_to_the_budget() -> None:
    message = "I'm Dana, VP Sales at Acme, we have about 50k this year"
    budget = volunteered_answer("budget", "about 50k", message, {}, RULES)
    assert budget is not None
    assert (budget["budget_min"], budget["budget_period"]) == (50000, "yearly")
    assert volunteered_answer("timeline", "this year", message, {}, RULES) is None
    assert volunteered_answer("timeline", "next month", "10k, and next month", {}, RULES)


def test_a_date_the_model_marked_as_money_leaves_the_budget_to_the_message() -> None:
    message = "Analytics. 900/month. Next quarter."
    budget = volunteered_answer("budget", "Next quarter", message, {}, RULES)
    assert budget is not None
    assert (budget["budget_min"], budget["budget_period"]) == (900, "monthly")


@pytest.mark.parametrize(
    "message, marked, expected",
    [
        # Said as a need, a need the model marked is taken, even one the business does not sell.
        ("Hello, we run care homes and need rota planning software.", "rota planning software",
         "other"),
        ("hi, I run a florist and we need to stop forgetting to call customers back", None, "crm"),
        # A job title's words are no need.
        ("Hello, email marketing manager at a retailer here", None, None),
        ("hi, I'm a support team lead at a bank", None, None),
        # The need in one clause of a longer story.
        ("Hello! I'm a vet and I want a way to answer pet owners' questions by chat. About $150 "
         "a month.", None, "customer_support"),
    ],
)  # fmt: skip
def test_a_need_said_in_the_opening_is_taken(
    message: str, marked: str | None, expected: str | None
) -> None:
    answer = volunteered_answer("need", marked or message, message, {}, RULES)
    assert (answer or {}).get("need_category") == expected
