"""Reading a visitor's budget: a figure or a range, its currency and how often it is spent."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

from qualifying.declines import DECLINED, Declined, is_decline
from qualifying.numbers import NUMBER_PATTERN, digitise, read_number
from qualifying.spelling import corrected
from qualifying.text import prepare
from qualifying.wordlists import word_list, word_table

BudgetPeriod = Literal["one_off", "monthly", "yearly"]


@dataclass(frozen=True)
class Budget:
    """What a visitor can spend, as they said it (no currency conversion).

    A single figure ("about 50k", "up to 20k", "at least 10k") has min == max.
    """

    min: float
    max: float
    currency: str | None  # ISO 4217 code, or None when the visitor named none
    period: BudgetPeriod  # a budget with no period is the total spend: "one_off"


# Currencies as visitors write them (words/currencies.yml), longer spellings tried first.
_CURRENCY_ALIASES: Final[dict[str, str]] = word_table("currencies")
# Magnitudes written after a figure, as multipliers ("30k", "1.5m", "5 lakh", "100 grand").
_MAGNITUDES: Final[dict[str, float]] = {
    word: float(factor) for word, factor in word_table("magnitudes").items()
}
# Typos are corrected into the words that say how often, and the number words of amounts.
_SPELLING_VOCABULARY: Final = word_list("time_words") | word_list("number_words")
# Words around a figure that leave a bare number a budget ("about 50k", "max 10k").
_FILLER: Final = word_list("budget_filler")


def _alias_pattern(alias: str) -> str:
    # Word boundaries only where the alias is a word: "$" may touch the digits, "rs" may not.
    head = r"\b" if alias[0].isalnum() else ""
    tail = r"\b" if alias[-1].isalnum() else ""
    return head + re.escape(alias).replace(r"\ ", r"\s+") + tail


_CURRENCY: Final = "|".join(
    _alias_pattern(alias) for alias in sorted(_CURRENCY_ALIASES, key=len, reverse=True)
)

_MAGNITUDE: Final = "|".join(sorted(_MAGNITUDES, key=len, reverse=True))


def _figure(name: str) -> str:
    return rf"(?P<{name}>{NUMBER_PATTERN})(?:\s?(?P<{name}_mag>{_MAGNITUDE})\b)?"


# A money mention: optional currency, a figure, optionally a second figure, optional currency.
_MENTION: Final = re.compile(
    rf"""
    (?P<between>\bbetween\s+)?
    (?:(?P<cur_before>{_CURRENCY})\s*)?
    {_figure("low")}
    (?:\s*(?P<joint>-|\bto\b|\bor\b|\band\b|\btill\b|\buntil\b)\s*
       (?:(?P<cur_mid>{_CURRENCY})\s*)?
       {_figure("high")})?
    (?:\s*(?P<cur_after>{_CURRENCY}))?
    """,
    re.IGNORECASE | re.VERBOSE,
)

_YEAR: Final = r"(?:years?|yrs?)"
_MONTH: Final = r"(?:months?|mths?|mnths?|mos?)"
_QUARTER: Final = r"(?:quarters?|qtrs?|q)"
_WEEK: Final = r"(?:weeks?|wks?)"
# How often the figure is spent, said right after it: "30k per year", "$3k/mo", "£300 a month",
# "$35,000 for the first year" (a first year's spend is a yearly one).
_PERIOD_AFTER: Final = re.compile(
    rf"""
      (?:\bper|\ba|\ban|\beach|\bevery|/|\bthis|\bfor\s+th[ei]s?
        |\b(?:for|in)\s+(?:the|our)\s+(?:1st|initial))\s*
        (?:(?P<year>{_YEAR})|(?P<month>{_MONTH})|(?P<quarter>{_QUARTER})|(?P<week>{_WEEK}))(?!\w)
    | \b(?:(?P<year_adv>annually|annual|yearly|per\s+annum|p\.\s?a\.?|pa)
        |(?P<month_adv>monthly|pcm|p/m|pm)
        |(?P<quarter_adv>quarterly)
        |(?P<week_adv>weekly))(?!\w)
    """,
    re.IGNORECASE | re.VERBOSE,
)
# How often, said before the figure: "a monthly budget of 3k", "per year we have 50k".
_PERIOD_BEFORE: Final = re.compile(
    rf"""
      (?:\bper|\beach|\bevery|\bthis)\s*
        (?:(?P<year>{_YEAR})|(?P<month>{_MONTH})|(?P<quarter>{_QUARTER})|(?P<week>{_WEEK}))\b
    | \b(?:(?P<year_adv>annually|annual|yearly)
        |(?P<month_adv>monthly)
        |(?P<quarter_adv>quarterly)
        |(?P<week_adv>weekly))\b
    """,
    re.IGNORECASE | re.VERBOSE,
)
# The period words stop at the next clause: "30k, and we need it in a month" is not monthly.
_CLAUSE_END: Final = re.compile(
    r"\.(?=\s|$)|[,;:!?\n]|\d(?!st\b)|\b(?:and|but|need|needs|want|wants|by|within|before|until|next|start)\b",
    re.IGNORECASE,
)
_PERIOD_WINDOW: Final = 40
# Past this a figure is a test or a typo, not a budget (ten billion, in any currency).
_LARGEST_BUDGET: Final = 1e10
# A figure with a minus sign of its own ("-5000"), not a range ("5-10k"): no budget is negative.
_MINUS: Final = re.compile(r"(?:^|[\s(:=,])-\s*(?:[$€£¥₹]\s*)?\d")
_RANGE_START: Final = re.compile(r"[\d$€£¥₹]\s*(?:k|m|bn|grand|thousand|million)?\s*$", re.I)
# A budget answer holds a few figures; a text with more is a pasted table, not an answer.
_MOST_MENTIONS: Final = 12

# Words that make a bare figure money: "budget of 40000", "we can spend 5000".
_MONEY_CUE: Final = re.compile(
    r"\b(?:budget\w*|spend\w*|pay|paying|invest\w*|afford|allocat\w*|cost\w*|price\w*|"
    r"fund\w*|money|cash)\b",
    re.IGNORECASE,
)
# Counted things and spans of time: "12 reps" and "in 2 months" are not money.
_NOT_MONEY_UNIT: Final = re.compile(
    r"\s*(?:%|x\b|percent|reps?\b|people|persons?|users?\b|seats?\b|licen[cs]es?|employees?|"
    r"staff|agents?\b|members?|team|emp|heads?\b|locations?|stores?|offices?|customers?|"
    r"clients?|accounts?\b|tickets?|emails?|contacts?|leads?\b|deals?\b|calls?\b|times?\b|"
    r"days?\b|weeks?\b|months?\b|years?\b|yrs?\b|hours?\b|mins?\b|minutes?)",
    re.IGNORECASE,
)
# Years written as figures ("for 2027") are dates, unless marked as money.
_YEAR_LEAD: Final = re.compile(
    r"\b(?:in|for|by|of|from|until|till|since|before|after|fy)\s*$", re.IGNORECASE
)
_WORD: Final = re.compile(r"[^\W\d_][\w'.]*")

# Budget answers that mean "none": checked only when the text holds no figure.
_NO_BUDGET: Final = re.compile(
    r"""
    \b(?:
        no(?:t\s+a|\s+real|\s+fixed|\s+set|\s+defined|\s+allocated|\s+actual)?\s+
          (?:budget|money|funds?|funding|cash)
      | (?:zero|nil)\b | nothing | none | nope | nah
      | not\s+(?:yet|decided|allocated|defined|set|determined|confirmed|known|much)
      | (?:haven'?t|have\s+not|hasn'?t|didn'?t)\s+(?:decided|set|got|allocated|defined|figured)
      | (?:don'?t|do\s+not|doesn'?t)\s+have\s+(?:a|any|the)?\s*(?:budget|money|funds?)
      | tb[dac] | to\s+be\s+(?:decided|determined|confirmed|defined)
      | undecided | unknown | depends | flexible | can'?t\s+afford | broke
      | (?:just|only)\s+(?:looking|browsing|researching|curious)
    )\b
    | ^\W*no\W*$
    """,
    re.IGNORECASE | re.VERBOSE,
)

# Quarterly budgets are reported as yearly (x4) and weekly as monthly, the two recurring periods.
_PERIOD_SCALE: Final[dict[str, tuple[BudgetPeriod, float]]] = {
    "year": ("yearly", 1.0),
    "quarter": ("yearly", 4.0),
    "month": ("monthly", 1.0),
    "week": ("monthly", 52 / 12),
}


@dataclass(frozen=True)
class _Mention:
    """One figure or range found in the answer, with what marks it as money."""

    start: int
    low: float
    high: float
    currency: str | None
    period: str | None
    magnitude: bool
    cued: bool

    @property
    def weight(self) -> int:
        """How surely this figure is money: a currency says most, then a k/m suffix or period."""
        return (
            4 * (self.currency is not None)
            + 2 * self.magnitude
            + 2 * (self.period is not None)
            + self.cued
        )


def parse_budget(text: str) -> Budget | Declined | None:
    """Read the budget in a visitor's answer or in the entity text the NLU extracted.

    "around $50k a year" -> Budget(50000, 50000, "USD", "yearly"); "5-10k" -> Budget(5000,
    10000, None, "one_off"); "€5k - €8k a quarter" -> Budget(20000, 32000, "EUR", "yearly").
    Quarterly figures are made yearly (x4) and weekly figures monthly (x52/12). A limit
    ("up to 20k", "at least 10k") is read as the figure itself. Numbers that are not money
    ("our 12 reps") are skipped; a bare figure that is the whole answer ("50000") is money.

    Args:
        text: the visitor's answer, in any case, with any words around the budget.

    Returns:
        The budget; DECLINED when the visitor has none or won't or can't say ("no budget yet",
        "not sure", "zero"); None when the text holds no budget.
    """
    said = digitise(corrected(prepare(text), _SPELLING_VOCABULARY))
    if any(not _RANGE_START.search(said[: m.start() + 1]) for m in _MINUS.finditer(said)):
        return None
    mentions = _money_mentions(said)
    if mentions:
        best = max(mentions, key=lambda mention: (mention.weight, -mention.start))
        if best.high <= 0:
            return DECLINED
        return _budget(best, fallback_currency=_only_currency(said))
    if is_decline(said) or _NO_BUDGET.search(said):
        return DECLINED
    return None


def _money_mentions(said: str) -> list[_Mention]:
    found: list[_Mention] = []
    position = 0
    while len(found) < _MOST_MENTIONS and (match := _MENTION.search(said, position)):
        if match.group("high") and match.group("joint").lower() == "and" and not match["between"]:
            # "12 reps and 50k": "and" joins a range only after "between".
            end = max(match.end("low"), match.end("low_mag"))
            match = _MENTION.match(said, match.start(), end)
            assert match is not None  # the same text matched a moment ago
        position = match.end()
        mention = _read_mention(said, match)
        if mention is not None:
            found.append(mention)
    if found and all(mention.weight == 0 for mention in found):
        return found if len(found) == 1 and _is_bare(said) else []
    return [mention for mention in found if mention.weight > 0]


def _read_mention(said: str, match: re.Match[str]) -> _Mention | None:
    low = _amount(match, "low")
    high = _amount(match, "high") if match.group("high") else low
    if low is None or high is None:
        return None
    currency = next(
        (
            _CURRENCY_ALIASES[_squash(match[name])]
            for name in ("cur_before", "cur_mid", "cur_after")
            if match[name]
        ),
        None,
    )
    magnitude = bool(match["low_mag"] or match["high_mag"])
    if currency is None and not magnitude and _is_count_or_date(said, match):
        return None
    if match["high"] and not match["low_mag"] and (match["high_mag"] or high >= 1000):
        low = _share_magnitude(low, high)
    low, high = min(low, high), max(low, high)
    before = said[max(0, match.start() - _PERIOD_WINDOW) : match.start()]
    return _Mention(
        start=match.start(),
        low=low,
        high=high,
        currency=currency,
        period=_period(said, match),
        magnitude=magnitude,
        cued=bool(_MONEY_CUE.search(before)),
    )


def _amount(match: re.Match[str], name: str) -> float | None:
    value = read_number(match[name])
    magnitude = match[f"{name}_mag"]
    if value is None:
        return None
    value *= _MAGNITUDES[magnitude.lower()] if magnitude else 1.0
    # No one's software budget has more than twelve digits: such a figure is noise.
    return value if value < _LARGEST_BUDGET else None


def _share_magnitude(low: float, high: float) -> float:
    # "5-10k" and "between 50 and 70000": the low end is said in the high end's thousands.
    for magnitude in (1e9, 1e6, 1e3):
        if high >= magnitude and low < 1000 and low * magnitude <= high:
            return low * magnitude
    return low


def _is_count_or_date(said: str, match: re.Match[str]) -> bool:
    if _NOT_MONEY_UNIT.match(said, match.end()):
        return True
    year = read_number(match["low"])
    return (
        not match["high"]
        and year is not None
        and 1990 <= year <= 2100
        and bool(_YEAR_LEAD.search(said[max(0, match.start() - 12) : match.start()]))
    )


def _period(said: str, match: re.Match[str]) -> str | None:
    after = said[match.end() : match.end() + _PERIOD_WINDOW]
    clause_end = _CLAUSE_END.search(after)
    found = _PERIOD_AFTER.search(after[: clause_end.start()] if clause_end else after)
    if found is None:
        before = said[max(0, match.start() - _PERIOD_WINDOW) : match.start()]
        found = _PERIOD_BEFORE.search(re.split(r"[.,;:!?\n\d]", before)[-1])
    if found is None:
        return None
    named = next(name for name, value in found.groupdict().items() if value)
    return named.removesuffix("_adv")


def _is_bare(said: str) -> bool:
    # A figure alone is the answer ("50000", "about 20k?"), not "we have 12 reps".
    words = _WORD.findall(said.lower())
    return all(word.rstrip(".") in _FILLER for word in words)


def _only_currency(said: str) -> str | None:
    named = {_CURRENCY_ALIASES[_squash(found)] for found in re.findall(_CURRENCY, said, re.I)}
    return named.pop() if len(named) == 1 else None


def _squash(alias: str) -> str:
    return " ".join(alias.lower().split())


def _budget(mention: _Mention, fallback_currency: str | None) -> Budget:
    period: BudgetPeriod = "one_off"
    scale = 1.0
    if mention.period is not None:
        period, scale = _PERIOD_SCALE[mention.period]
    return Budget(
        min=round(mention.low * scale, 2),
        max=round(mention.high * scale, 2),
        currency=mention.currency or fallback_currency,
        period=period,
    )
