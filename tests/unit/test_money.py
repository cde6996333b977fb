"""Reading budgets: every row of the contract's normalisation table, and what visitors type."""

from __future__ import annotations

import random

import pytest

from qualifying.declines import DECLINED, Declined
from qualifying.money import Budget, parse_budget


@pytest.mark.parametrize(
    "said, expected",
    [
        # The contract's normalisation table.
        ("around $50k a year", Budget(50000, 50000, "USD", "yearly")),
        ("2,000 euros per month", Budget(2000, 2000, "EUR", "monthly")),
        ("between 10 and 15 thousand", Budget(10000, 15000, None, "one_off")),
        ("5-10k", Budget(5000, 10000, None, "one_off")),
        ("fifty thousand dollars", Budget(50000, 50000, "USD", "one_off")),
        ("1.5 million", Budget(1500000, 1500000, None, "one_off")),
        # Symbols, codes and names of currencies, before or after the figure.
        ("$3k/mo", Budget(3000, 3000, "USD", "monthly")),
        ("£300 a month", Budget(300, 300, "GBP", "monthly")),
        ("USD 12,500 annually", Budget(12500, 12500, "USD", "yearly")),
        ("about 800 dollars a month", Budget(800, 800, "USD", "monthly")),
        ("$50,000", Budget(50000, 50000, "USD", "one_off")),
        ("50.000 €", Budget(50000, 50000, "EUR", "one_off")),
        ("around 50 000 €", Budget(50000, 50000, "EUR", "one_off")),
        ("CAD 7000", Budget(7000, 7000, "CAD", "one_off")),
        ("7000 canadian dollars", Budget(7000, 7000, "CAD", "one_off")),
        ("₹5 lakh", Budget(500000, 500000, "INR", "one_off")),
        ("£ 5k", Budget(5000, 5000, "GBP", "one_off")),
        ("5k GBP", Budget(5000, 5000, "GBP", "one_off")),
        ("usd 5000", Budget(5000, 5000, "USD", "one_off")),
        ("5000 bucks", Budget(5000, 5000, "USD", "one_off")),
        ("$1M", Budget(1000000, 1000000, "USD", "one_off")),
        ("€2,5k per month", Budget(2500, 2500, "EUR", "monthly")),
        ("budget in euros, about 5k", Budget(5000, 5000, "EUR", "one_off")),
        # Spelled-out and vague figures.
        ("twenty five thousand", Budget(25000, 25000, None, "one_off")),
        ("100 grand", Budget(100000, 100000, None, "one_off")),
        ("a couple thousand a month", Budget(2000, 2000, None, "monthly")),
        ("half a million", Budget(500000, 500000, None, "one_off")),
        ("one and a half million", Budget(1500000, 1500000, None, "one_off")),
        ("two and a half thousand", Budget(2500, 2500, None, "one_off")),
        ("five hundred dollars", Budget(500, 500, "USD", "one_off")),
        ("around 15 hundred a month", Budget(1500, 1500, None, "monthly")),
        ("sixty k", Budget(60000, 60000, None, "one_off")),
        ("a hundred thousand", Budget(100000, 100000, None, "one_off")),
        # Suffixes and periods.
        ("30k per year", Budget(30000, 30000, None, "yearly")),
        ("roughly 30k per year for it", Budget(30000, 30000, None, "yearly")),
        ("50K", Budget(50000, 50000, None, "one_off")),
        ("50 k", Budget(50000, 50000, None, "one_off")),
        ("1mm", Budget(1000000, 1000000, None, "one_off")),
        ("2.5k/month", Budget(2500, 2500, None, "monthly")),
        ("50k p.a.", Budget(50000, 50000, None, "yearly")),
        ("50k pa", Budget(50000, 50000, None, "yearly")),
        ("a monthly budget of 3k", Budget(3000, 3000, None, "monthly")),
        ("per month we could do 2k", Budget(2000, 2000, None, "monthly")),
        ("we have about 50k this year", Budget(50000, 50000, None, "yearly")),
        ("per seat 20 dollars a month", Budget(20, 20, "USD", "monthly")),
        ("it's 1,200 per user per year", Budget(1200, 1200, None, "yearly")),
        # A quarter's budget is reported yearly (x4); a week's monthly (x52/12).
        ("€5k – €8k a quarter", Budget(20000, 32000, "EUR", "yearly")),
        ("10k quarterly", Budget(40000, 40000, None, "yearly")),
        ("5k a week", Budget(21666.67, 21666.67, None, "monthly")),
        # Ranges: the low end shares the high end's magnitude.
        ("10k-15k", Budget(10000, 15000, None, "one_off")),
        ("between fifty and seventy thousand", Budget(50000, 70000, None, "one_off")),
        ("50-60k EUR per annum", Budget(50000, 60000, "EUR", "yearly")),
        ("$50k-$60k", Budget(50000, 60000, "USD", "one_off")),
        ("40-50 thousand dollars a year", Budget(40000, 50000, "USD", "yearly")),
        ("between 10 000 and 15 000 euros", Budget(10000, 15000, "EUR", "one_off")),
        ("10 or 15k", Budget(10000, 15000, None, "one_off")),
        ("1 or 2 million", Budget(1000000, 2000000, None, "one_off")),
        ("500-1k", Budget(500, 1000, None, "one_off")),
        ("15k to 10k", Budget(10000, 15000, None, "one_off")),
        # A limit is read as the figure itself.
        ("up to 20k", Budget(20000, 20000, None, "one_off")),
        ("under 20k", Budget(20000, 20000, None, "one_off")),
        ("at least 10k", Budget(10000, 10000, None, "one_off")),
        ("50k max", Budget(50000, 50000, None, "one_off")),
        # Lowercase, typos, emoji and words around the figure.
        ("aroud 50k a yaer", Budget(50000, 50000, None, "yearly")),
        ("💰 20k", Budget(20000, 20000, None, "one_off")),
        ("AROUND $50K A YEAR", Budget(50000, 50000, "USD", "yearly")),
        ("50k-ish", Budget(50000, 50000, None, "one_off")),
        ("Budget: 50k", Budget(50000, 50000, None, "one_off")),
        ("not sure, maybe 5k", Budget(5000, 5000, None, "one_off")),
        (
            "I'm the VP, we have roughly 30k per year for it and need it next quarter",
            Budget(30000, 30000, None, "yearly"),
        ),
        ("50k, and we need it in a month", Budget(50000, 50000, None, "one_off")),
        ("we need it in 2 months, budget 5k", Budget(5000, 5000, None, "one_off")),
        # Numbers that are not money give way to the figure that is.
        ("for our 12 reps about 50k a year", Budget(50000, 50000, None, "yearly")),
        ("12 reps and 50k", Budget(50000, 50000, None, "one_off")),
        ("budget is 40000 for 12 reps", Budget(40000, 40000, None, "one_off")),
        ("in 2027 we have 50k", Budget(50000, 50000, None, "one_off")),
        # A first year's spend is a yearly one.
        ("$18,000 for the first year", Budget(18000, 18000, "USD", "yearly")),
        ("about 9k in our first year, less after", Budget(9000, 9000, None, "yearly")),
        # A bare figure that is the whole answer is a budget.
        ("50000", Budget(50000, 50000, None, "one_off")),
        ("20k", Budget(20000, 20000, None, "one_off")),
        ("we have 5000", Budget(5000, 5000, None, "one_off")),
        ("about 5000?", Budget(5000, 5000, None, "one_off")),
    ],
)
def test_reads_the_budget(said: str, expected: Budget) -> None:
    assert parse_budget(said) == expected


@pytest.mark.parametrize(
    "said",
    [
        "no budget yet",
        "not sure",
        "no budget, I'm a student",
        "I'd rather not say",
        "nothing yet",
        "zero",
        "$0",
        "none",
        "no",
        "not decided yet",
        "haven't set one",
        "TBD",
        "it depends",
        "no idea",
        "can't afford anything right now",
        "🤷",  # declines.py reads the shrug as "don't know"
    ],
)
def test_a_visitor_without_a_budget_declines(said: str) -> None:
    assert parse_budget(said) is DECLINED


@pytest.mark.parametrize(
    "said",
    [
        "what's the weather?",
        "asdfgh",
        "",
        "   ",
        "we have 12 reps",
        "we have 3000 tickets a month",
        "our team grew 20% this year",
        "we need it in 2 months",
        "hello there 👋",
    ],
)
def test_text_without_a_budget_is_none(said: str) -> None:
    assert parse_budget(said) is None


_NOISE = random.Random(7)


@pytest.mark.parametrize(
    "said",
    [
        "1" * 10_000,
        "a" * 9_999 + "50k",
        "in 2 months and 50k " * 500,
        "between 5 and " * 700,
        "k1" * 5_000,
        "1," * 5_000,
        "-1" * 5_000,
        "💰" * 10_000,
        "\x00\xff\ufffd" * 3_000,
        bytes(_NOISE.randrange(256) for _ in range(10_000)).decode("latin-1"),
        bytes(_NOISE.randrange(256) for _ in range(10_000)).decode("utf-8", "replace"),
        "".join(_NOISE.choice("0123456789.,-k$€ mtoandbetween") for _ in range(10_000)),
    ],
)
def test_huge_or_binary_input_is_read(said: str) -> None:
    # No error, and no budget made of noise; how fast is the bench's business.
    found = parse_budget(said)
    assert found is None or isinstance(found, (Budget, Declined))
