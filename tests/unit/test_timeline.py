"""Reading timelines: every row of the contract's normalisation table, and what visitors type."""

from __future__ import annotations

import random
from datetime import date

import pytest

from qualifying.declines import DECLINED, Declined
from qualifying.timeline import parse_timeline

# A Wednesday in the second quarter, so that "this quarter", "next summer" and "in January"
# each have a different answer.
TODAY = date(2026, 5, 20)


def months_to(day: date) -> float:
    """Months from TODAY to `day`, counted in average months as the parser does."""
    return round((day - TODAY).days / (365.25 / 12), 2)


@pytest.mark.parametrize(
    "said, expected",
    [
        # The contract's normalisation table.
        ("ASAP", 0),
        ("right away", 0),
        ("this week", 0),
        ("next month", 1),
        ("within two months", 2),
        ("in 2 months", 2),
        ("in 6 weeks", 1.38),
        ("in a fortnight", 0.46),
        ("within two fortnights", 0.92),
        ("next quarter", 3),
        ("in a year", 12),
        ("next year", 12),
        # Now.
        ("immediately", 0),
        ("now", 0),
        ("today", 0),
        ("tomorrow", 0),
        ("right now", 0),
        ("as soon as possible", 0),
        ("asap pls 🙏", 0),
        ("ASAP!!", 0),
        ("urgently", 0),
        ("by the end of the week", 0),
        # Fixed phrases.
        ("next week", 0.25),
        ("soon", 1),
        ("shortly", 1),
        ("Next Month", 1),
        ("nxt month", 1),
        ("next mnth", 1),
        ("the month after next", 2),
        ("sometime next year", 12),
        ("next yr", 12),
        # Spans from today.
        ("in three weeks", 0.69),
        ("in a week", 0.23),
        ("couple weeks", 0.46),
        ("in a few days", 0.1),
        ("within a month", 1),
        ("probably in 9 months or so", 9),
        ("in a couple of months", 2),
        ("a few months", 3),
        ("in the next few months", 3),
        ("half a year", 6),
        ("six months", 6),
        ("6 months tops", 6),
        ("in 18 months", 18),
        ("in 2 years", 24),
        ("in 1 year", 12),
        ("a year and a half", 18),
        ("1.5 years", 18),
        ("2-3 months", 2.5),
        ("in 3 to 6 months", 4.5),
        ("9-12 months", 10.5),
        ("within the next 6 months", 6),
        ("3 months from now", 3),
        ("over the next year", 12),
        ("in 2 moths", 2),
        ("we'd like to start in about 2 months, if budget allows", 2),
        # Calendar periods count to their first day, or their last once they have begun.
        ("by the end of the year", months_to(date(2026, 12, 31))),
        ("by year-end", months_to(date(2026, 12, 31))),
        ("later this year", months_to(date(2026, 12, 31))),
        ("this year", months_to(date(2026, 12, 31))),
        ("within the year", months_to(date(2026, 12, 31))),
        ("by March", months_to(date(2027, 3, 1))),
        ("in January", months_to(date(2027, 1, 1))),
        ("in December", months_to(date(2026, 12, 1))),
        ("we may buy in april", months_to(date(2027, 4, 1))),
        ("in may", months_to(date(2026, 5, 31))),
        ("mid-june", months_to(date(2026, 6, 15))),
        ("june 15", months_to(date(2026, 6, 15))),
        ("15th of march 2027", months_to(date(2027, 3, 15))),
        ("beginning of april", months_to(date(2027, 4, 1))),
        ("Q3", months_to(date(2026, 7, 1))),
        ("by Q2", months_to(date(2026, 6, 30))),
        ("Q1 2027", months_to(date(2027, 1, 1))),
        ("q3 of next year", months_to(date(2027, 7, 1))),
        ("we're hoping to go live by the end of Q4", months_to(date(2026, 12, 31))),
        ("second half of next year", months_to(date(2027, 7, 1))),
        ("third quarter", months_to(date(2026, 7, 1))),
        ("this quarter", months_to(date(2026, 6, 30))),
        ("this month", months_to(date(2026, 5, 31))),
        ("end of the month", months_to(date(2026, 5, 31))),
        ("end of next month", months_to(date(2026, 6, 30))),
        ("early next year", months_to(date(2027, 1, 1))),
        ("this summer", months_to(date(2026, 6, 1))),
        ("in the fall", months_to(date(2026, 9, 1))),
        ("in 2027", months_to(date(2027, 1, 1))),
        ("end of 2026", months_to(date(2026, 12, 31))),
        ("late 2027", months_to(date(2027, 12, 31))),
        # Explicit dates.
        ("by 2027-03-01", months_to(date(2027, 3, 1))),
        ("03/15/2027", months_to(date(2027, 3, 15))),
        ("25/12/2026", months_to(date(2026, 12, 25))),
        # Named days, at their next occurrence.
        ("before christmas ideally", months_to(date(2026, 12, 25))),
        ("by Xmas", months_to(date(2026, 12, 25))),
        ("before the holidays", months_to(date(2026, 12, 25))),
        ("sometime in the new year", months_to(date(2027, 1, 1))),
        ("by new year's eve", months_to(date(2026, 12, 31))),
        ("right after Thanksgiving", months_to(date(2026, 11, 26))),
        ("before black friday", months_to(date(2026, 11, 27))),
        ("by easter", months_to(date(2027, 3, 28))),  # 2026's Easter (April 5) has passed
        # A time said next to a refusal still counts, and the first time said wins.
        ("not sure, maybe next month", 1),
        ("no rush, maybe in 3 months", 3),
        ("no plans yet, maybe next year", 12),
        ("I'm the VP, we have roughly 30k per year for it and need it next quarter", 3),
        ("in 2 months, by March at the latest", 2),
        # A deadline: the time left to get something done.
        ("we have six weeks to get a new tool live", 6 / 4.345),
        ("two months left to pick one", 2),
    ],
)
def test_reads_the_timeline(said: str, expected: float) -> None:
    assert parse_timeline(said, TODAY) == pytest.approx(expected, abs=0.01)


def test_today_defaults_to_the_current_date() -> None:
    assert parse_timeline("next quarter") == 3


@pytest.mark.parametrize(
    "said",
    [
        "no plans",
        "no plans to buy anything",
        "just looking",
        "just browsing for now",
        "don't know",
        "I dont know",
        "not sure",
        "no plans right now",
        "not now",
        "not anytime soon",
        "no rush",
        "eventually",
        "someday",
        "TBD",
        "we're not buying, just researching",
    ],
)
def test_a_visitor_without_a_timeline_declines(said: str) -> None:
    assert parse_timeline(said, TODAY) is DECLINED


@pytest.mark.parametrize(
    "said",
    [
        "what's the weather?",
        "blue",
        "",
        "asdfgh",
        "50k a year",
        "we have 2000 dollars",
        "we may buy",
        "I know",
        "we have 12 reps",
    ],
)
def test_text_without_a_timeline_is_none(said: str) -> None:
    assert parse_timeline(said, TODAY) is None


_NOISE = random.Random(11)


@pytest.mark.parametrize(
    "said",
    [
        "a" * 10_000,
        "1" * 10_000,
        "march 15 2027 " * 700,
        "may " * 2_500,
        "q3 " * 3_000,
        "the end of the " * 700,
        "no plans " * 1_000,
        "\x00\xff\ufffd" * 3_000,
        bytes(_NOISE.randrange(256) for _ in range(10_000)).decode("latin-1"),
        bytes(_NOISE.randrange(256) for _ in range(10_000)).decode("utf-8", "replace"),
        "".join(_NOISE.choice("0123456789/-. qmayinextweeksoon") for _ in range(10_000)),
    ],
)
def test_huge_or_binary_input_is_read(said: str) -> None:
    # No error; how fast is the bench's business, not a timed test's.
    found = parse_timeline(said, TODAY)
    assert found is None or isinstance(found, (float, Declined))
