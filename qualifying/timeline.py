"""Reading when a visitor intends to buy, as months from the day they said it."""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

from dateutil.easter import easter

from qualifying.declines import DECLINED, Declined, is_decline
from qualifying.numbers import digitise
from qualifying.spelling import corrected
from qualifying.text import prepare
from qualifying.wordlists import word_list

_DAYS_PER_MONTH: Final = 365.25 / 12
_WEEKS_PER_MONTH: Final = 4.345
_MONTHS_PER_UNIT: Final[dict[str, float]] = {
    "day": 1 / _DAYS_PER_MONTH,
    "week": 1 / _WEEKS_PER_MONTH,
    "fortnight": 2 / _WEEKS_PER_MONTH,
    "month": 1.0,
    "quarter": 3.0,
    "year": 12.0,
}

Resolver = Callable[[re.Match[str], date], float | None]

# Typos are corrected into the words that say when, and the number words before them.
_SPELLING_VOCABULARY: Final = word_list("time_words") | word_list("number_words")


@dataclass(frozen=True)
class _Reading:
    """One way of saying when: a pattern and how to turn its match into months."""

    pattern: re.Pattern[str]
    resolve: Resolver
    # "now" and "today" also live in refusals ("no plans right now"): a refusal outranks them.
    weak: bool = False
    # "soon" says less than a time beside it: "soon, in 2 weeks" is 2 weeks.
    vague: bool = False


@dataclass(frozen=True)
class _Hit:
    start: int
    end: int
    months: float
    weak: bool
    vague: bool


def parse_timeline(text: str, today: date | None = None) -> float | Declined | None:
    """Read when the visitor intends to buy, as months from `today` (0 = now).

    Fixed phrases follow the sales team's reading: "ASAP", "this week", "tomorrow" -> 0,
    "next week" -> 0.25, "soon" and "next month" -> 1, "next quarter" -> 3, "next year" -> 12.
    Spans count from today ("in 6 weeks" -> 1.38, "a year and a half" -> 18; a range such as
    "2-3 months" counts its middle). A named month, quarter, half, season or year counts to its
    first day ("by March", "Q3", "in 2027"), or to its last day when it has already begun or is
    said with "end of" ("this quarter", "by the end of the year"); "mid" counts to its middle.
    A named day counts to its next occurrence ("before Christmas", "by Black Friday", "Easter").
    When several times are said, the first one counts.

    Args:
        text: the visitor's answer, in any case, with any words around the time.
        today: the day the answer was given; the current date when omitted.

    Returns:
        Months to the purchase, rounded to 2 decimals; DECLINED for "no plans", "just looking",
        "don't know"; None when the text says nothing about time.
    """
    today = today or date.today()
    said = digitise(corrected(prepare(text).lower(), _SPELLING_VOCABULARY))
    declined = is_decline(said) or _NO_TIMELINE.search(said) is not None
    hits = [hit for hit in _hits(said, today) if not (hit.weak and declined)]
    if hits:
        first = min(hits, key=lambda hit: (hit.vague, hit.start, -hit.end))
        return round(max(0.0, first.months), 2)
    return DECLINED if declined else None


def _hits(said: str, today: date) -> Iterator[_Hit]:
    # Only the first time said counts, so each reading stops at its first understood match.
    for reading in _READINGS:
        for match in reading.pattern.finditer(said):
            months = reading.resolve(match, today)
            if months is not None:
                yield _Hit(match.start(), match.end(), months, reading.weak, reading.vague)
                break


def _constant(months: float) -> Resolver:
    return lambda _match, _today: months


def _months_until(today: date, day: date) -> float:
    return (day - today).days / _DAYS_PER_MONTH


# --- spans of time: "in 2 months", "within a year", "6 weeks from now" -----------------------

_NUMBER: Final = r"\d+(?:\.\d+)?"
_UNIT: Final = (
    r"(?:(?P<day>days?)|(?P<week>weeks?|wks?)|(?P<fortnight>fortnights?)|(?P<month>months?|mths?|mos?)"
    r"|(?P<quarter>quarters?|qtrs?)|(?P<year>years?|yrs?))(?!\w)"
)
# "a month or two", "a year or 2": one or a few of a unit, read as the middle of the two.
_ONE_OR_MORE: Final = rf"(?:(?:an?|1)\s+)?{_UNIT}\s+or\s+(?P<n2>\d+)\b"
_SPAN: Final = (
    rf"(?P<n>{_NUMBER}|an?|one)(?:\s*(?:-|to|or)\s*(?P<n2>{_NUMBER}))?\s*{_UNIT}"
    r"(?P<and_a_half>\s+and\s+a\s+half)?(?!\s+ago)"
)
_SPAN_LEAD: Final = (
    r"(?:^|\b(?:in|within|inside|over|around|about|approx(?:imately)?|roughly|maybe|probably|"
    r"perhaps|possibly|like|say|next|another|after|under|by|less\s+than|at\s+most|max|"
    # Any adverb before a span: "realistically 18 months", "hopefully 3 weeks".
    r"(?!only\b|early\b)[a-z]+ly|"
    # Bounds count as the time they name: "no earlier than 9 months", "at least a year out".
    r"(?:no|not)\s+(?:earlier|sooner)\s+than|not\s+(?:before|until|for)|at\s+least|earliest)\b)"
    r"\W*(?:(?:the\s+)?(?:next|coming)\s+)?"
)
# A deadline: "6 weeks to get it live", "three months to choose one".
_SPAN_TAIL: Final = (
    r"\s+(?:from\s+(?:now|today)|time|'s\s+time|out|away|later|or\s+so"
    r"|(?:left\s+)?to\s+(?:get|have|go|roll|launch|set|put|find|pick|choose|decide|buy|switch|move"
    r"|implement|replace|sort|finish|make))\b"
)


def _span(match: re.Match[str], _today: date) -> float:
    count = match.groupdict().get("n") or "1"
    low = 1.0 if count in ("a", "an", "one") else float(count)
    high = float(match["n2"]) if match["n2"] else low
    unit = next(name for name in _MONTHS_PER_UNIT if match.groupdict().get(name))
    and_a_half = 0.5 if match.groupdict().get("and_a_half") else 0.0
    return ((low + high) / 2 + and_a_half) * _MONTHS_PER_UNIT[unit]


# --- calendar periods: "by March", "Q3", "end of the year", "early 2027" ----------------------

_LEAD: Final = (
    r"(?P<lead>\b(?:in|by|before|until|till|from|around|about|during|for|after|starting|"
    r"sometime\s+in|through)\s+)?"
)
_MODIFIER: Final = (
    r"(?:(?:the\s+)?(?:very\s+)?(?P<mod>beginning|start|early|mid(?:dle)?|end|late|close)"
    r"(?:\s+of)?[\s-]*)?"
)
_WHICH: Final = r"(?:(?P<which>this|next|nxt|coming|following|current|the)\s+)?"
_YEAR_AFTER: Final = (
    r"(?:,?\s*(?:of\s+)?(?:(?P<year>20\d\d)\b|'(?P<yy>\d\d)\b|(?P<rel>this|next)\s+year\b"
    r"|the\s+year\b))?"
)
_MONTH_NAMES: Final = (
    r"(?P<month>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?(?!\w)"
)
_UNIT_BY_INITIAL: Final = {"w": "week", "m": "month", "q": "quarter", "y": "year"}
_UPCOMING: Final = frozenset(("next", "nxt", "coming", "following"))
_SEASONS: Final[dict[str, int]] = {"spring": 3, "summer": 6, "fall": 9, "autumn": 9, "winter": 12}


def _period_end(start: date, length: int) -> date:
    year, month = divmod(start.month - 1 + length - 1, 12)
    last_year = start.year + year
    last_month = month + 1
    return date(last_year, last_month, calendar.monthrange(last_year, last_month)[1])


def _to_period(match: re.Match[str], today: date, start: date, length: int) -> float:
    """Months to the right day of a calendar period starting `start`, `length` months long."""
    end = _period_end(start, length)
    modifier = match["mod"]
    if modifier in ("beginning", "start", "early"):
        day = start
    elif modifier in ("mid", "middle"):
        day = start + (end - start) / 2
    elif modifier in ("end", "late", "close") or start <= today:
        day = end
    else:
        day = start
    return _months_until(today, day)


def _year_of(match: re.Match[str], today: date) -> int | None:
    """The year named after a period ("Q3 2027", "Q1 '27", "first half of next year")."""
    if match["year"]:
        return int(match["year"])
    if match["yy"]:
        return 2000 + int(match["yy"])
    if match["rel"] == "next":
        return today.year + 1
    return today.year if match["rel"] else None


def _occurrence(match: re.Match[str], today: date, first_month: int, length: int) -> float | None:
    """Months to the named period in its next occurrence, or in the year said with it."""
    year = _year_of(match, today)
    if year is None:
        year = today.year
        start = date(year, first_month, 1)
        starts_again = match["which"] in _UPCOMING and start <= today
        if starts_again or _period_end(start, length) < today:
            year += 1
    return _to_period(match, today, date(year, first_month, 1), length)


def _named_month(match: re.Match[str], today: date) -> float | None:
    day = match["day1"] or match["day2"]
    said_alone = re.fullmatch(r"\W*", match.string[: match.start()]) is not None
    # "may" and "march" are also verbs: a month needs a preposition, a day or a year with it.
    if not (match["lead"] or match["mod"] or match["which"] or day or match["year"] or said_alone):
        return None
    month = _MONTH_NUMBERS.index(match["month"][:3]) + 1
    if day is None:
        return _occurrence(match, today, month, 1)
    said_year = _year_of(match, today)
    # A day without a year is the next such day: "March 3" said in April is next year's.
    for year in (said_year,) if said_year else (today.year, today.year + 1):
        try:
            when = date(year, month, int(day))
        except ValueError:
            return None
        if said_year or when >= today:
            return _months_until(today, when)
    return None


_MONTH_NUMBERS: Final = (
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
)  # fmt: skip


def _quarter_or_half(match: re.Match[str], today: date) -> float | None:
    quarter = match["quarter"] or match["quarter_word"]
    if quarter:
        return _occurrence(match, today, 3 * int(quarter) - 2, 3)
    half = match["half"] or match["half_word"]
    return _occurrence(match, today, 6 * int(half) - 5, 6)


def _season(match: re.Match[str], today: date) -> float | None:
    return _occurrence(match, today, _SEASONS[match["season"]], 3)


def _calendar_year(match: re.Match[str], today: date) -> float | None:
    said_alone = re.fullmatch(r"\W*", match.string[: match.start()]) is not None
    year = int(match["year"])
    if year < today.year or not (match["lead"] or match["mod"] or said_alone):
        return None
    return _to_period(match, today, date(year, 1, 1), 12)


def _relative_period(match: re.Match[str], today: date) -> float | None:
    which, modifier = match["which"], match["mod"]
    unit = _UNIT_BY_INITIAL[match["unit"][0]]
    upcoming = which in _UPCOMING
    if modifier is None:
        if upcoming:
            return {"week": 0.25, "month": 1.0, "quarter": 3.0, "year": 12.0}[unit]
        if which is None:
            return None
    if unit == "week":
        return 0.0 if not upcoming else 0.25
    start, length = _current_period(unit, today)
    if upcoming:
        start = _period_end(start, length) + timedelta(days=1)
    return _to_period(match, today, start, length)


def _current_period(unit: str, today: date) -> tuple[date, int]:
    """The first day and length in months of the month, quarter or year `today` is in."""
    first_month = {"month": today.month, "quarter": (today.month - 1) // 3 * 3 + 1, "year": 1}
    length = {"month": 1, "quarter": 3, "year": 12}
    return date(today.year, first_month[unit], 1), length[unit]


def _period_close(match: re.Match[str], today: date) -> float:
    # "eoy", "year-end", "eom": the last day of the current period.
    unit = next(name for name in ("year", "quarter", "month") if match[name])
    return _months_until(today, _period_end(*_current_period(unit, today)))


def _iso_date(match: re.Match[str], today: date) -> float | None:
    try:
        when = date(int(match["y"]), int(match["m"]), int(match["d"]))
    except ValueError:
        return None
    return _months_until(today, when)


def _numeric_date(match: re.Match[str], today: date) -> float | None:
    first, second, year = int(match["a"]), int(match["b"]), int(match["y"])
    # Day first only when it cannot be a month ("25/03/2027"); otherwise US order, as dateparser.
    month, day = (second, first) if first > 12 else (first, second)
    try:
        when = date(year if year > 99 else 2000 + year, month, day)
    except ValueError:
        return None
    return _months_until(today, when)


# --- named days: "before Christmas", "by Black Friday" -----------------------------------------


def _thanksgiving(year: int) -> date:
    """The fourth Thursday of November, the US holiday."""
    first = date(year, 11, 1)
    return first + timedelta(days=(calendar.THURSDAY - first.weekday()) % 7 + 21)


_NAMED_DAYS: Final[tuple[tuple[str, Callable[[int], date]], ...]] = (
    (r"new\s+year'?s'?\s+eve|nye", lambda year: date(year, 12, 31)),
    (
        r"christmas|x-?mas|the\s+holidays|(?:the\s+)?holiday\s+season",
        lambda year: date(year, 12, 25),
    ),
    (r"(?:the\s+)?new\s+year(?:'?s'?(?:\s+day)?)?", lambda year: date(year, 1, 1)),
    (r"thanksgiving", _thanksgiving),
    (r"black\s+friday", lambda year: _thanksgiving(year) + timedelta(days=1)),
    (r"cyber\s+monday", lambda year: _thanksgiving(year) + timedelta(days=4)),
    (r"easter", easter),
)


def _next(day_of: Callable[[int], date]) -> Resolver:
    """Months to the named day's next occurrence (today counts)."""

    def resolve(_match: re.Match[str], today: date) -> float:
        day = day_of(today.year)
        return _months_until(today, day if day >= today else day_of(today.year + 1))

    return resolve


_READINGS: Final = (
    _Reading(
        re.compile(
            r"\b(?:asap|a\.s\.a\.p|(?:as\s+)?soon\s+as\s+(?:possible|we\s+can)|right\s+away|"
            r"straight\s+away|immediate(?:ly)?|urgent(?:ly)?|at\s+once|tonight|tomorrow|"
            r"yesterday|this\s+week|(?:by\s+)?(?:the\s+)?end\s+of\s+(?:this|the)\s+week)\b"
        ),
        _constant(0.0),
    ),
    _Reading(
        re.compile(
            r"(?:\bright\s+)?(?<!\bfor\s)(?<!\bnot\s)(?<!\buntil\s)(?<!\btill\s)(?<!\bof\s)"
            r"(?<!\bfrom\s)\b(?:now|today)\b"
        ),
        _constant(0.0),
        weak=True,
    ),
    _Reading(
        re.compile(r"(?<!\bnot\s)(?<!anytime\s)(?<!any\stime\s)\b(?:soon|soonish|shortly)\b"),
        _constant(1.0),
        vague=True,
    ),
    _Reading(re.compile(r"\b(?:the\s+)?month\s+after\s+next\b"), _constant(2.0)),
    _Reading(
        re.compile(
            r"\b(?:(?P<year>eoy|year[\s-]end)|(?P<quarter>eoq)|(?P<month>eom|month[\s-]end))\b"
        ),
        _period_close,
    ),
    _Reading(re.compile(_SPAN_LEAD + _ONE_OR_MORE), _span),
    _Reading(re.compile(_SPAN_LEAD + _SPAN), _span),
    _Reading(re.compile(r"\b" + _SPAN + _SPAN_TAIL), _span),
    _Reading(
        re.compile(
            _MODIFIER
            + _WHICH
            + r"(?P<unit>weeks?|wk|months?|mth|quarter|qtr|years?|yr)(?!\w)"
            + r"(?!\s+after\s+next)"
        ),
        _relative_period,
    ),
    _Reading(
        re.compile(
            _LEAD
            + _MODIFIER
            + _WHICH
            + r"(?:(?P<day1>\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?)?\b"
            + _MONTH_NAMES
            + r"(?:\s+(?P<day2>\d{1,2})(?:st|nd|rd|th)?\b)?"
            + _YEAR_AFTER
        ),
        _named_month,
    ),
    _Reading(
        re.compile(
            _MODIFIER
            + _WHICH
            + r"(?:\bq(?P<quarter>[1-4])\b|\b(?P<quarter_word>[1-4])(?:st|nd|rd|th)\s+quarter\b"
            + r"|\bh(?P<half>[12])\b|\b(?P<half_word>[12])(?:st|nd)\s+half\b)"
            + _YEAR_AFTER
        ),
        _quarter_or_half,
    ),
    _Reading(
        re.compile(
            _MODIFIER + _WHICH + r"\b(?P<season>spring|summer|fall|autumn|winter)\b" + _YEAR_AFTER
        ),
        _season,
    ),
    _Reading(
        re.compile(_LEAD + _MODIFIER + r"\b(?P<year>20\d\d)\b(?![-/.]\d|\s*(?:k\b|[$€£]))"),
        _calendar_year,
    ),
    _Reading(re.compile(r"\b(?P<y>20\d\d)[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})\b"), _iso_date),
    _Reading(
        re.compile(r"\b(?P<a>\d{1,2})[/.](?P<b>\d{1,2})[/.](?P<y>20\d\d|\d\d)\b"), _numeric_date
    ),
    *(_Reading(re.compile(rf"\b(?:{said})\b"), _next(day_of)) for said, day_of in _NAMED_DAYS),
)

# Answers that give no time on purpose; they count only when no time is said.
_NO_TIMELINE: Final = re.compile(
    r"""
    \b(?:
        no\s+(?:\w+\s+)?(?:plans?|timeline|time\s*frame|deadline|rush|hurry|intention|urgency)
      | not\s+(?:planning|buying|purchasing|looking\s+to\s+buy|ready|decided|yet|now|today
              |(?:any\s*time|anytime)\s+soon|in\s+the\s+market|a\s+priority)
      | (?:just|only|merely)\s+(?:looking|browsing|researching|curious|exploring|checking)
      | window[\s-]shopping | never | tb[dac] | undecided | unclear | unknown
      | eventually | some\s*day | one\s+day | at\s+some\s+point | in\s+the\s+future
      | long(?:er)?[\s-]term | down\s+the\s+(?:road|line) | whenever | later | depends
      | who\s+knows
    )\b
    """,
    re.VERBOSE,
)
