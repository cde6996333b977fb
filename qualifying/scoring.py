"""Scoring a visitor's answers into a qualified lead, with the points the rules file gives."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from qualifying.rules import AUTHORITY_LEVELS, Rules

BUDGET_PERIODS: Final = ("one_off", "monthly", "yearly")

# How many times a budget is spent in a year: a budget with no period is the total spend.
_PAYMENTS_PER_YEAR: Final[Mapping[str, int]] = {"one_off": 1, "monthly": 12, "yearly": 1}
_CURRENCY_SYMBOLS: Final[Mapping[str, str]] = {"USD": "$", "EUR": "€", "GBP": "£"}
_AUTHORITY_REASONS: Final[Mapping[str, str]] = {
    "decision_maker": "Visitor makes the buying decision",
    "influencer": "Visitor influences the buying decision",
    "researcher": "Visitor is researching, not buying",
}


@dataclass(frozen=True)
class QualifyingAnswers:
    """The normalised answers that scoring looks at; None where the visitor gave none."""

    need_category: str | None
    budget_annual: float | None
    timeline_months: float | None
    authority: str | None
    budget_period: str | None = None  # how the visitor said it: "one_off" is not "a year"


@dataclass(frozen=True)
class DimensionScore:
    """The points one dimension earned, and why, in words a sales rep reads."""

    dimension: str
    points: int
    reason: str


@dataclass(frozen=True)
class Qualification:
    """A lead's score, its breakdown, and the temperature and stage the score gives."""

    score: int
    breakdown: tuple[DimensionScore, ...]
    temperature: str
    stage: str
    rules_version: str


def annual_budget(
    budget_min: float, budget_max: float, currency: str | None, period: str, rules: Rules
) -> float | None:
    """The yearly spend a budget stands for, in the rules' base currency.

    Args:
        budget_min: the low end of the range the visitor gave.
        budget_max: the high end (equal to budget_min for a single figure).
        currency: an ISO 4217 code, or None for the base currency.
        period: "one_off" (counts whole), "monthly" (times 12) or "yearly".
        rules: the rules with the base currency and the conversion rates.

    Returns:
        The midpoint of the range, made yearly and converted, rounded to cents; None for a
        currency the rules have no rate for (a rate is never guessed).

    Raises:
        ValueError: the period is not one of one_off, monthly, yearly.
    """
    if period not in _PAYMENTS_PER_YEAR:
        raise ValueError(f"unknown budget period {period!r}: expected one of {BUDGET_PERIODS}")
    code = (currency or rules.base_currency).upper()
    rate = 1.0 if code == rules.base_currency else rules.currency_rates.get(code)
    if rate is None:
        return None
    midpoint = (budget_min + budget_max) / 2
    return round(midpoint * _PAYMENTS_PER_YEAR[period] * rate, 2)


def score_lead(answers: QualifyingAnswers, rules: Rules) -> Qualification:
    """Score a visitor's answers with the rules and classify the lead.

    Args:
        answers: the normalised answers (budget already yearly, in the base currency).
        rules: the scoring rules.

    Returns:
        The score (the sum of the budget, timeline, authority and need points), its breakdown
        in that order, the temperature and stage it gives, and the rules version used.

    Raises:
        ValueError: the authority is not decision_maker, influencer, researcher or None.
    """
    breakdown = (
        _budget_score(answers.budget_annual, answers.budget_period, rules),
        _timeline_score(answers.timeline_months, rules),
        _authority_score(answers.authority, rules),
        _need_score(answers.need_category, rules),
    )
    score = sum(dimension.points for dimension in breakdown)
    temperature = _temperature(score, rules)
    return Qualification(
        score=score,
        breakdown=breakdown,
        temperature=temperature,
        stage=rules.stages[temperature],
        rules_version=rules.version,
    )


def _budget_score(annual: float | None, period: str | None, rules: Rules) -> DimensionScore:
    if annual is None:
        return DimensionScore("budget", 0, "No budget given")
    money = _money(annual, rules.base_currency)
    said = f"One-off budget of {money}" if period == "one_off" else f"Budget of {money} a year"
    limits = [band.limit for band in rules.budget_bands]  # highest first
    for position, band in enumerate(rules.budget_bands):
        if annual >= band.limit:
            if position == 0:
                return DimensionScore(
                    "budget", band.points, f"{said}: {_figure(band.limit)} or more"
                )
            upper = _figure(limits[position - 1])
            # The lowest band starts at one unit: "under 5,000" reads better than "1 or more".
            where = (
                f"under {upper}"
                if band.limit <= 1
                else f"between {_figure(band.limit)} and {upper}"
            )
            return DimensionScore("budget", band.points, f"{said}: {where}")
    return DimensionScore("budget", 0, f"{said}: under {_figure(limits[-1])}")


def _timeline_score(months: float | None, rules: Rules) -> DimensionScore:
    if months is None:
        return DimensionScore("timeline", 0, "No timeline given")
    when = "Buying now" if months <= 0.25 else f"Buying in {_about(months)}"
    for band in rules.timeline_bands:
        if months <= band.limit:
            return DimensionScore("timeline", band.points, f"{when}: within {_months(band.limit)}")
    latest = rules.timeline_bands[-1].limit
    return DimensionScore("timeline", 0, f"{when}: later than {_months(latest)}")


def _authority_score(authority: str | None, rules: Rules) -> DimensionScore:
    if authority is None:
        return DimensionScore("authority", 0, "Part in the buying decision not given")
    if authority not in rules.authority_points:
        raise ValueError(f"unknown authority {authority!r}: expected one of {AUTHORITY_LEVELS}")
    return DimensionScore(
        "authority", rules.authority_points[authority], _AUTHORITY_REASONS[authority]
    )


def _need_score(category: str | None, rules: Rules) -> DimensionScore:
    if category is None:
        return DimensionScore("need", 0, "No need stated")
    if category in rules.offerings:
        label = rules.offering_labels[category]
        return DimensionScore(
            "need", rules.need_points["offering"], f"Need matches the {label} offering"
        )
    # An offering the business has since removed scores like any other stated need.
    return DimensionScore("need", rules.need_points["other"], "Need stated, matches no offering")


def _temperature(score: int, rules: Rules) -> str:
    if score >= rules.temperature_thresholds["hot"]:
        return "hot"
    if score >= rules.temperature_thresholds["warm"]:
        return "warm"
    return "cold"


def _money(amount: float, currency: str) -> str:
    figure = f"{amount:,.0f}" if amount >= 1 else f"{amount:,.2f}"
    symbol = _CURRENCY_SYMBOLS.get(currency)
    return f"{symbol}{figure}" if symbol else f"{figure} {currency}"


def _figure(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,}"


def _months(months: float) -> str:
    figure = f"{months:g}"
    return f"{figure} month" if months == 1 else f"{figure} months"


def _about(months: float) -> str:
    """A time as a rep would say it: "about 6 weeks", "about 6 months", "about 2 years"."""
    if months < 2:
        weeks = round(months * 4.345)
        return f"about {weeks} week{'s' if weeks != 1 else ''}"
    if months >= 24:
        return f"about {months / 12:.0f} years"
    return f"about {round(months)} months"
