"""The scoring rules file a business edits: read, checked, and re-read when it changes.

Every value is checked when the file loads, with a message naming the file and the key, so a
mistake shows at start (or at the edit), never at the first lead written with it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

import yaml

AUTHORITY_LEVELS: Final = ("decision_maker", "influencer", "researcher")
TEMPERATURES: Final = ("hot", "warm", "cold")
# The stages a score may put a lead in: the lead store holds these (and the stages reps set).
SCORED_STAGES: Final = ("lead", "prospect", "potential_customer")
MAX_SCORE: Final = 100


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
    offerings: Mapping[str, tuple[str, ...]]  # offering -> keywords
    offering_labels: Mapping[str, str]
    offering_examples: Mapping[str, tuple[str, ...]]  # offering -> needs said in its words
    other_needs: tuple[str, ...]  # needs the business does not sell
    budget_bands: tuple[Band, ...]  # highest minimum first
    timeline_bands: tuple[Band, ...]  # shortest maximum first
    authority_points: Mapping[str, int]
    need_points: Mapping[str, int]  # "offering" and "other"
    temperature_thresholds: Mapping[str, int]  # lowest score for "hot" and "warm"
    stages: Mapping[str, str]  # temperature -> stage
    free_mail_domains: frozenset[str]


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


# Reading and checking the file: each helper names the key it checks in its error.


def _rules_from(raw: Any) -> Rules:
    document = _mapping(raw, "the file")
    offerings, labels, examples = _offerings(_field(document, "offerings"))
    authority_points = _points_by_name(_field(document, "authority"), "authority", AUTHORITY_LEVELS)
    need_points = _points_by_name(_field(document, "need"), "need", ("offering", "other"))
    rules = Rules(
        version=_version(_field(document, "version")),
        base_currency=_currency_code(_field(document, "base_currency"), "base_currency"),
        currency_rates=MappingProxyType(_rates(_field(document, "currency_rates"))),
        offerings=MappingProxyType(offerings),
        offering_labels=MappingProxyType(labels),
        offering_examples=MappingProxyType(examples),
        other_needs=tuple(_texts(document["other_needs"], "other_needs"))
        if "other_needs" in document
        else (),
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


def _offerings(
    value: Any,
) -> tuple[dict[str, tuple[str, ...]], dict[str, str], dict[str, tuple[str, ...]]]:
    keywords: dict[str, tuple[str, ...]] = {}
    labels: dict[str, str] = {}
    examples: dict[str, tuple[str, ...]] = {}
    for key, offering in _mapping(value, "offerings").items():
        where = f"offerings.{key}"
        if key == "other":
            raise ValueError(f"{where}: 'other' is the category of needs matching no offering")
        details = _mapping(offering, where)
        keywords[key] = tuple(_texts(_field(details, "keywords", f"{where}."), f"{where}.keywords"))
        labels[key] = _text(details.get("label", key), f"{where}.label")
        said = details.get("examples")
        examples[key] = tuple(_texts(said, f"{where}.examples")) if said is not None else ()
    return keywords, labels, examples


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
    named = {
        temperature: _text(stages[temperature], f"stages.{temperature}")
        for temperature in TEMPERATURES
    }
    for temperature, stage in named.items():
        if stage not in SCORED_STAGES:
            raise ValueError(
                f"stages.{temperature} must be one of {', '.join(SCORED_STAGES)}, got {stage!r}"
            )
    return named


def current_rules(path: Path) -> Rules:
    """The rules in the file, read again whenever it changes so edits apply without a restart."""
    return _rules_at(path, path.stat().st_mtime_ns)


@lru_cache(maxsize=4)
def _rules_at(path: Path, modified_ns: int) -> Rules:
    return load_rules(path)
