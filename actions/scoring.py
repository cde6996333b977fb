"""Scoring a visitor's answers into a qualified lead, with rules a business edits in YAML."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

import yaml

AUTHORITY_LEVELS: Final = ("decision_maker", "influencer", "researcher")
BUDGET_PERIODS: Final = ("one_off", "monthly", "yearly")
TEMPERATURES: Final = ("hot", "warm", "cold")
MAX_SCORE: Final = 100

# How many times a budget is spent in a year: a budget with no period is the total spend.
_PAYMENTS_PER_YEAR: Final[Mapping[str, int]] = {"one_off": 1, "monthly": 12, "yearly": 1}
_CURRENCY_SYMBOLS: Final[Mapping[str, str]] = {"USD": "$", "EUR": "€", "GBP": "£"}
_AUTHORITY_REASONS: Final[Mapping[str, str]] = {
    "decision_maker": "Visitor makes the buying decision",
    "influencer": "Visitor influences the buying decision",
    "researcher": "Visitor is researching, not buying",
}


@dataclass(frozen=True)
class Band:
    """Points for a value past a limit: a minimum for budgets, a maximum for timelines."""

    limit: float
    points: int


@dataclass(frozen=True)
class Rules:
    """Everything in the scoring rules file, checked and read-only."""

    version: str
    base_currency: str
    currency_rates: Mapping[str, float]
    offerings: Mapping[str, tuple[str, ...]]
    offering_labels: Mapping[str, str]
    budget_bands: tuple[Band, ...]  # highest minimum first
    timeline_bands: tuple[Band, ...]  # shortest maximum first
    authority_points: Mapping[str, int]
    need_points: Mapping[str, int]  # "offering" and "other"
    temperature_thresholds: Mapping[str, int]  # lowest score for "hot" and "warm"
    stages: Mapping[str, str]  # temperature -> stage
    free_mail_domains: frozenset[str]


@dataclass(frozen=True)
class QualifyingAnswers:
    """The normalised answers that scoring looks at; None where the visitor gave none."""

    need_category: str | None
    budget_annual: float | None
    timeline_months: float | None
    authority: str | None


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


def load_rules(path: Path) -> Rules:
    """Read and check the scoring rules file.

    Args:
        path: the YAML file (see qualification_rules.yml for its layout).

    Returns:
        The rules, with budget bands sorted from the highest minimum and timeline bands from the
        shortest maximum.

    Raises:
        ValueError: the file is not valid YAML or a value is missing or wrong; the message names
            the file and the key, e.g. "rules.yml: budget[1].points must be a whole number".
        OSError: the file cannot be read.
    """
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise ValueError(f"{path}: not valid YAML: {error}") from error
    try:
        return _rules_from(raw)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from error


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
        _budget_score(answers.budget_annual, rules),
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


def _budget_score(annual: float | None, rules: Rules) -> DimensionScore:
    if annual is None:
        return DimensionScore("budget", 0, "No budget given")
    money = _money(annual, rules.base_currency)
    for position, band in enumerate(rules.budget_bands):
        if annual >= band.limit:
            reason = f"Budget of {money} a year is {_figure(band.limit)} or more"
            if position > 0:
                reason += f", under {_figure(rules.budget_bands[position - 1].limit)}"
            return DimensionScore("budget", band.points, reason)
    lowest = rules.budget_bands[-1].limit
    return DimensionScore("budget", 0, f"Budget of {money} a year is under {_figure(lowest)}")


def _timeline_score(months: float | None, rules: Rules) -> DimensionScore:
    if months is None:
        return DimensionScore("timeline", 0, "No timeline given")
    when = "Buying now" if months <= 0 else f"Buying in {_months(months)}"
    for band in rules.timeline_bands:
        if months <= band.limit:
            return DimensionScore(
                "timeline", band.points, f"{when} is within {_months(band.limit)}"
            )
    latest = rules.timeline_bands[-1].limit
    return DimensionScore("timeline", 0, f"{when} is later than {_months(latest)}")


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


# Reading and checking the file: each helper names the key it checks in its error.


def _rules_from(raw: Any) -> Rules:
    document = _mapping(raw, "the file")
    offerings, labels = _offerings(_field(document, "offerings"))
    authority_points = _points_by_name(_field(document, "authority"), "authority", AUTHORITY_LEVELS)
    need_points = _points_by_name(_field(document, "need"), "need", ("offering", "other"))
    rules = Rules(
        version=_version(_field(document, "version")),
        base_currency=_currency_code(_field(document, "base_currency"), "base_currency"),
        currency_rates=MappingProxyType(_rates(_field(document, "currency_rates"))),
        offerings=MappingProxyType(offerings),
        offering_labels=MappingProxyType(labels),
        budget_bands=_bands(_field(document, "budget"), "budget", "min", highest_first=True),
        timeline_bands=_bands(_field(document, "timeline"), "timeline", "max", highest_first=False),
        authority_points=MappingProxyType(authority_points),
        need_points=MappingProxyType(need_points),
        temperature_thresholds=MappingProxyType(_thresholds(_field(document, "temperatures"))),
        stages=MappingProxyType(_stages(_field(document, "stages"))),
        free_mail_domains=frozenset(
            domain.lower()
            for domain in _texts(_field(document, "free_mail_domains"), "free_mail_domains")
        ),
    )
    rate = rules.currency_rates.get(rules.base_currency, 1.0)
    if rate != 1.0:
        raise ValueError(f"currency_rates.{rules.base_currency} is the base currency: it must be 1")
    best = (
        max(band.points for band in rules.budget_bands)
        + max(band.points for band in rules.timeline_bands)
        + max(authority_points.values())
        + max(need_points.values())
    )
    if best > MAX_SCORE:
        raise ValueError(f"the best answers would score {best}: points must add up to {MAX_SCORE}")
    return rules


def _field(document: Mapping[str, Any], key: str, where: str = "") -> Any:
    if key not in document:
        raise ValueError(f"{where}{key} is missing")
    return document[key]


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping) or not value:
        raise ValueError(f"{where} must be a mapping of names to values, got {value!r}")
    return value


def _list(value: Any, where: str) -> Sequence[Any]:
    if not isinstance(value, list) or not value:
        raise ValueError(f"{where} must be a non-empty list, got {value!r}")
    return value


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{where} must be a non-empty text, got {value!r}")
    return value.strip()


def _texts(value: Any, where: str) -> list[str]:
    return [_text(item, f"{where}[{index}]") for index, item in enumerate(_list(value, where))]


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ValueError(f"{where} must be a number of 0 or more, got {value!r}")
    return float(value)


def _points(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SCORE:
        raise ValueError(
            f"{where} must be a whole number of points from 0 to {MAX_SCORE}, got {value!r}"
        )
    return value


def _version(value: Any) -> str:
    if (
        isinstance(value, bool)
        or not isinstance(value, (str, int, float))
        or not str(value).strip()
    ):
        raise ValueError(f'version must be a text such as "2026-11-default", got {value!r}')
    return str(value).strip()


def _currency_code(value: Any, where: str) -> str:
    if not isinstance(value, str) or len(value) != 3 or not value.isalpha() or not value.isupper():
        raise ValueError(f"{where} must be a three-letter ISO 4217 code such as USD, got {value!r}")
    return value


def _rates(value: Any) -> dict[str, float]:
    rates = {}
    for code, rate in _mapping(value, "currency_rates").items():
        where = f"currency_rates.{code}"
        rates[_currency_code(code, f"currency_rates key {code!r}")] = _number(rate, where)
        if rate == 0:
            raise ValueError(f"{where} must be more than 0")
    return rates


def _offerings(value: Any) -> tuple[dict[str, tuple[str, ...]], dict[str, str]]:
    keywords: dict[str, tuple[str, ...]] = {}
    labels: dict[str, str] = {}
    for key, offering in _mapping(value, "offerings").items():
        where = f"offerings.{key}"
        if key == "other":
            raise ValueError(f"{where}: 'other' is the category of needs matching no offering")
        details = _mapping(offering, where)
        keywords[key] = tuple(_texts(_field(details, "keywords", f"{where}."), f"{where}.keywords"))
        labels[key] = _text(details.get("label", key), f"{where}.label")
    return keywords, labels


def _bands(value: Any, where: str, limit_key: str, highest_first: bool) -> tuple[Band, ...]:
    bands = []
    for index, band in enumerate(_list(value, where)):
        band_where = f"{where}[{index}]"
        details = _mapping(band, band_where)
        if limit_key not in details or "points" not in details:
            raise ValueError(f"{band_where} must have {limit_key} and points, got {band!r}")
        bands.append(
            Band(
                limit=_number(details[limit_key], f"{band_where}.{limit_key}"),
                points=_points(details["points"], f"{band_where}.points"),
            )
        )
    limits = [band.limit for band in bands]
    if len(set(limits)) != len(limits):
        raise ValueError(f"{where}: two bands have the same {limit_key}")
    return tuple(sorted(bands, key=lambda band: band.limit, reverse=highest_first))


def _points_by_name(value: Any, where: str, names: Sequence[str]) -> dict[str, int]:
    points = _mapping(value, where)
    if set(points) != set(names):
        raise ValueError(f"{where} must give points for exactly {', '.join(names)}")
    return {name: _points(points[name], f"{where}.{name}") for name in names}


def _thresholds(value: Any) -> dict[str, int]:
    thresholds = _points_by_name(value, "temperatures", ("hot", "warm"))
    if thresholds["warm"] >= thresholds["hot"]:
        raise ValueError("temperatures.warm must be lower than temperatures.hot")
    return thresholds


def _stages(value: Any) -> dict[str, str]:
    stages = _mapping(value, "stages")
    if set(stages) != set(TEMPERATURES):
        raise ValueError(f"stages must name a stage for exactly {', '.join(TEMPERATURES)}")
    return {
        temperature: _text(stages[temperature], f"stages.{temperature}")
        for temperature in TEMPERATURES
    }
