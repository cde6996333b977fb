"""Reading email, name, company and consent from a visitor's answers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from qualifying.answers import understand
from qualifying.company import parse_company
from qualifying.consent import parse_consent
from qualifying.declines import DECLINED
from qualifying.email import Email, parse_email
from qualifying.name import parse_person_name
from qualifying.rules import load_rules

RULES = load_rules(Path(__file__).resolve().parents[2] / "qualification_rules.yml")

FREE_MAIL = frozenset({"gmail.com", "yahoo.co.uk", "mailinator.com"})


@pytest.mark.parametrize(
    "said, expected",
    [
        ("Jo.Baker@Gmail.com", Email("jo.baker@gmail.com", is_business=False)),
        ("sure, it's Jo.Baker@Gmail.com", Email("jo.baker@gmail.com", is_business=False)),
        ("dana@northwind-labs.com", Email("dana@northwind-labs.com", is_business=True)),
        ("  DANA@Northwind-Labs.COM.  ", Email("dana@northwind-labs.com", is_business=True)),
        ("'priya.raman@tallgrass.io'", Email("priya.raman@tallgrass.io", is_business=True)),
        ("o'brien@acme.com", Email("o'brien@acme.com", is_business=True)),
        ("x@mail.yahoo.co.uk please", Email("x@mail.yahoo.co.uk", is_business=False)),
        ("temp@mailinator.com", Email("temp@mailinator.com", is_business=False)),
        ("ana@paineira.com.br", Email("ana@paineira.com.br", is_business=True)),
    ],
)
def test_an_email_is_found_lower_cased_and_classified(said: str, expected: Email) -> None:
    assert parse_email(said, FREE_MAIL) == expected


@pytest.mark.parametrize("said", ["no thanks", "no", "rather not", "Nope.", "I'd rather not say"])
def test_refusing_an_email_is_a_decline(said: str) -> None:
    assert parse_email(said, FREE_MAIL) is DECLINED


@pytest.mark.parametrize(
    "said", ["dana@", "dana at northwind", "@acme.com", "not an email", "a@b", "", "a@" * 5000]
)
def test_no_valid_address_is_not_understood(said: str) -> None:
    assert parse_email(said, FREE_MAIL) is None


@pytest.mark.parametrize(
    "said, expected",
    [
        ("Dana Whitfield", "Dana Whitfield"),
        ("dana whitfield", "Dana Whitfield"),
        ("DANA WHITFIELD", "Dana Whitfield"),
        ("my name is leo", "Leo"),
        ("I'm Dana", "Dana"),
        ("it's Jo Baker", "Jo Baker"),
        ("call me Sam", "Sam"),
        ("Dana here", "Dana"),
        ("hi, I'm Leo from Acme", "Leo"),
        ("Leo.", "Leo"),
        ("Priya Raman", "Priya Raman"),
        ("José Álvarez", "José Álvarez"),
        ("josé álvarez", "José Álvarez"),
        ("O'Brien", "O'Brien"),
        ("o'brien", "O'Brien"),
        ("McDonald", "McDonald"),
        ("anne-marie mcdonald", "Anne-Marie McDonald"),
        ("van der Berg", "van der Berg"),
        ("maria van der berg", "Maria van der Berg"),
        ("Skip Johnson", "Skip Johnson"),
        ("Hi! I'm Sam 😊", "Sam"),
    ],
)
def test_a_name_is_read_and_capitalised_sensibly(said: str, expected: str) -> None:
    assert parse_person_name(said) == expected


@pytest.mark.parametrize(
    "said", ["no", "no thanks", "rather not say", "anonymous", "I'd prefer not"]
)
def test_refusing_a_name_is_a_decline(said: str) -> None:
    assert parse_person_name(said) is DECLINED


@pytest.mark.parametrize(
    "said",
    [
        "",
        "Dana 2",
        "dana@northwind-labs.com",
        "what's your name?",
        "what's the weather?",
        "this is a long sentence that is not a name",
        "Ana Maria Luisa Garcia Lopez Perez",
        "asdfgh",
        "yes",
    ],
)
def test_a_text_that_is_not_a_name_is_not_understood(said: str) -> None:
    assert parse_person_name(said) is None


@pytest.mark.parametrize(
    "said, expected",
    [
        ("Northwind Labs", "Northwind Labs"),
        ("Northwind Labs.", "Northwind Labs"),
        ("I work at Acme Inc.", "Acme Inc."),
        ("we're Tallgrass", "Tallgrass"),
        ("Baker's Corner", "Baker's Corner"),
        ("it's called Vistula Tech", "Vistula Tech"),
        ("we're a small bakery called Crumbs", "Crumbs"),
        ("Acme, we sell shoes", "Acme"),
        ("Procter & Gamble", "Procter & Gamble"),
        ("3M", "3M"),
        ("Private Label Co", "Private Label Co"),
        ("lumenworks", "Lumenworks"),
        ("house of cards ltd", "House of Cards Ltd"),
        ("Acme 🚀", "Acme"),
    ],
)
def test_a_company_is_read_as_typed(said: str, expected: str) -> None:
    assert parse_company(said) == expected


@pytest.mark.parametrize(
    "said",
    [
        "none",
        "no",
        "No company",
        "n/a",
        "self-employed",
        "freelancer",
        "I'm a student",
        "rather not say",
        "I'd rather not say",
        "I don't work anywhere right now",
        "We're a startup, no name yet",
    ],
)
def test_no_company_to_give_is_a_decline(said: str) -> None:
    assert parse_company(said) is DECLINED


@pytest.mark.parametrize(
    "said", ["", "asdfgh", "what's the weather?", "ok", "where do I type it?", "our company"]
)
def test_a_text_that_is_not_a_company_is_not_understood(said: str) -> None:
    assert parse_company(said) is None


@pytest.mark.parametrize(
    "said, expected",
    [
        ("yes", True),
        ("Yes.", True),
        ("YES!!", True),
        ("yes, that's fine", True),
        ("sure", True),
        ("ok", True),
        ("okay", True),
        ("yes please", True),
        ("go ahead", True),
        ("of course", True),
        ("absolutely", True),
        ("yep", True),
        ("👍", True),
        ("fine by me", True),
        ("no problem", True),
        ("sure, why not", True),
        ("I agree", True),
        ("go for it", True),
        ("no", False),
        ("nope", False),
        ("no thanks", False),
        ("rather not", False),
        ("I'd rather not say", False),
        ("don't contact me", False),
        ("no, please don't", False),
        ("of course not", False),
        ("I don't agree", False),
        ("maybe", None),
        ("not sure", None),
        ("yes and no", None),
        ("what will you do with my data?", None),
        ("blue", None),
        ("", None),
    ],
)
def test_consent_is_a_clear_yes_or_no(said: str, expected: bool | None) -> None:
    assert parse_consent(said) is expected


PARSERS: list[Callable[[str], Any]] = [
    lambda said: parse_email(said, FREE_MAIL),
    parse_person_name,
    parse_company,
    parse_consent,
]


@pytest.mark.parametrize("parse", PARSERS)
@pytest.mark.parametrize(
    "said",
    ["x" * 10_000, "a'" * 5000, "a." * 5000, "yes " * 2500, "🙂" * 10_000, "\x00\ufffd" * 5000],
)
def test_a_huge_or_odd_answer_is_read(parse: Callable[[str], Any], said: str) -> None:
    parse(said)  # no error; how fast is the bench's business, not a timed test's


@pytest.mark.parametrize(
    "slot",
    ["need", "budget", "timeline", "authority", "person_name", "company", "email", "consent"],
)
@pytest.mark.parametrize(
    "said",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "javascript:alert(1)",
        "{{7*7}}",
        "${7*7}",
        "NaN",
        "Infinity",
        "1e308",
        "null",
        "undefined",
        '{"budget": 1}',
        "[1, 2, 3]",
        "'; DROP TABLE leads;--",
        "' OR '1'='1",
        "\x00\x01\x02",
    ],
)
def test_code_markup_and_program_values_are_not_answers(slot: str, said: str) -> None:
    assert understand(slot, said, RULES) is None


@pytest.mark.parametrize(
    "said", ["-5000", "- $300 a month", "budget: -20k", "999999999999 dollars"]
)
def test_negative_and_absurd_budgets_are_not_budgets(said: str) -> None:
    assert understand("budget", said, RULES) is None


@pytest.mark.parametrize("said", ["-5000", "-1", "12345"])
def test_a_company_has_letters(said: str) -> None:
    assert understand("company", said, RULES) is None
