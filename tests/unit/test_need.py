"""Classifying a visitor's need into the offerings of the default rules file."""

from __future__ import annotations

from pathlib import Path

import pytest

from qualifying.declines import DECLINED
from qualifying.need import Need, classify_need
from qualifying.rules import load_rules
from qualifying.spelling import corrected_word
from qualifying.text import is_gibberish, is_question

RULES_FILE = Path(__file__).resolve().parents[2] / "qualification_rules.yml"
RULES = load_rules(RULES_FILE)
OFFERINGS = RULES.offerings


@pytest.mark.parametrize(
    "said, expected",
    [
        ("we need to track our sales pipeline and deals across 12 reps", "crm"),
        ("a CRM for our 5-person sales team", "crm"),
        ("pipeline and deal tracking", "crm"),
        ("our pipline is a mess", "crm"),
        ("Hi, I'm interested in your CRM", "crm"),
        ("better contact management for our reps", "crm"),
        (
            "our support team drowns in emails, we want a proper ticketing system",
            "customer_support",
        ),
        ("we need live chat on our website for support", "customer_support"),
        ("hello, do you do help desk software?", "customer_support"),
        ("too many TICKETS, no helpdesk", "customer_support"),
        ("a knowledge base and faq for customers", "customer_support"),
        ("we want to automate our email campaigns", "marketing_automation"),
        ("automating our email campaigns", "marketing_automation"),
        ("newsletters and drip nurturing", "marketing_automation"),
        ("we need lead generation", "marketing_automation"),
        ("we need dashboards and forecasting for our sales numbers", "analytics"),
        ("some kind of reporting for our small shop's sales", "analytics"),
        ("dashbords pls 📊", "analytics"),
        ("better forcasting of revenue", "analytics"),
        ("just researching chatbots for a class project", "other"),
        ("contract management for our legal team", "other"),
        ("can you help us with onboarding new hires?", "other"),
        ("not sure, something to help onboarding new staff", "other"),
    ],
)
def test_a_need_falls_into_the_offering_it_mentions(said: str, expected: str) -> None:
    need = classify_need(said, OFFERINGS)
    assert isinstance(need, Need)
    assert need.category == expected
    assert need.text == said.strip()


@pytest.mark.parametrize(
    "said",
    [
        "just browsing",
        "nothing",
        "Nothing really.",
        "not sure",
        "just looking around",
        "rather not say",
        "I'd rather not say",
        "dunno",
        "no idea tbh",
    ],
)
def test_no_need_to_share_is_a_decline(said: str) -> None:
    assert classify_need(said, OFFERINGS) is DECLINED


@pytest.mark.parametrize(
    "said",
    [
        "",
        "   ",
        "asdfgh",
        "qwerty",
        "!!!",
        "🙂🙂",
        "hi",
        "hello there",
        "what's the weather?",
        "hmm let me think",
        "ok",
        # Questions about the world, whatever offering's words they share.
        "what are the best numbers to pick in the lottery",
        "who has the most subscribers on youtube",
        "how often should a lawn need mowing",
    ],
)
def test_a_text_that_states_nothing_is_not_understood(said: str) -> None:
    assert classify_need(said, OFFERINGS) is None


def test_the_stated_need_keeps_the_visitors_words_trimmed() -> None:
    assert classify_need("  we need a CRM  \n", OFFERINGS) == Need(
        text="we need a CRM", category="crm"
    )


@pytest.mark.parametrize(
    "said, expected",
    [
        ("support tickets and some marketing", "customer_support"),
        ("marketing campaigns, maybe some support", "marketing_automation"),
        ("crm", "crm"),
    ],
)
def test_the_offering_with_most_keyword_hits_wins(said: str, expected: str) -> None:
    need = classify_need(said, OFFERINGS)
    assert isinstance(need, Need)
    assert need.category == expected


@pytest.mark.parametrize(
    "said, expected",
    [
        ("our onboarding flow", "other"),
        ("we need a payroll tool", "payroll"),
        ("PAYROLLS", "payroll"),
    ],
)
def test_offerings_come_from_the_caller(said: str, expected: str) -> None:
    need = classify_need(said, {"payroll": ["payroll", "salaries"]})
    assert isinstance(need, Need)
    assert need.category == expected


@pytest.mark.parametrize(
    "said, expected",
    [
        ("dashbord", "dashboard"),
        ("pipline", "pipeline"),
        ("contacs", "contact"),
        ("ship", "ship"),
        ("heads", "heads"),
    ],
)
def test_spelling_is_corrected_only_close_to_the_vocabulary(said: str, expected: str) -> None:
    vocabulary = frozenset({"dashboard", "pipeline", "contact", "leads"})
    assert corrected_word(said, vocabulary) == expected


@pytest.mark.parametrize(
    "said, expected",
    [
        ("what's the weather?", True),
        ("and you are?", True),
        ("how much does it cost", True),
        ("Northwind Labs?", False),
        ("we need a CRM", False),
        ("about 20k a year?", False),
        ("any tips for keeping basil alive on a windowsill?", True),
    ],
)
def test_questions_are_recognised(said: str, expected: bool) -> None:
    assert is_question(said) is expected


@pytest.mark.parametrize(
    "said, expected",
    [("asdfgh", True), ("zxcv", True), ("aaaaaa", True), ("Schmidt", False), ("Tallgrass", False)],
)
def test_keyboard_mashing_is_gibberish(said: str, expected: bool) -> None:
    assert is_gibberish(said) is expected


@pytest.mark.parametrize("said", ["crm " * 2500, "x" * 10_000, "dashbord, " * 1000])
def test_a_huge_answer_is_classified(said: str) -> None:
    # No error; how fast is the bench's business, not a timed test's.
    classify_need(said, OFFERINGS)


@pytest.mark.parametrize(
    "said, expected",
    [
        ("nurture sequences for trial users", "marketing_automation"),
        ("a way to see which deals will close this quarter", "analytics"),
        ("a payroll system", "other"),
        ("tracking our warehouse stock", "other"),
        ("keep tabs on customers and their orders", "crm"),
        ("sales lead at a bakery, we need newsletters", "marketing_automation"),
        ("people email us questions and nobody answers for days", "customer_support"),
        ("I want to know which of my salespeople sells the most", "analytics"),
        ("we forget to ring people back after they ask for a quote", "crm"),
        ("a ticketing tool that plugs into Jira", "customer_support"),
        ("pipeline tracking for our 12 reps", "crm"),
    ],
)
def test_a_need_falls_into_the_offering_it_means(said: str, expected: str) -> None:
    need = classify_need(said, OFFERINGS, RULES.offering_examples, RULES.other_needs)
    assert isinstance(need, Need)
    assert need.category == expected


@pytest.mark.parametrize(
    "said, expected",
    [
        # A keyword that happens to appear ("deal with", "supporter") decides less than meaning.
        ("a chat box on our site so visitors can ask us things, to deal with the flood of calls",
         "customer_support"),
        # Closer to what the business does not sell than to what it sells.
        ("software to file our quarterly tax returns for clients", "other"),
    ],
)  # fmt: skip
def test_meaning_wins_over_a_stray_keyword(said: str, expected: str) -> None:
    need = classify_need(said, OFFERINGS, RULES.offering_examples, RULES.other_needs)
    assert isinstance(need, Need)
    assert need.category == expected


@pytest.mark.parametrize(
    "said, expected",
    [
        # Tracking people in a trade's own words is CRM, whatever the trade calls them.
        ("people ask about our lessons online and I lose track of them before they sign up", "crm"),
        ("I want all my clients and their pets in one list with when they're next due", "crm"),
        (
            "we get lots of wedding enquiries and need to follow each through to a signed contract",
            "crm",
        ),
        ("keep a record of every guest who stayed with us and invite them back", "crm"),
        ("I need to remember which patients are due for a check-up and remind them", "crm"),
        ("a system to track rental enquiries until the tenant signs", "crm"),
        (
            "we're a charity and want automatic thank-you emails to our supporters",
            "marketing_automation",
        ),
        (
            "messages from worried families get missed and every enquiry must be answered",
            "customer_support",
        ),
        # A need told with its story means most in the clause that states it.
        (
            "parents ring about our swimming classes and we forget them, I need to track each "
            "one until they enrol",
            "crm",
        ),
        ("our agents never follow up after a viewing, we want something that keeps at them", "crm"),
        # ...while what the business does not sell stays other.
        ("payroll for our twelve staff", "other"),
        ("a rota for the nurses", "other"),
        ("book appointments online for my salon", "other"),
        ("stock levels across our three shops", "other"),
    ],
)
def test_a_need_in_a_trades_own_words_falls_into_the_offering_it_means(
    said: str, expected: str
) -> None:
    need = classify_need(said, OFFERINGS, RULES.offering_examples, RULES.other_needs)
    assert isinstance(need, Need) and need.category == expected
